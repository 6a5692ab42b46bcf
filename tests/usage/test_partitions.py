"""PostgreSQL: usage records live in monthly partitions (Madrid months) made ahead by a job and a command, or by
the import for the months it needs; old months are detached with their daily sums. Row-Level Security binds the
portal's role on the parent table and on every partition read directly. SQLite: one plain table."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from mgd.db import make_engine, operator_scope, set_tenant
from mgd.usage.models import UsageDaily, UsageRecord
from mgd.usage.partitions import add_months, detach_before, ensure_ahead, ensure_partitions, partitions
from mgd.usage.records import import_usage
from mgd.usage.tasks import ensure_usage_partitions
from tests.factories import make_company, make_line
from tests.usage.helpers import daily_matches_records, record, write_csv

POSTGRES = "postgresql" in os.environ.get("MGD_TEST_DATABASE_URL", "")
postgres_only = pytest.mark.skipif(not POSTGRES, reason="partitions and Row-Level Security: PostgreSQL only")


def names(session) -> list[str]:
    return [partition.name for partition in partitions(session)]


def test_months_are_counted_across_years():
    assert add_months(date(2026, 11, 1), 3) == date(2027, 2, 1)
    assert add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)


def test_only_postgresql_has_partitions_to_make(db_session):
    made = ensure_ahead(db_session, date(2026, 11, 15))
    if POSTGRES:
        assert made[0] == "usage_records_2026_11" and set(made) <= set(names(db_session))
    else:
        assert made == [] and partitions(db_session) == []


@postgres_only
def test_the_current_month_and_three_ahead_are_made_once(db_session):
    made = ensure_ahead(db_session, date(2026, 11, 15))
    assert made == [
        "usage_records_2026_11",
        "usage_records_2026_12",
        "usage_records_2027_01",
        "usage_records_2027_02",
    ]
    assert ensure_ahead(db_session, date(2026, 11, 30)) == made
    assert names(db_session) == made


@postgres_only
def test_a_partition_holds_a_madrid_month(db_session):
    ensure_partitions(db_session, [date(2026, 11, 1)])
    bounds = db_session.scalar(
        text("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'usage_records_2026_11'")
    )
    assert bounds == "FOR VALUES FROM ('2026-10-31 23:00:00+00') TO ('2026-11-30 23:00:00+00')"


@postgres_only
def test_a_month_too_far_is_refused(db_session):
    with pytest.raises(DBAPIError, match="no usage records partition for 1999-12"):
        ensure_partitions(db_session, [date(1999, 12, 1)])


@postgres_only
def test_the_job_makes_them_ahead(app, db_session):
    ensure_usage_partitions.fn()
    assert len(names(db_session)) == 4


@postgres_only
def test_the_import_makes_the_months_it_needs_and_old_ones_are_detached(app, database_url, tmp_path):
    """As the tables' owner (only the owner detaches), in a transaction rolled back at the end."""
    engine = make_engine(database_url)
    try:
        with app.app_context(), Session(engine) as owner:
            company = make_company(owner)
            line = make_line(owner, company)
            rows = [
                record(company.fiscal_id, line.number, 1, started_at="2026-08-31T23:30:00+02:00"),  # August
                record(company.fiscal_id, line.number, 2, started_at="2026-08-31T22:30:00Z"),  # 1 September
                record(company.fiscal_id, line.number, 3, started_at="2026-11-03T10:00:00+01:00"),
            ]
            import_usage(owner, [write_csv(tmp_path / "usage.csv", rows)])
            assert names(owner) == ["usage_records_2026_08", "usage_records_2026_09", "usage_records_2026_11"]
            with operator_scope(owner, "test"):
                assert owner.scalar(text("SELECT count(*) FROM usage_records_2026_09")) == 1

            assert detach_before(owner, date(2026, 9, 1)) == ["usage_records_2026_08"]
            assert names(owner) == ["usage_records_2026_09", "usage_records_2026_11"]
            with operator_scope(owner, "test"):
                stored = owner.scalars(select(UsageRecord.record_id).order_by(UsageRecord.record_id)).all()
                assert stored == ["CDR-2", "CDR-3"]
                assert min(owner.scalars(select(UsageDaily.day))) == date(2026, 9, 1)
                assert owner.scalar(text("SELECT count(*) FROM usage_records_2026_08")) == 1  # kept apart
            assert daily_matches_records(owner)
            owner.rollback()
    finally:
        engine.dispose()


@postgres_only
def test_the_portal_role_sees_only_the_companys_usage(db_session, tmp_path):
    one, two = make_company(db_session), make_company(db_session)
    a, b = make_line(db_session, one), make_line(db_session, two)
    rows = [record(one.fiscal_id, a.number, 1), record(two.fiscal_id, b.number, 2)]
    import_usage(db_session, [write_csv(tmp_path / "usage.csv", rows)])
    flags = db_session.execute(
        text(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'usage_records_2026_11'"
        )
    ).one()
    assert tuple(flags) == (True, True)  # bound too if ever granted (mgd db upgrade grants every table)
    set_tenant(db_session, one.id)
    for table in ("usage_records", "usage_daily"):
        assert set(db_session.scalars(text(f"SELECT tenant_id FROM {table}"))) == {one.id}, table  # noqa: S608
    with pytest.raises(DBAPIError, match="permission denied"), db_session.begin_nested():
        db_session.execute(text("SELECT tenant_id FROM usage_records_2026_11"))  # not the portal's to read
    with pytest.raises(DBAPIError, match="row-level security"):
        db_session.execute(
            text(
                "INSERT INTO usage_records (tenant_id, line_id, record_id, started_at, kind, direction,"
                " duration_s, bytes, units, cost_cents, billed) VALUES (:t, :l, 'X', '2026-11-03 10:00+01',"
                " 'voice', 'out', 1, 0, 0, 0, false)"
            ),
            {"t": two.id, "l": b.id},
        )

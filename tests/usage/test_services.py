"""The billing cycle from the account's cycle day, and the allowance used in it per line and per pool: one
computation for the pages and the alerts, each line in its own billing account's cycle."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import Integer, literal, select

from mgd.db import set_tenant
from mgd.tenants.models import Line, UsagePool
from mgd.usage.alert_measures import measure
from mgd.usage.alert_models import UsageAlert
from mgd.usage.allowances import (
    GB,
    _as_date,
    current_cycle,
    cycle_bounds,
    line_allowance,
    line_allowances,
    lines_allowances,
)
from mgd.usage.models import Bundle, LineBundle
from mgd.usage.queries import cycle_rankings
from mgd.usage.records import import_usage
from mgd.usage.services import cycle_for
from tests.factories import make_company, make_line
from tests.usage.helpers import record, write_csv


@pytest.mark.parametrize(
    ("day", "on", "start", "end"),
    [
        (1, date(2026, 11, 1), date(2026, 11, 1), date(2026, 11, 30)),
        (1, date(2026, 11, 30), date(2026, 11, 1), date(2026, 11, 30)),
        (15, date(2026, 11, 14), date(2026, 10, 15), date(2026, 11, 14)),
        (15, date(2026, 11, 15), date(2026, 11, 15), date(2026, 12, 14)),
        (28, date(2027, 1, 10), date(2026, 12, 28), date(2027, 1, 27)),
        (28, date(2027, 2, 28), date(2027, 2, 28), date(2027, 3, 27)),
        (10, date(2026, 12, 31), date(2026, 12, 10), date(2027, 1, 9)),
    ],
)
def test_a_cycle_runs_from_its_day_to_the_day_before_it_next_month(day, on, start, end):
    cycle = cycle_for(day, on)
    assert (cycle.start, cycle.end, cycle.resets_on) == (
        start,
        end,
        end + timedelta(days=1),
    )


def test_a_cycle_day_must_be_1_to_28():
    with pytest.raises(ValueError, match="between 1 and 28"):
        cycle_for(29, date(2026, 11, 1))


def every_line():
    return select(Line)


def test_the_allowances_sum_the_cycle_per_line_and_per_pool(db_session, tmp_path):
    company = make_company(db_session)
    alone, pooled, other = (make_line(db_session, company) for _ in range(3))
    set_tenant(db_session, company.id)
    alone.tariff.data_gb, alone.tariff.voice_minutes = Decimal("10.00"), 100
    bundle = Bundle(code="B5", name="5 GB más", data_gb=Decimal("5"), monthly_fee_eur=Decimal("5.00"))
    pool = UsagePool(tenant_id=company.id, name="Ventas", data_gb=Decimal("50"), voice_minutes=1000)
    db_session.add_all([bundle, pool])
    db_session.flush()
    db_session.add(
        LineBundle(tenant_id=company.id, line_id=alone.id, bundle_id=bundle.id, starts_on=date(2026, 11, 1))
    )
    db_session.add(
        LineBundle(
            tenant_id=company.id,
            line_id=alone.id,
            bundle_id=bundle.id,
            starts_on=date(2026, 9, 1),
            ends_on=date(2026, 9, 30),
        )
    )
    pooled.pool_id = other.pool_id = pool.id
    db_session.flush()
    f = company.fiscal_id
    rows = [
        record(f, alone.number, 1, started_at="2026-11-03T10:00:00+01:00", duration_s="600"),
        record(f, alone.number, 2, started_at="2026-11-03T11:00:00+01:00", direction="in", duration_s="900"),
        record(f, alone.number, 3, kind="data", bytes=str(2 * GB), duration_s="0"),
        record(f, alone.number, 4, kind="data", bytes=str(GB), duration_s="0", roaming_zone="world1"),
        record(f, alone.number, 5, kind="sms", units="1", duration_s="0"),
        record(
            f, alone.number, 6, started_at="2026-10-31T23:30:00+01:00", duration_s="60"
        ),  # the cycle before
        record(f, pooled.number, 7, duration_s="120"),
        record(f, other.number, 8, duration_s="180", roaming_zone="eu"),
    ]
    import_usage(db_session, [write_csv(tmp_path / "usage.csv", rows)])
    today = date(2026, 11, 20)

    found = lines_allowances(db_session, every_line(), today, every_line=True)
    line = next(item for item in found.lines if item.line_id == alone.id)
    # roaming counts (one flag in the daily sums: the EU's roam like at home); calls received and SMS do not
    assert (line.data_used, line.voice_used) == (3 * GB, 600)
    assert (line.data_allowed, line.voice_allowed) == (15 * GB, 6000)
    assert (line.percent, line.resets_on) == (20, date(2026, 12, 1))
    (shared,) = found.pools
    assert (shared.voice_used, shared.voice_allowed, shared.data_allowed, shared.lines) == (
        300,
        60_000,
        50 * GB,
        2,
    )
    in_pool = [item for item in found.lines if item.pool == "Ventas"]
    assert {item.line_id for item in in_pool} == {pooled.id, other.id}
    assert all(item.data_allowed is None and item.pool_percent == 0 for item in in_pool)

    some = lines_allowances(db_session, select(Line).where(Line.id == other.id), today, every_line=False)
    assert [item.line_id for item in some.lines] == [other.id]
    assert some.pools == found.pools  # a pool's use is all its lines'

    # The same figures one line at a time (a line's page, the lines page's marks)
    single = line_allowances(db_session, [alone.id, pooled.id], today)
    assert single[alone.id] == replace(line, pool_percent=None)
    assert (single[pooled.id].voice_used, single[pooled.id].voice_allowed) == (300, 60_000)
    assert single[pooled.id].pool == "Ventas" and single[pooled.id].resets_on == shared.resets_on
    # A line's page: its own cycle known, a statement of its own
    assert line_allowance(db_session, alone, today) == single[alone.id]
    assert line_allowance(db_session, pooled, today) == single[pooled.id]


def test_each_line_counts_in_the_cycle_of_its_own_billing_account(db_session, tmp_path):
    """Two billing accounts of cycle days 1 and 15: each line's bars, its alert and the rankings read its own
    cycle, never the company's first account's."""
    company = make_company(db_session)
    first, second = make_line(db_session, company), make_line(db_session, company)
    set_tenant(db_session, company.id)
    second.billing_account.cycle_day = 15
    for line in (first, second):
        line.tariff.data_gb, line.tariff.voice_minutes = Decimal("10"), None
    db_session.flush()
    f = company.fiscal_id
    rows = [
        record(f, first.number, 1, kind="data", bytes=str(4 * GB), duration_s="0"),  # 3 Nov: first's cycle
        record(f, second.number, 2, kind="data", bytes=str(5 * GB), duration_s="0"),  # 3 Nov: before second's
        record(
            f,
            second.number,
            3,
            kind="data",
            bytes=str(GB),
            duration_s="0",
            started_at="2026-11-16T10:00:00+01:00",
        ),
    ]
    import_usage(db_session, [write_csv(tmp_path / "usage.csv", rows)])
    today = date(2026, 11, 20)

    found = {
        item.line_id: item
        for item in lines_allowances(db_session, every_line(), today, every_line=True).lines
    }
    assert (found[first.id].data_used, found[first.id].resets_on) == (4 * GB, date(2026, 12, 1))
    assert (found[second.id].data_used, found[second.id].resets_on) == (GB, date(2026, 12, 15))
    marks = line_allowances(db_session, [first.id, second.id], today)
    assert {line_id: (item.data_used, item.resets_on) for line_id, item in marks.items()} == {
        line_id: (item.data_used, item.resets_on) for line_id, item in found.items()
    }

    for line, percent in ((first, 40), (second, 10)):  # the alert measures what the bar shows
        alert = UsageAlert(
            tenant_id=company.id, scope="line", line_id=line.id, metric="data_percent", percent=5
        )
        assert measure(db_session, alert, today).value == percent == found[line.id].percent
    company_wide = UsageAlert(tenant_id=company.id, scope="company", metric="data_percent", percent=5)
    assert measure(db_session, company_wide, today).value == 25  # 5 GB of 20
    spend = UsageAlert(tenant_id=company.id, scope="company", metric="spend", amount_cents=1)
    assert measure(db_session, spend, today).value == 40  # 10 + 30 cents: the 20 of 3 November are not

    assert current_cycle(db_session, None, today) == (date(2026, 11, 1), date(2026, 12, 14))
    assert current_cycle(db_session, second, today) == (date(2026, 11, 15), date(2026, 12, 14))
    member = SimpleNamespace(limited=False)
    span = current_cycle(db_session, None, today)
    found = cycle_rankings(db_session, member, span, today=today)
    assert [(item.line_id, item.value) for item in found.top["data"]] == [(first.id, 4 * GB), (second.id, GB)]
    assert found.centres == [(None, 40)]  # 10 + 30 cents
    assert [
        item.line_id for item in cycle_rankings(db_session, member, span, today=today, limit=1).top["data"]
    ] == [first.id]


@pytest.mark.parametrize(
    "today",
    [
        date(2026, 1, 1),
        date(2026, 1, 27),
        date(2026, 2, 28),
        date(2024, 2, 29),
        date(2026, 3, 1),
        date(2026, 12, 31),
    ],
)
def test_the_cycle_bounds_in_sql_are_those_of_every_cycle_day(db_session, today):
    """``cycle_bounds`` (the first and last day of each line's cycle, in SQL) agree with ``cycle_for`` for
    every cycle day, across the ends of months and years and a leap day."""
    for day in range(1, 29):
        start, end = db_session.execute(select(*cycle_bounds(literal(day, Integer), today))).one()
        cycle = cycle_for(day, today)
        assert (_as_date(start), _as_date(end)) == (cycle.start, cycle.end), (day, today)

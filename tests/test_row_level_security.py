"""Row-Level Security, the second wall on PostgreSQL: with the ORM guard out of the way (plain SQL), the
portal's role still reads and writes only the rows of the company set for the transaction."""

from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from mgd.db import Base, TenantOwned, database, operator_scope, set_tenant
from mgd.models import import_all
from tests.factories import make_company, make_interlocutor, make_line

pytestmark = pytest.mark.skipif(
    "postgresql" not in os.environ.get("MGD_TEST_DATABASE_URL", ""),
    reason="Row-Level Security exists on PostgreSQL only (CI runs this file there)",
)


def tenant_tables() -> list[str]:
    import_all()
    return sorted(m.class_.__tablename__ for m in Base.registry.mappers if issubclass(m.class_, TenantOwned))


@pytest.fixture
def two(db_session):
    a, b = make_company(db_session), make_company(db_session)
    for company in (a, b):
        make_line(db_session, company)
        make_interlocutor(db_session, company)
    return a.id, b.id


def test_every_tenant_table_has_forced_policies_and_the_portal_owns_none(db_session):
    role = db_session.execute(
        text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    ).one()
    assert tuple(role) == (False, False)
    rows = db_session.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) = current_user "
            "FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(:names)"
        ),
        {"names": tenant_tables()},
    ).all()
    assert sorted(r[0] for r in rows) == tenant_tables()
    assert all(r[1] and r[2] and not r[3] for r in rows), rows


def test_plain_sql_sees_only_the_companys_rows(db_session, two):
    a, _b = two
    set_tenant(db_session, a)
    for table in tenant_tables():
        query = text(f"SELECT DISTINCT tenant_id FROM {table}")  # noqa: S608 (names from the models)
        tenants = set(db_session.scalars(query))
        assert tenants <= {a}, table
    assert set(db_session.scalars(text("SELECT tenant_id FROM lines"))) == {a}


def test_with_no_company_set_plain_sql_sees_nothing(db_session, two):
    db_session.info.pop("tenant_id", None)
    db_session.execute(text("SELECT set_config('mgd.tenant_id', '', true)"))
    assert db_session.scalar(text("SELECT count(*) FROM lines")) == 0
    with operator_scope(db_session, "test"):
        assert db_session.scalar(text("SELECT count(*) FROM lines")) >= 2


@pytest.mark.parametrize("flag", ["on", "true", "1"])
def test_the_portal_role_cannot_open_an_operator_scope_by_itself(db_session, two, flag):
    """What an injected statement would try: the old policy trusted ``mgd.operator = 'on'``."""
    a, b = two
    set_tenant(db_session, a)
    db_session.execute(text("SELECT set_config('mgd.operator', :flag, true)"), {"flag": flag})
    assert db_session.scalar(text("SELECT count(*) FROM lines WHERE tenant_id = :b"), {"b": b}) == 0
    assert db_session.scalar(text("SELECT count(*) FROM interlocutors WHERE tenant_id = :b"), {"b": b}) == 0


def test_the_operator_function_reveals_no_key_and_the_portal_role_cannot_replace_it(db_session, two):
    a, b = two
    set_tenant(db_session, a)
    source = db_session.scalar(
        text(
            "SELECT prosrc FROM pg_proc "
            "WHERE proname = 'mgd_operator_scope' AND pronamespace = current_schema()::regnamespace"
        )
    )
    digest = re.search(r"'([0-9a-f]{64})'", source).group(1)  # readable, but only a hash
    assert database().operator_key not in source
    db_session.execute(text("SELECT set_config('mgd.operator', :digest, true)"), {"digest": digest})
    assert db_session.scalar(text("SELECT count(*) FROM lines WHERE tenant_id = :b"), {"b": b}) == 0
    for statement in (
        "CREATE OR REPLACE FUNCTION mgd_operator_scope() RETURNS boolean LANGUAGE sql AS $$ SELECT true $$",
        "ALTER TABLE lines DISABLE ROW LEVEL SECURITY",
        "DROP POLICY tenant_isolation ON lines",
    ):
        with pytest.raises(DBAPIError, match=r"must be owner|permission denied"), db_session.begin_nested():
            db_session.execute(text(statement))


def test_the_portals_operator_scope_still_reads_across_companies(db_session, two):
    a, b = two
    set_tenant(db_session, a)
    with operator_scope(db_session, "test"):
        tenants = set(db_session.scalars(text("SELECT DISTINCT tenant_id FROM lines")))
    assert {a, b} <= tenants
    assert set(db_session.scalars(text("SELECT DISTINCT tenant_id FROM lines"))) == {a}  # and it ends


def test_another_companys_rows_can_be_neither_written_nor_changed(db_session, two):
    a, b = two
    set_tenant(db_session, a)
    changed = db_session.execute(text("UPDATE interlocutors SET name = 'x' WHERE tenant_id = :b"), {"b": b})
    assert changed.rowcount == 0
    with pytest.raises(DBAPIError, match="row-level security"), db_session.begin_nested():
        db_session.execute(
            text(
                "INSERT INTO interlocutors (tenant_id, name, email, created_at, updated_at) "
                "VALUES (:b, 'Intruder', 'x@example.es', now(), now())"
            ),
            {"b": b},
        )


def test_the_company_setting_ends_with_its_transaction(app, two):
    """``SET LOCAL``, not ``SET``: the pooled connection does not carry a company into the next transaction."""
    with database(app).engine.connect() as connection:
        with Session(bind=connection) as session:
            set_tenant(session, two[0])
            assert session.scalar(text("SELECT current_setting('mgd.tenant_id', true)")) == str(two[0])
            session.commit()
        assert connection.scalar(text("SELECT current_setting('mgd.tenant_id', true)")) in ("", None)
        connection.rollback()

"""The fail-closed tenant guard of DESIGN §5: no tenant set, no tenant-owned rows."""

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import aliased

from mgd.db import TenantScopeError, operator_scope, set_tenant
from mgd.tenants.models import Company, Line
from tests.factories import make_company, make_line


@pytest.fixture
def two_companies(db_session):
    a, b = make_company(db_session), make_company(db_session)
    lines = {a.id: make_line(db_session, a).id, b.id: make_line(db_session, b).id}
    db_session.expunge_all()
    return a.id, b.id, lines


def test_querying_lines_with_no_tenant_raises(db_session, two_companies):
    with pytest.raises(TenantScopeError, match="Line"):
        db_session.scalars(select(Line)).all()


def test_get_by_id_with_no_tenant_raises(db_session, two_companies):
    a, _, lines = two_companies
    with pytest.raises(TenantScopeError):
        db_session.get(Line, lines[a])


def test_bulk_update_with_no_tenant_raises(db_session, two_companies):
    with pytest.raises(TenantScopeError):
        db_session.execute(update(Line).values(status="suspended"))


def test_a_tenant_sees_only_its_own_lines(db_session, two_companies):
    a, b, lines = two_companies
    set_tenant(db_session, a)
    assert [line.id for line in db_session.scalars(select(Line))] == [lines[a]]
    assert db_session.get(Line, lines[b]) is None


def test_a_tenant_cannot_update_another_tenants_lines(db_session, two_companies):
    a, b, lines = two_companies
    set_tenant(db_session, a)
    db_session.execute(update(Line).values(status="suspended"))
    with operator_scope(db_session, "test"):
        db_session.expire_all()
        assert db_session.get(Line, lines[b]).status == "active"
        assert db_session.get(Line, lines[a]).status == "suspended"


def test_joined_lines_of_other_tenants_are_filtered(db_session, two_companies):
    a, _, lines = two_companies
    set_tenant(db_session, a)
    alias = aliased(Line)
    rows = db_session.execute(select(Company.id, alias.id).join(alias, alias.tenant_id == Company.id)).all()
    assert rows == [(a, lines[a])]


def test_selecting_tenant_columns_with_no_tenant_raises(db_session, two_companies):
    with pytest.raises(TenantScopeError):
        db_session.execute(select(Company.id, Line.id).join(Line, Line.tenant_id == Company.id)).all()


def test_tenant_rows_only_joined_with_no_tenant_match_nothing(db_session, two_companies):
    query = select(Company.id).join(Line, Line.tenant_id == Company.id).where(Line.kind == "mobile")
    assert db_session.scalars(query).all() == []


def test_relationship_load_is_scoped_too(db_session, two_companies):
    a, _, lines = two_companies
    company = db_session.get(Company, a)
    with pytest.raises(TenantScopeError):
        _ = company.lines
    set_tenant(db_session, a)
    db_session.expire(company)
    assert [line.id for line in company.lines] == [lines[a]]


def test_operator_scope_sees_every_tenant_and_ends(db_session, two_companies):
    _, _, lines = two_companies
    with operator_scope(db_session, "test: cross-tenant report"):
        assert sorted(db_session.scalars(select(Line.id))) == sorted(lines.values())
    with pytest.raises(TenantScopeError):
        db_session.scalars(select(Line.id)).all()

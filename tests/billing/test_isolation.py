"""Another company's invoices, charges and payments never appear: the ORM guard everywhere, and on PostgreSQL
Row-Level Security under plain SQL, as the portal's role."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from mgd.billing.models import Invoice, InvoiceCharge, InvoiceLineTotal, InvoiceVatTotal, Payment
from mgd.db import TenantScopeError, set_tenant, tenant_scope
from mgd.tenants.models import BillingAccount
from tests.factories import make_company, make_invoice, make_line, make_payment

TABLES = ("invoices", "invoice_charges", "payments", "invoice_vat_totals", "invoice_line_totals")
MODELS = (Invoice, InvoiceCharge, Payment, InvoiceVatTotal, InvoiceLineTotal)
on_postgresql = pytest.mark.skipif(
    "postgresql" not in os.environ.get("MGD_TEST_DATABASE_URL", ""),
    reason="Row-Level Security exists on PostgreSQL only (CI runs this file there)",
)


@pytest.fixture
def two(db_session):
    ids = []
    for _ in range(2):
        company = make_company(db_session)
        line = make_line(db_session, company)
        with tenant_scope(db_session, company.id):
            account = db_session.get(BillingAccount, line.billing_account_id)
        make_invoice(db_session, company, account, [(None, "fee", 100), (line, "usage", 250)])
        make_payment(db_session, company, account, 121, date(2026, 10, 20))
        ids.append(company.id)
    return ids


def test_the_orm_guard_refuses_billing_queries_without_a_company(db_session, two):
    db_session.info.pop("tenant_id", None)
    for model in MODELS:
        with pytest.raises(TenantScopeError):
            db_session.scalars(select(model)).all()


def test_a_company_sees_only_its_billing_rows(db_session, two):
    a, _b = two
    set_tenant(db_session, a)
    for model in MODELS:
        assert {row.tenant_id for row in db_session.scalars(select(model))} == {a}


@on_postgresql
def test_plain_sql_sees_and_writes_only_the_companys_billing_rows(db_session, two):
    a, b = two
    set_tenant(db_session, a)
    for table in TABLES:
        assert set(db_session.scalars(text(f"SELECT DISTINCT tenant_id FROM {table}"))) == {a}  # noqa: S608
        update = text(f"UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = :b")  # noqa: S608
        changed = db_session.execute(update, {"b": b})
        assert changed.rowcount == 0
    db_session.execute(text("SELECT set_config('mgd.tenant_id', '', true)"))
    for table in TABLES:
        assert db_session.scalar(text(f"SELECT count(*) FROM {table}")) == 0  # noqa: S608


@on_postgresql
def test_the_portal_role_cannot_write_another_companys_payment(db_session, two):
    a, b = two
    set_tenant(db_session, a)
    account = db_session.execute(
        text("SELECT id FROM billing_accounts WHERE tenant_id = :a"), {"a": a}
    ).scalar()
    with pytest.raises(DBAPIError, match="row-level security"), db_session.begin_nested():
        db_session.execute(
            text(
                "INSERT INTO payments (tenant_id, billing_account_id, paid_on, amount_cents, method, reference,"
                " created_at, updated_at) VALUES (:b, :account, '2026-10-01', 1, 'card', 'X', now(), now())"
            ),
            {"b": b, "account": account},
        )

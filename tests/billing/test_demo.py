"""The demo's billing: months of invoices whose charges add up, payments of the paid ones, every status."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select

from mgd.billing.models import Invoice, InvoiceCharge, Payment
from mgd.billing.records.load import import_files
from mgd.db import operator_scope
from mgd.tenants.demo import demo_document
from mgd.tenants.demo_billing import add_billing, months_before
from mgd.tenants.models import BillingAccount
from tests.billing.test_summaries import summary_mismatches


def test_months_before_a_day():
    assert months_before(date(2026, 3, 15), 3) == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]


def test_demo_billing_imports_and_every_invoice_adds_up(db_session):
    document = add_billing(demo_document(companies=15), months=14, until=date(2026, 12, 1))
    counts = import_files(db_session, json.dumps(document), [])
    assert counts["invoices"].created == sum(len(c["invoices"]) for c in document["companies"])
    with operator_scope(db_session, "test"):
        sums = (
            select(
                InvoiceCharge.tenant_id,
                InvoiceCharge.invoice_id,
                func.sum(InvoiceCharge.net_cents).label("net"),
                func.sum(InvoiceCharge.vat_cents).label("vat"),
                func.sum(InvoiceCharge.total_cents).label("total"),
            )
            .group_by(InvoiceCharge.tenant_id, InvoiceCharge.invoice_id)
            .subquery()
        )
        rows = db_session.execute(
            select(
                Invoice.number,
                Invoice.net_cents,
                Invoice.vat_cents,
                Invoice.total_cents,
                sums.c.net,
                sums.c.vat,
                sums.c.total,
            ).outerjoin(sums, (sums.c.tenant_id == Invoice.tenant_id) & (sums.c.invoice_id == Invoice.id))
        ).all()
        assert len(rows) == counts["invoices"].created > 15 * 14
        assert [row for row in rows if tuple(row[1:4]) != tuple(row[4:7])] == []
        statuses = dict(
            db_session.execute(select(Invoice.status, func.count()).group_by(Invoice.status)).all()
        )
        assert set(statuses) == {"issued", "paid", "overdue", "disputed"}
        paid = db_session.scalar(select(func.sum(Invoice.total_cents)).where(Invoice.status == "paid"))
        assert db_session.scalar(select(func.sum(Payment.amount_cents))) == paid
        latest = db_session.scalar(select(func.max(Invoice.period_start)))
        assert latest == date(2026, 11, 1)
        accounts = db_session.scalars(select(BillingAccount)).all()
        assert all(a.billing_postcode and a.mandate_reference for a in accounts)
        assert {a.invoice_delivery for a in accounts} == {"paper", "email"}
    assert summary_mismatches(db_session) == []  # the demo's invoices have their summaries

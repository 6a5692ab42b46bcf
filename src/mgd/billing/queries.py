"""Reads of the billing pages that ``services`` does not offer: the company home's card in one statement
(the home page's statement budget, ``tests/test_edge.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    BigInteger,
    Date,
    Select,
    String,
    cast,
    func,
    literal,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from mgd.billing.models import Invoice, Payment
from mgd.db import set_tenant
from mgd.tenants.models import Company


@dataclass(frozen=True)
class LastInvoice:
    id: int
    number: str
    due_on: date
    total_cents: int
    status: str


@dataclass(frozen=True)
class LastPayment:
    paid_on: date
    amount_cents: int
    method: str


@dataclass(frozen=True)
class HomeSummary:
    """What ``services.account_summary`` says, for every account of the company, as plain values."""

    balance_cents: int
    overdue_cents: int
    last_invoice: LastInvoice | None
    last_payments: list[LastPayment]


def home_summary(session: Session, company: Company, *, payments: int = 3) -> HomeSummary:
    """The postpaid balance (invoiced minus paid), the overdue amount, the last invoice and the last
    ``payments`` payments of the company, read in one statement: a union of the two latest-rows queries and
    the three sums, whose rows say what they are in their first column."""
    if session.info.get("tenant_id") != company.id:  # a company page is scoped already: no second set_config
        set_tenant(session, company.id)
    last = (
        select(
            literal("invoice"),
            Invoice.id,
            Invoice.number,
            Invoice.issued_on,
            Invoice.due_on,
            Invoice.total_cents,
            type_coerce(Invoice.status, String),  # a plain string: the union also carries payment methods
        )
        .order_by(Invoice.issued_on.desc(), Invoice.id.desc())
        .limit(1)
        .subquery()
    )
    recent = (
        select(
            literal("payment"),
            Payment.id,
            Payment.reference,
            Payment.paid_on,
            cast(null(), Date),  # typed: PostgreSQL will not unite a date with an untyped NULL
            Payment.amount_cents,
            type_coerce(Payment.method, String),
        )
        .order_by(Payment.paid_on.desc(), Payment.id.desc())
        .limit(payments)
        .subquery()
    )

    def summed(kind: str, amount, *where) -> Select:
        total = func.coalesce(func.sum(amount), 0)
        nothing = (cast(null(), BigInteger), cast(null(), String), cast(null(), Date), cast(null(), Date))
        return select(literal(kind), *nothing, total, cast(null(), String)).where(*where)

    query = union_all(  # the first member gives the columns their types (dates stay dates on SQLite)
        select(last),
        select(recent),
        summed("invoiced", Invoice.total_cents),
        summed("overdue", Invoice.total_cents, Invoice.status == "overdue"),
        summed("paid", Payment.amount_cents),
    )
    rows = session.execute(query).all()
    sums = {row[0]: int(row[5] or 0) for row in rows if row[0] in ("invoiced", "overdue", "paid")}
    found = [LastInvoice(r[1], r[2], r[4], int(r[5]), r[6]) for r in rows if r[0] == "invoice"]
    paid = sorted((r for r in rows if r[0] == "payment"), key=lambda r: (r[3], r[1]), reverse=True)
    return HomeSummary(
        sums["invoiced"] - sums["paid"],
        sums["overdue"],
        found[0] if found else None,
        [LastPayment(r[3], int(r[5]), r[6]) for r in paid],
    )

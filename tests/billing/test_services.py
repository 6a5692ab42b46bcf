"""The billing reads the pages use: summary, invoice pages and filters, detail groups, limited members, the
statement's running balance, spend; and that another company's rows never appear."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mgd.billing import services
from mgd.billing.models import Invoice, InvoiceCharge
from mgd.db import operator_scope, tenant_scope
from mgd.tenants.models import BillingAccount, MembershipScope
from tests.factories import make_company, make_invoice, make_line, make_member, make_payment


@pytest.fixture
def acme(db_session):
    return two_companies_billed(db_session)


def two_companies_billed(db_session) -> dict:
    """A company with two lines (each on its own account), three invoices of the first account over three
    months (the last overdue), two payments; and another company with an invoice of its own."""
    company = make_company(db_session)
    one, two = make_line(db_session, company), make_line(db_session, company)
    with tenant_scope(db_session, company.id):
        one.cost_centre, two.cost_centre = "Ventas", "Taller"
        account = db_session.get(BillingAccount, one.billing_account_id)
    invoices = [
        make_invoice(
            db_session,
            company,
            account,
            [
                (None, "fee", 1000),
                (one, "fee", 2000),
                (one, "usage", 350),
                (two, "fee", 1500),
                (two, "discount", -500),
            ],
            issued_on=date(2026, month, 5),
            status=status,
        )
        for month, status in ((8, "paid"), (9, "paid"), (10, "overdue"))
    ]
    payments = [
        make_payment(db_session, company, account, invoices[0].total_cents, date(2026, 8, 25)),
        make_payment(db_session, company, account, invoices[1].total_cents, date(2026, 9, 25)),
    ]
    other = make_company(db_session)
    other_line = make_line(db_session, other)
    with tenant_scope(db_session, other.id):
        other_account = db_session.get(BillingAccount, other_line.billing_account_id)
    make_invoice(db_session, other, other_account, [(other_line, "fee", 99_999)], issued_on=date(2026, 11, 5))
    make_payment(db_session, other, other_account, 12345, date(2026, 10, 1))
    admin = make_member(db_session, company.id, "admin@example.es")
    return {
        "company": company,
        "lines": (one, two),
        "account": account,
        "invoices": invoices,
        "payments": payments,
        "admin": admin,
        "other": other,
    }


def test_every_invoice_of_the_fixture_adds_up(db_session, acme):
    with operator_scope(db_session, "test"):
        for invoice in db_session.scalars(select(Invoice)):
            sums = db_session.execute(
                select(
                    func.sum(InvoiceCharge.net_cents),
                    func.sum(InvoiceCharge.vat_cents),
                    func.sum(InvoiceCharge.total_cents),
                ).where(InvoiceCharge.tenant_id == invoice.tenant_id, InvoiceCharge.invoice_id == invoice.id)
            ).one()
            assert tuple(sums) == (invoice.net_cents, invoice.vat_cents, invoice.total_cents)


def test_summary_balance_overdue_last_invoice_and_payments(db_session, acme):
    summary = services.account_summary(db_session, acme["company"])
    invoices, payments = acme["invoices"], acme["payments"]
    assert summary.balance_cents == sum(i.total_cents for i in invoices) - sum(
        p.amount_cents for p in payments
    )
    assert summary.balance_cents == invoices[2].total_cents  # the two paid ones are paid
    assert summary.overdue_cents == invoices[2].total_cents
    assert summary.last_invoice.id == invoices[2].id
    assert summary.last_invoice.due_on == date(2026, 10, 25)
    assert [p.id for p in summary.last_payments] == [payments[1].id, payments[0].id]


def test_summary_of_a_company_without_invoices_is_empty(db_session):
    company = make_company(db_session)
    summary = services.account_summary(db_session, company)
    assert (summary.balance_cents, summary.overdue_cents, summary.last_invoice, summary.last_payments) == (
        0,
        0,
        None,
        [],
    )


def test_invoice_pages_by_keyset_newest_first(db_session, acme):
    company, invoices = acme["company"], acme["invoices"]
    first = services.list_invoices(db_session, company, per_page=2)
    assert [i.id for i in first.invoices] == [invoices[2].id, invoices[1].id]
    assert first.invoices[0].billing_account.ref == acme["account"].ref
    token = services.cursor_token(first.next_cursor)
    second = services.list_invoices(db_session, company, after=services.parse_cursor(token), per_page=2)
    assert [i.id for i in second.invoices] == [invoices[0].id]
    assert second.next_cursor is None


@pytest.mark.parametrize("token", ["", "x", "2026-13-01.4", "2026-01-01.", "2026-01-01.-4", "2026-01-01.٣"])
def test_a_bad_cursor_is_the_first_page(token):
    assert services.parse_cursor(token) is None


def test_invoice_filters(db_session, acme):
    company, invoices = acme["company"], acme["invoices"]

    def ids(**filters):
        page = services.list_invoices(db_session, company, services.InvoiceFilters(**filters))
        return [invoice.id for invoice in page.invoices]

    assert ids(status="overdue") == [invoices[2].id]
    assert ids(status="paid") == [invoices[1].id, invoices[0].id]
    assert ids(period_from=date(2026, 8, 1), period_to=date(2026, 8, 31)) == [invoices[1].id]
    assert ids(billing_account_id=acme["account"].id) == [i.id for i in reversed(invoices)]
    assert ids(billing_account_id=acme["lines"][1].billing_account_id) == []
    with pytest.raises(ValueError):
        ids(status="lost")


def test_another_companys_invoice_is_not_found(db_session, acme):
    with operator_scope(db_session, "test"):
        theirs = db_session.scalar(select(Invoice).where(Invoice.tenant_id == acme["other"].id))
    assert services.find_invoice(db_session, acme["company"], theirs.id) is None
    assert services.find_invoice_by_number(db_session, acme["company"], theirs.number) is None
    assert services.find_invoice(db_session, acme["other"], theirs.id).id == theirs.id
    listed = services.list_invoices(db_session, acme["company"], per_page=100).invoices
    assert theirs.id not in {invoice.id for invoice in listed}
    entries = services.account_statement(db_session, acme["company"], date(2026, 1, 1), date(2026, 12, 31))
    assert {entry.id for entry in entries.entries if entry.kind == "invoice"} == {
        i.id for i in acme["invoices"]
    }


def test_detail_groups_charges_by_line_then_concept(db_session, acme):
    one, two = acme["lines"]
    invoice = acme["invoices"][0]
    detail = services.invoice_detail(db_session, acme["admin"], invoice)
    assert detail.complete
    assert [group.line.number if group.line else None for group in detail.groups] == [
        None,
        *sorted([one.number, two.number]),
    ]
    by_line = {group.line.id if group.line else None: group for group in detail.groups}
    assert [c.concept for c in by_line[one.id].concepts] == ["fee", "usage"]
    assert [c.concept for c in by_line[two.id].concepts] == ["fee", "discount"]
    assert by_line[two.id].net_cents == 1000
    assert sum(group.total_cents for group in detail.groups) == invoice.total_cents
    assert detail.vat_breakdown == [services.VatRow(Decimal("21.00"), invoice.net_cents, invoice.vat_cents)]
    streamed = list(services.invoice_charges(db_session, acme["admin"], invoice))
    assert [charge.id for charge, _ in streamed] == [
        charge.id for group in detail.groups for bucket in group.concepts for charge in bucket.charges
    ]


def test_the_detail_lists_the_first_charges_of_a_concept_and_counts_them_all(db_session, acme):
    one, _two = acme["lines"]
    usage = [(one, "usage", 100 + n) for n in range(services.LISTED_CHARGES + 3)]
    invoice = make_invoice(db_session, acme["company"], acme["account"], usage, issued_on=date(2026, 11, 5))
    detail = services.invoice_detail(db_session, acme["admin"], invoice)
    [group] = detail.groups
    [bucket] = group.concepts
    assert bucket.count == services.LISTED_CHARGES + 3
    assert [charge.net_cents for charge in bucket.charges] == [
        100 + n for n in range(services.LISTED_CHARGES)
    ]
    assert bucket.net_cents == group.net_cents == invoice.net_cents == sum(net for _line, _c, net in usage)


def test_detail_pages_by_line_number_and_the_vat_breakdown_is_the_whole_invoices(db_session, acme):
    invoice, admin = acme["invoices"][0], acme["admin"]
    first_number, second_number = sorted(line.number for line in acme["lines"])
    whole = services.invoice_detail(db_session, admin, invoice)
    assert whole.next_line is None
    first = services.invoice_detail(db_session, admin, invoice, lines=1)
    assert [group.line.number if group.line else None for group in first.groups] == [None, first_number]
    assert first.next_line == first_number
    second = services.invoice_detail(db_session, admin, invoice, after_line=first.next_line, lines=1)
    assert [group.line.number for group in second.groups] == [second_number]
    assert second.next_line is None
    assert first.vat_breakdown == second.vat_breakdown == whole.vat_breakdown
    paged = [
        charge.id for page in (first, second) for g in page.groups for b in g.concepts for charge in b.charges
    ]
    assert paged == [charge.id for group in whole.groups for b in group.concepts for charge in b.charges]


def test_a_limited_member_sees_only_its_lines_charges(db_session, acme):
    two = acme["lines"][1]
    company = acme["company"]
    member = make_member(db_session, company.id, "limited@example.es", role="billing")
    with tenant_scope(db_session, company.id):
        member.limited = True
        db_session.add(MembershipScope(tenant_id=company.id, membership_id=member.id, line_id=two.id))
        db_session.flush()
    detail = services.invoice_detail(db_session, member, acme["invoices"][0])
    assert not detail.complete
    assert [group.line.id for group in detail.groups] == [two.id]
    assert detail.vat_breakdown == [services.VatRow(Decimal("21.00"), 1000, 210)]  # 1500 - 500, its line's
    assert [
        charge.line_id for charge, _ in services.invoice_charges(db_session, member, acme["invoices"][0])
    ] == [
        two.id,
        two.id,
    ]
    assert set(services.spend_by_line(db_session, member).series) == {two.number}
    assert [spend.line.id for spend in services.top_lines(db_session, member)] == [two.id]


def test_statement_running_balance(db_session, acme):
    invoices, payments = acme["invoices"], acme["payments"]
    statement = services.account_statement(db_session, acme["company"], date(2026, 8, 10), date(2026, 10, 31))
    assert statement.opening_cents == invoices[0].total_cents  # invoiced on 5 August, not yet paid
    entries = list(statement.entries)
    assert [(e.kind, e.reference) for e in entries] == [
        ("payment", payments[0].reference),
        ("invoice", invoices[1].number),
        ("payment", payments[1].reference),
        ("invoice", invoices[2].number),
    ]
    balance = statement.opening_cents
    for entry in entries:
        balance += entry.charge_cents - entry.payment_cents
        assert entry.balance_cents == balance
    assert entries[-1].balance_cents == invoices[2].total_cents
    assert entries[0].billing_account_ref == acme["account"].ref


def test_on_one_day_the_invoice_comes_before_the_payment(db_session, acme):
    company, account = acme["company"], acme["account"]
    invoice = make_invoice(
        db_session, company, account, [(None, "one_off", 100)], issued_on=date(2026, 11, 5)
    )
    make_payment(db_session, company, account, invoice.total_cents, date(2026, 11, 5))
    entries = list(
        services.account_statement(db_session, company, date(2026, 11, 5), date(2026, 11, 5)).entries
    )
    assert [e.kind for e in entries] == ["invoice", "payment"]


def test_spend_by_cost_centre_and_top_lines(db_session, acme):
    one, two = acme["lines"]
    spend = services.spend_by_cost_centre(db_session, acme["admin"])
    assert spend.periods == [date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)]
    # Ventas: line one (2000 + 350 net, 21 % VAT); Taller: line two (1500 - 500); None: the account's fee.
    assert spend.series["Ventas"] == [2350 + 494] * 3
    assert spend.series["Taller"] == [1000 + 210] * 3
    assert spend.series[None] == [1210] * 3
    assert services.spend_by_cost_centre(db_session, acme["admin"], periods=1).periods == [date(2026, 9, 1)]
    top = services.top_lines(db_session, acme["admin"])
    assert [(s.line.id, s.total_cents) for s in top] == [(one.id, 3 * 2844), (two.id, 3 * 1210)]
    assert [s.line.id for s in services.top_lines(db_session, acme["admin"], limit=1)] == [one.id]

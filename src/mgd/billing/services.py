"""Tenant-scoped reads of a company's billing: the summary, invoice pages and detail, the account statement
and spend. Every function scopes the session to the company first; a limited membership sees only its lines'
charges (``tenants.services.visible_lines``). Amounts are integer euro cents.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from mgd.billing.models import (
    ACCOUNT,
    CHARGE_CONCEPTS,
    INVOICE_STATUSES,
    Invoice,
    InvoiceCharge,
    InvoiceLineTotal,
    InvoiceVatTotal,
    Payment,
)
from mgd.db import set_tenant
from mgd.tenants.models import BillingAccount, Company, Line, Membership
from mgd.tenants.services import visible_lines

#: A keyset position in an invoice list: the (issued_on, id) of the last invoice shown.
Cursor = tuple[date, int]


# ---- accounts and the summary ---------------------------------------------------------------------------


def billing_accounts(session: Session, company: Company) -> list[BillingAccount]:
    """The company's billing accounts, by ref."""
    set_tenant(session, company.id)
    return list(session.scalars(select(BillingAccount).order_by(BillingAccount.ref)))


def find_billing_account(session: Session, company: Company, account_id: int) -> BillingAccount | None:
    """One of the company's billing accounts by id, or None (another company's id included: a 404)."""
    set_tenant(session, company.id)
    return session.scalar(select(BillingAccount).where(BillingAccount.id == account_id))


@dataclass(frozen=True)
class AccountSummary:
    """What the billing home shows. ``balance_cents``: everything invoiced minus everything paid (positive:
    the company owes it). ``overdue_cents``: the totals of the invoices whose status is overdue."""

    balance_cents: int
    overdue_cents: int
    last_invoice: Invoice | None  # the latest issued (its due date is ``last_invoice.due_on``)
    last_payments: list[Payment]  # the latest first


def account_summary(
    session: Session, company: Company, *, billing_account_id: int | None = None, payments: int = 5
) -> AccountSummary:
    """The postpaid balance, the overdue amount, the last invoice and the last ``payments`` payments of the
    company (or of one of its billing accounts)."""
    set_tenant(session, company.id)
    invoices = select(Invoice)
    paid = select(Payment)
    if billing_account_id is not None:
        invoices = invoices.where(Invoice.billing_account_id == billing_account_id)
        paid = paid.where(Payment.billing_account_id == billing_account_id)
    invoiced_sub = invoices.subquery()
    invoiced, overdue = session.execute(
        select(
            func.coalesce(func.sum(invoiced_sub.c.total_cents), 0),
            func.coalesce(func.sum(invoiced_sub.c.total_cents).filter(invoiced_sub.c.status == "overdue"), 0),
        )
    ).one()
    paid_sub = paid.subquery()
    received = session.scalar(select(func.coalesce(func.sum(paid_sub.c.amount_cents), 0)))
    last_invoice = session.scalar(invoices.order_by(Invoice.issued_on.desc(), Invoice.id.desc()).limit(1))
    last_payments = list(
        session.scalars(paid.order_by(Payment.paid_on.desc(), Payment.id.desc()).limit(payments))
    )
    return AccountSummary(int(invoiced) - int(received), int(overdue), last_invoice, last_payments)


# ---- invoices -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceFilters:
    """Filters of the invoice list; None means any. The period filter keeps invoices whose billing period
    overlaps ``period_from``..``period_to``."""

    billing_account_id: int | None = None
    period_from: date | None = None
    period_to: date | None = None
    status: str | None = None  # one of INVOICE_STATUSES


@dataclass(frozen=True)
class InvoicePage:
    invoices: list[Invoice]  # newest issued first
    next_cursor: Cursor | None  # pass as ``after`` for the next page; None on the last page


def list_invoices(
    session: Session,
    company: Company,
    filters: InvoiceFilters | None = None,
    *,
    after: Cursor | None = None,
    per_page: int = 25,
) -> InvoicePage:
    """One page of the company's invoices, newest first, by keyset (``after``: the cursor of the previous
    page), so a page costs the same at any depth. Each invoice's billing account is loaded alongside."""
    set_tenant(session, company.id)
    query = _filtered(select(Invoice), filters or InvoiceFilters())
    if after is not None:
        issued_on, invoice_id = after
        query = query.where(
            or_(Invoice.issued_on < issued_on, and_(Invoice.issued_on == issued_on, Invoice.id < invoice_id))
        )
    rows = list(
        session.scalars(query.order_by(Invoice.issued_on.desc(), Invoice.id.desc()).limit(per_page + 1))
    )
    page = rows[:per_page]
    _load_accounts(session, page)
    more = len(rows) > per_page
    return InvoicePage(page, (page[-1].issued_on, page[-1].id) if more else None)


def _filtered(query: Select, filters: InvoiceFilters) -> Select:
    if filters.billing_account_id is not None:
        query = query.where(Invoice.billing_account_id == filters.billing_account_id)
    if filters.period_from is not None:
        query = query.where(Invoice.period_end >= filters.period_from)
    if filters.period_to is not None:
        query = query.where(Invoice.period_start <= filters.period_to)
    if filters.status is not None:
        if filters.status not in INVOICE_STATUSES:
            raise ValueError(f"unknown invoice status: {filters.status}")
        query = query.where(Invoice.status == filters.status)
    return query


def _load_accounts(session: Session, invoices: list[Invoice]) -> None:
    """Fill each invoice's (view-only) billing account with one query."""
    ids = {invoice.billing_account_id for invoice in invoices}
    if ids:
        accounts = {
            a.id: a for a in session.scalars(select(BillingAccount).where(BillingAccount.id.in_(ids)))
        }
        for invoice in invoices:
            invoice.__dict__["billing_account"] = accounts[invoice.billing_account_id]


def cursor_token(cursor: Cursor) -> str:
    """A cursor as a query-string value: ``2026-11-05.1234``."""
    return f"{cursor[0].isoformat()}.{cursor[1]}"


def parse_cursor(token: str | None) -> Cursor | None:
    """The cursor a ``cursor_token`` wrote, or None for anything else (a tampered value is the first page)."""
    if not token or "." not in token:
        return None
    day, _, number = token.partition(".")
    if not (number.isascii() and number.isdigit() and len(number) <= 19):
        return None
    try:
        return date.fromisoformat(day), int(number)
    except ValueError:
        return None


def find_invoice(session: Session, company: Company, invoice_id: int) -> Invoice | None:
    """One of the company's invoices by id, or None (another company's id included: a 404)."""
    set_tenant(session, company.id)
    invoice = session.scalar(select(Invoice).where(Invoice.id == invoice_id))
    if invoice is not None:
        _load_accounts(session, [invoice])
    return invoice


def find_invoice_by_number(session: Session, company: Company, number: str) -> Invoice | None:
    """One of the company's invoices by its number, or None."""
    set_tenant(session, company.id)
    return session.scalar(select(Invoice).where(Invoice.number == number))


#: Charges listed under each concept of a line on the detail page; the rest are counted ("and N more").
LISTED_CHARGES = 10


@dataclass
class ConceptCharges:
    concept: str  # one of CHARGE_CONCEPTS
    charges: list  # the first LISTED_CHARGES rows: .id, .description, .net_cents
    count: int = 0  # all the charges summed below
    net_cents: int = 0
    vat_cents: int = 0
    total_cents: int = 0


@dataclass
class LineCharges:
    """The charges of one line (``line`` None: the account-level charges), grouped by concept in the order
    of CHARGE_CONCEPTS, with their sums."""

    line: Line | None
    concepts: list[ConceptCharges] = field(default_factory=list)
    net_cents: int = 0
    vat_cents: int = 0
    total_cents: int = 0


@dataclass(frozen=True)
class VatRow:
    rate: object  # Decimal percent
    base_cents: int
    vat_cents: int


#: Lines on a page of an invoice's detail: a 10,000-line invoice is read and shown a page at a time.
DETAIL_LINES = 25  # lines a page: about 500 charges at 20 usage charges a line


@dataclass(frozen=True)
class InvoiceDetail:
    """A page of an invoice's charges the member may see: the account-level ones on the first page, then
    lines by number. ``complete`` is False for a limited member (only its lines' charges, none of the
    account's): the groups then do not add up to the invoice's totals, which are the whole invoice's.
    ``vat_breakdown`` covers every charge the member may see, on every page."""

    invoice: Invoice
    groups: list[LineCharges]
    vat_breakdown: list[VatRow]
    complete: bool
    next_line: str | None = None  # pass as ``after_line`` for the next page; None on the last page


def invoice_detail(
    session: Session,
    membership: Membership,
    invoice: Invoice,
    *,
    after_line: str | None = None,
    lines: int | None = None,
) -> InvoiceDetail:
    """A page of the detail of ``invoice`` (from ``find_invoice``) for ``membership``: charges grouped by line
    and concept, of the first ``lines`` lines by number (and the account's own charges), or of the ``lines``
    lines after the one numbered ``after_line`` (``lines``: ``DETAIL_LINES``); and the VAT breakdown of the
    whole invoice's charges."""
    set_tenant(session, membership.tenant_id)
    lines = lines or DETAIL_LINES
    shown = list(session.scalars(_invoice_lines(membership, invoice, after_line).limit(lines + 1)))
    more = len(shown) > lines
    shown = shown[:lines]
    groups: dict[int | None, LineCharges] = {}
    if after_line is None and not membership.limited:
        groups[None] = LineCharges(None)
    groups.update((line.id, LineCharges(line)) for line in shown)
    page = InvoiceCharge.line_id.in_([line.id for line in shown])
    if None in groups:
        page = or_(page, InvoiceCharge.line_id.is_(None))
    charges = select(  # plain rows, not entities: a page of 25 lines has ~500 charges
        InvoiceCharge.id,
        InvoiceCharge.line_id,
        InvoiceCharge.concept,
        InvoiceCharge.description,
        InvoiceCharge.net_cents,
        InvoiceCharge.vat_cents,
        InvoiceCharge.total_cents,
    ).where(InvoiceCharge.invoice_id == invoice.id, page)
    for charge in session.execute(charges.order_by(_concept_order(), InvoiceCharge.position)):
        group = groups[charge.line_id]
        if not group.concepts or group.concepts[-1].concept != charge.concept:
            group.concepts.append(ConceptCharges(charge.concept, []))
        bucket = group.concepts[-1]
        if bucket.count < LISTED_CHARGES:
            bucket.charges.append(charge)
        bucket.count += 1
        for total in (bucket, group):
            total.net_cents += charge.net_cents
            total.vat_cents += charge.vat_cents
            total.total_cents += charge.total_cents
    groups = {key: group for key, group in groups.items() if group.concepts}
    return InvoiceDetail(
        invoice,
        list(groups.values()),
        _vat_breakdown(session, membership, invoice),
        complete=not membership.limited,
        next_line=shown[-1].number if more else None,
    )


def _invoice_lines(membership: Membership, invoice: Invoice, after_line: str | None) -> Select:
    """The lines with charges on the invoice that the member may see, by number (after ``after_line``)."""
    billed = (
        select(InvoiceCharge.id)
        .where(
            InvoiceCharge.tenant_id == Line.tenant_id,
            InvoiceCharge.invoice_id == invoice.id,
            InvoiceCharge.line_id == Line.id,
        )
        .exists()
    )
    query = select(Line).where(billed).order_by(Line.number)
    if after_line is not None:
        query = query.where(Line.number > after_line)
    if membership.limited:
        query = query.where(Line.id.in_(_visible_line_ids(membership)))
    return query


def _vat_breakdown(session: Session, membership: Membership, invoice: Invoice) -> list[VatRow]:
    """By rate, from the invoice's summaries (``billing.summaries``), never from its charges: the whole
    invoice's (a few rows), or for a limited member its lines' (their rows of the summary by line)."""
    summary = InvoiceLineTotal if membership.limited else InvoiceVatTotal
    query = (
        select(summary.vat_rate, func.sum(summary.net_cents), func.sum(summary.vat_cents))
        .where(summary.invoice_id == invoice.id)
        .group_by(summary.vat_rate)
        .order_by(summary.vat_rate)
    )
    if membership.limited:
        query = query.where(InvoiceLineTotal.line_id.in_(_visible_line_ids(membership)))
    return [VatRow(rate, int(base), int(vat)) for rate, base, vat in session.execute(query)]


def _charges(membership: Membership, invoice: Invoice) -> Select:
    """(charge, line) rows of the invoice the member may see, account-level first, then by line number."""
    query = (
        select(InvoiceCharge, Line)
        .outerjoin(Line, Line.id == InvoiceCharge.line_id)
        .where(InvoiceCharge.invoice_id == invoice.id)
    )
    if membership.limited:
        query = query.where(InvoiceCharge.line_id.in_(_visible_line_ids(membership)))
    return query.order_by(Line.number.is_not(None), Line.number, _concept_order(), InvoiceCharge.position)


def _concept_order():
    return case(
        {concept: index for index, concept in enumerate(CHARGE_CONCEPTS)}, value=InvoiceCharge.concept
    )


def _visible_line_ids(membership: Membership) -> Select:
    visible = visible_lines(membership).subquery()
    return select(visible.c.id)


def invoice_charges(
    session: Session, membership: Membership, invoice: Invoice
) -> Iterator[tuple[InvoiceCharge, Line | None]]:
    """Stream (charge, line or None) of the invoice the member may see, in the order of ``invoice_detail``,
    a few thousand rows at a time (a 10,000-line invoice's PDF)."""
    set_tenant(session, membership.tenant_id)
    result = session.execute(_charges(membership, invoice).execution_options(yield_per=2000))
    yield from ((charge, line) for charge, line in result)  # plain tuples, not rows


# ---- account statement ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementEntry:
    """One movement, an invoice (a charge to the company) or a payment (a credit), and the balance after."""

    on: date
    kind: str  # "invoice" or "payment"
    id: int
    reference: str  # invoice number or payment reference
    billing_account_ref: str
    charge_cents: int  # the invoice's total, else 0
    payment_cents: int  # the payment's amount, else 0
    balance_cents: int


@dataclass
class Statement:
    """``opening_cents``: the balance before ``start``; ``entries``: an iterator (consume it once), in date
    order (on a day, invoices before payments)."""

    start: date
    end: date
    opening_cents: int
    entries: Iterator[StatementEntry]


def account_statement(
    session: Session, company: Company, start: date, end: date, *, billing_account_id: int | None = None
) -> Statement:
    """Invoices (by issue date) and payments (by payment date) from ``start`` to ``end`` inclusive, with the
    running balance, streamed from the database for exports of any length."""
    set_tenant(session, company.id)
    invoices = select(
        Invoice.issued_on.label("on"),
        literal(0).label("kind"),
        Invoice.id.label("id"),
        Invoice.number.label("reference"),
        Invoice.billing_account_id.label("account_id"),
        Invoice.total_cents.label("charge"),
        literal(0).label("payment"),
    )
    payments = select(
        Payment.paid_on.label("on"),
        literal(1).label("kind"),
        Payment.id.label("id"),
        Payment.reference.label("reference"),
        Payment.billing_account_id.label("account_id"),
        literal(0).label("charge"),
        Payment.amount_cents.label("payment"),
    )
    if billing_account_id is not None:
        invoices = invoices.where(Invoice.billing_account_id == billing_account_id)
        payments = payments.where(Payment.billing_account_id == billing_account_id)
    before = union_all(invoices.where(Invoice.issued_on < start), payments.where(Payment.paid_on < start))
    movements = before.subquery()
    opening = session.scalar(select(func.coalesce(func.sum(movements.c.charge - movements.c.payment), 0)))
    within = union_all(
        invoices.where(Invoice.issued_on.between(start, end)),
        payments.where(Payment.paid_on.between(start, end)),
    ).subquery()
    refs = dict(session.execute(select(BillingAccount.id, BillingAccount.ref)).all())
    query = select(within).order_by(within.c.on, within.c.kind, within.c.id)
    rows = session.execute(query.execution_options(yield_per=2000))
    return Statement(start, end, int(opening), _running(rows, int(opening), refs))


def _running(rows, balance: int, refs: dict[int, str]) -> Iterator[StatementEntry]:
    for on, kind, row_id, reference, account_id, charge, payment in rows:
        balance += int(charge) - int(payment)
        yield StatementEntry(
            on,
            "invoice" if kind == 0 else "payment",
            row_id,
            reference,
            refs.get(account_id, ""),
            int(charge),
            int(payment),
            balance,
        )


# ---- spend ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendSeries:
    """Spend (charges' totals, VAT included) per billing period, for the last periods invoiced: ``periods``
    oldest first (each a period's start date), and for each key its amounts in that order. Keys are cost
    centres (None: lines without one and account-level charges) or line numbers (None: account-level)."""

    periods: list[date]
    series: dict[str | None, list[int]]


@dataclass(frozen=True)
class LineSpend:
    line: Line
    total_cents: int


def _last_periods(session: Session, periods: int) -> list[date]:
    starts = session.scalars(
        select(Invoice.period_start).distinct().order_by(Invoice.period_start.desc()).limit(periods)
    )
    return sorted(starts)


def _spend(session: Session, membership: Membership, key, periods: int) -> SpendSeries:
    set_tenant(session, membership.tenant_id)
    starts = _last_periods(session, periods)
    if not starts:
        return SpendSeries([], {})
    query = (  # from the invoices' summaries by line (a few rows per line), never from their charges
        select(Invoice.period_start, key, func.sum(InvoiceLineTotal.total_cents))
        .join(Invoice, Invoice.id == InvoiceLineTotal.invoice_id)
        .outerjoin(Line, Line.id == InvoiceLineTotal.line_id)
        .where(Invoice.period_start >= starts[0])
        .group_by(Invoice.period_start, key)
    )
    if membership.limited:
        query = query.where(InvoiceLineTotal.line_id.in_(_visible_line_ids(membership)))
    index = {start: position for position, start in enumerate(starts)}
    series: dict[str | None, list[int]] = {}
    for start, name, total in session.execute(query):
        series.setdefault(name, [0] * len(starts))[index[start]] += int(total)
    return SpendSeries(starts, series)


def spend_by_cost_centre(session: Session, membership: Membership, *, periods: int = 12) -> SpendSeries:
    """The company's spend per cost centre (the lines' current label) over the last ``periods`` billing
    periods, among the lines the member may see."""
    return _spend(session, membership, Line.cost_centre, periods)


def spend_by_line(session: Session, membership: Membership, *, periods: int = 12) -> SpendSeries:
    """The spend per line number over the last ``periods`` billing periods, among the member's lines."""
    return _spend(session, membership, Line.number, periods)


def top_lines(
    session: Session, membership: Membership, *, periods: int = 12, limit: int = 50
) -> list[LineSpend]:
    """The ``limit`` lines that spent most over the last ``periods`` billing periods (among the member's),
    most first."""
    set_tenant(session, membership.tenant_id)
    starts = _last_periods(session, periods)
    if not starts:
        return []
    total = func.sum(InvoiceLineTotal.total_cents).label("total")
    spend = (
        select(InvoiceLineTotal.line_id, total)
        .join(Invoice, Invoice.id == InvoiceLineTotal.invoice_id)
        .where(Invoice.period_start >= starts[0], InvoiceLineTotal.line_id != ACCOUNT)
        .group_by(InvoiceLineTotal.line_id)
    )
    if membership.limited:
        spend = spend.where(InvoiceLineTotal.line_id.in_(_visible_line_ids(membership)))
    ranked = spend.order_by(total.desc(), InvoiceLineTotal.line_id).limit(limit).subquery()
    rows = session.execute(
        select(Line, ranked.c.total)
        .join(ranked, ranked.c.line_id == Line.id)
        .order_by(ranked.c.total.desc(), Line.id)
    )
    return [LineSpend(line, int(amount)) for line, amount in rows]

"""Checking one billing record (an invoice, a charge, a payment) as read from a file or a document, and
resolving its company, billing account and line to ids; every error names its place, field, value and rule.

Values come as text (CSV) or JSON values (JSONL, the records document). Money is integer cents, read as
``int`` from digits, never through float; the VAT rate is a ``Decimal`` percent.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mgd.billing.models import CHARGE_CONCEPTS, INVOICE_STATUSES, PAYMENT_METHODS
from mgd.identifiers import InvalidIdentifier, normalize_fiscal_id, normalize_phone
from mgd.tenants.models import BillingAccount, Company, Line
from mgd.tenants.records.validate import MAX_ERRORS, RecordError
from mgd.web.forms import unusable_character

#: The fields of each kind of record: (required, optional). ``company`` is implied inside a document's
#: company, and ``invoice`` inside a document's invoice.
FIELDS = {
    "invoices": (
        "company billing_account number period_start period_end issued_on due_on net_cents vat_cents "
        "total_cents status",
        "charges",
    ),
    "charges": ("company invoice concept description net_cents vat_rate vat_cents total_cents", "line"),
    "payments": ("company billing_account reference paid_on amount_cents method", ""),
}
MAX_CENTS = 10**13  # a hundred thousand million euros
_CENTS = re.compile(r"-?[0-9]{1,14}")
_RATE = re.compile(r"[0-9]{1,3}(\.[0-9]{1,2})?")
_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.-]{0,39}")
_HUNDRED = Decimal(100)
_CENT = Decimal(1)


class Errors:
    """Every error of an import, the first ``MAX_ERRORS`` kept."""

    def __init__(self) -> None:
        self.kept: list[RecordError] = []
        self.total = 0

    def add(self, place: str, value: Any, rule: str) -> None:
        self.total += 1
        if len(self.kept) < MAX_ERRORS:
            self.kept.append(RecordError(place, value, rule))


class Row:
    """One record being checked: ``get`` each field once; ``ok`` stays True while no field was refused."""

    __slots__ = ("errors", "ok", "prefix", "raw")

    def __init__(self, raw: dict, prefix: str, errors: Errors) -> None:
        """``prefix``: the record's place and a separator (``invoices.csv line 4: ``, ``companies[0].``)."""
        self.raw, self.prefix, self.errors, self.ok = raw, prefix, errors, True

    def fail(self, name: str, value: Any, rule: str) -> None:
        self.ok = False
        self.errors.add(self.prefix + name, value, rule)

    def text(self, name: str, max_len: int, optional: bool = False) -> str | None:
        value = self.raw.get(name)
        if value is None or value == "":
            if not optional:
                self.fail(name, value, "is required")
            return None
        if not isinstance(value, str):
            self.fail(name, value, "must be a text")
            return None
        if not value.isprintable():  # rare: the precise check only then
            if unusable_character(value):
                self.fail(name, value, "must not contain control characters or lone surrogates")
                return None
            value = " ".join(value.split())
        value = value.strip()
        if not value or len(value) > max_len:
            self.fail(name, value, f"must be 1-{max_len} characters")
            return None
        return value

    def choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        value = self.raw.get(name)
        if value not in choices:
            self.fail(name, value, f"must be one of {', '.join(choices)}")
            return None
        return value

    def day(self, name: str) -> date | None:
        value = self.raw.get(name)
        if isinstance(value, str) and len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(name, value, "is required" if value in (None, "") else "must be a date written YYYY-MM-DD")
        return None

    def cents(self, name: str) -> int | None:
        """Whole cents: an integer (JSON) or its digits (CSV), never a fraction."""
        value = self.raw.get(name)
        if type(value) is int:
            if -MAX_CENTS < value < MAX_CENTS:
                return value
        elif isinstance(value, str) and _CENTS.fullmatch(value):
            return int(value)
        if value in (None, ""):
            self.fail(name, value, "is required")
        else:
            self.fail(name, value, f"must be whole cents: an integer between -{MAX_CENTS} and {MAX_CENTS}")
        return None

    def rate(self, name: str) -> Decimal | None:
        """A VAT rate in percent, 0-100 with at most two decimals (21, 21.0, "10.5")."""
        value = self.raw.get(name)
        if isinstance(value, Decimal | int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and _RATE.fullmatch(value):
            try:
                rate = Decimal(value)
            except InvalidOperation:
                rate = None
            if rate is not None and rate <= _HUNDRED:
                return rate
        self.fail(name, value, "must be a VAT rate in percent, 0-100 with at most two decimals")
        return None


def check_fields(raw: dict, kind: str, prefix: str, errors: Errors, implied: tuple[str, ...] = ()) -> bool:
    """Whether ``raw`` has every required field of ``kind`` (but ``implied``) and no unknown one."""
    required, optional = FIELDS[kind]
    needed = set(required.split()) - set(implied)
    allowed = needed | set(optional.split())
    keys = raw.keys()
    if needed <= keys <= allowed:
        return True
    for name in sorted(needed - keys):
        errors.add(prefix + name, None, "is required")
    for name in sorted(keys - allowed):
        errors.add(prefix + name, raw[name], "is not a known field")
    return False


class Resolver:
    """Company fiscal IDs, billing account refs and line numbers to ids, as stored (the records document's
    own companies included: they are written first). Keeps the accounts and lines of the last companies
    seen, so memory depends on how many lines a company has, never on the size of the file."""

    COMPANIES_KEPT = 16

    def __init__(self, session: Session, before_query: Callable[[], None] = lambda: None) -> None:
        self.session = session
        self.before_query = before_query  # what must happen before a query (``Stage.pause``)
        self.tenants: dict[str, int | None] = {}
        self.fiscal_ids: dict[str, str] = {}  # as written -> normalised
        self.companies: OrderedDict[int, tuple[dict[str, int], dict[str, int]]] = OrderedDict()

    def tenant(self, row: Row) -> int | None:
        written = row.raw.get("company")
        if not isinstance(written, str):
            row.fail("company", written, "must be the fiscal ID of a company")
            return None
        fiscal = self.fiscal_ids.get(written)
        if fiscal is None:
            try:
                fiscal = normalize_fiscal_id(written).value
            except InvalidIdentifier as exc:
                row.fail("company", written, str(exc))
                return None
            if len(self.fiscal_ids) > 10_000:
                self.fiscal_ids.clear()
            self.fiscal_ids[written] = fiscal
        return self.tenant_of(row, fiscal, written)

    def tenant_of(self, row: Row, fiscal: str, written: str) -> int | None:
        """The id of the company with this (normalised) fiscal ID, or None (reported)."""
        if fiscal not in self.tenants:
            if len(self.tenants) > 10_000:
                self.tenants.clear()
            self.before_query()
            self.tenants[fiscal] = self.session.scalar(select(Company.id).where(Company.fiscal_id == fiscal))
        tenant_id = self.tenants[fiscal]
        if tenant_id is None:
            row.fail("company", written, "no company has this fiscal ID")
        return tenant_id

    def company(self, tenant_id: int) -> tuple[dict[str, int], dict[str, int]]:
        """The company's billing accounts (ref to id) and lines (E.164 number to id)."""
        known = self.companies.get(tenant_id)
        if known is None:
            self.before_query()
            accounts = dict(
                self.session.execute(
                    select(BillingAccount.ref, BillingAccount.id).where(BillingAccount.tenant_id == tenant_id)
                ).all()
            )
            lines = dict(
                self.session.execute(select(Line.number, Line.id).where(Line.tenant_id == tenant_id)).all()
            )
            known = self.companies[tenant_id] = (accounts, lines)
            if len(self.companies) > self.COMPANIES_KEPT:
                self.companies.popitem(last=False)
        else:
            self.companies.move_to_end(tenant_id)
        return known

    def account(self, row: Row, tenant_id: int) -> int | None:
        ref = row.raw.get("billing_account")
        account_id = self.company(tenant_id)[0].get(ref) if isinstance(ref, str) else None
        if account_id is None:
            row.fail("billing_account", ref, "the company has no billing account with this ref")
        return account_id

    def line(self, row: Row, tenant_id: int) -> int | None:
        """The line's id; None for an account-level charge (no line) or a refused one (``row.ok`` False)."""
        written = row.raw.get("line")
        if written is None or written == "":
            return None
        lines = self.company(tenant_id)[1]
        line_id = lines.get(written) if isinstance(written, str) else None
        if line_id is None:
            try:
                number = normalize_phone(written).e164 if isinstance(written, str) else None
            except InvalidIdentifier as exc:
                row.fail("line", written, str(exc))
                return None
            line_id = lines.get(number)
            if line_id is None:
                row.fail("line", written, "the company has no line with this number")
        return line_id


def vat_matches(net_cents: int, rate: Decimal, vat_cents: int) -> bool:
    """Whether ``vat_cents`` is ``rate`` percent of ``net_cents``, to the cent (either rounding)."""
    return abs(Decimal(vat_cents) - Decimal(net_cents) * rate / _HUNDRED) < _CENT


def invoice_row(row: Row, resolve: Resolver, tenant_id: int | None) -> tuple | None:
    """(tenant_id, billing_account_id, number, period_start, period_end, issued_on, due_on, net, vat, total,
    status) of an invoice record, or None if refused."""
    tenant_id = tenant_id if tenant_id is not None else resolve.tenant(row)
    account_id = resolve.account(row, tenant_id) if tenant_id is not None else None
    number = row.raw.get("number")
    if not isinstance(number, str) or not _NUMBER.fullmatch(number):
        row.fail("number", number, "must be 1-40 letters, digits, '/', '.', '_' or '-'")
    start, end = row.day("period_start"), row.day("period_end")
    issued, due = row.day("issued_on"), row.day("due_on")
    net, vat, total = row.cents("net_cents"), row.cents("vat_cents"), row.cents("total_cents")
    status = row.choice("status", INVOICE_STATUSES)
    if start and end and start > end:
        row.fail("period_end", end.isoformat(), "must not be before period_start")
    if issued and due and issued > due:
        row.fail("due_on", due.isoformat(), "must not be before issued_on")
    if None not in (net, vat, total) and net + vat != total:
        row.fail("total_cents", total, f"must be net_cents + vat_cents ({net + vat})")
    if not row.ok:
        return None
    return (tenant_id, account_id, number, start, end, issued, due, net, vat, total, status)


def charge_row(row: Row, resolve: Resolver, tenant_id: int | None, invoice: str | None) -> tuple | None:
    """(tenant_id, invoice number, line_id, concept, description, net, vat_rate, vat, total) of a charge
    record, or None if refused."""
    raw = row.raw
    tenant_id = tenant_id if tenant_id is not None else resolve.tenant(row)
    if invoice is None:
        invoice = raw.get("invoice")
        if not isinstance(invoice, str) or not _NUMBER.fullmatch(invoice):
            row.fail("invoice", invoice, "must be the number of an invoice")
    line_id = resolve.line(row, tenant_id) if tenant_id is not None else None
    concept = raw.get("concept")
    if concept not in CHARGE_CONCEPTS:
        concept = row.choice("concept", CHARGE_CONCEPTS)
    description = row.text("description", 200)
    net, vat, total = row.cents("net_cents"), row.cents("vat_cents"), row.cents("total_cents")
    rate = row.rate("vat_rate")
    if None not in (net, vat, total):
        if net + vat != total:
            row.fail("total_cents", total, f"must be net_cents + vat_cents ({net + vat})")
        if rate is not None and not vat_matches(net, rate, vat):
            row.fail("vat_cents", vat, f"is not {rate} % of net_cents {net} (to the cent)")
        if concept == "discount" and net > 0:
            row.fail("net_cents", net, "a discount cannot be positive")
    if not row.ok:
        return None
    return (tenant_id, invoice, line_id, concept, description, net, rate, vat, total)


def payment_row(row: Row, resolve: Resolver, tenant_id: int | None) -> tuple | None:
    """(tenant_id, billing_account_id, reference, paid_on, amount, method) of a payment record, or None."""
    tenant_id = tenant_id if tenant_id is not None else resolve.tenant(row)
    account_id = resolve.account(row, tenant_id) if tenant_id is not None else None
    reference = row.raw.get("reference")
    if not isinstance(reference, str) or not _NUMBER.fullmatch(reference):
        row.fail("reference", reference, "must be 1-40 letters, digits, '/', '.', '_' or '-'")
    paid_on = row.day("paid_on")
    amount = row.cents("amount_cents")
    if amount is not None and amount <= 0:
        row.fail("amount_cents", amount, "must be more than 0")
    method = row.choice("method", PAYMENT_METHODS)
    if not row.ok:
        return None
    return (tenant_id, account_id, reference, paid_on, amount, method)


CHECKERS: dict[str, Callable] = {"invoices": invoice_row, "charges": charge_row, "payments": payment_row}


class FastCharges:
    """The usual charge record of a CSV file checked in one go, without a ``Row``: a record that passes here
    is exactly one that ``charge_row`` accepts, with the same values; any other goes to ``charge_row``,
    which reports its errors. (The charges are the bulk of an import: this keeps it fast.)"""

    NAMES = ("company", "invoice", "line", "concept", "description", "net_cents", "vat_rate", "vat_cents")

    def __init__(self, resolver: Resolver, header: list[str]) -> None:
        self.resolver = resolver
        # A file without the optional ``line`` column: each record gets an empty one at its end.
        self.pad = "line" not in header
        columns = [*header, "line"] if self.pad else header
        self.pick = itemgetter(*(columns.index(name) for name in (*self.NAMES, "total_cents")))
        self.rates: dict[str, tuple[Decimal, int]] = {}
        self.tenant_id: int | None = None
        self.lines: dict[str, int] = {}

    def _rate(self, written: str) -> tuple[Decimal, int] | None:
        known = self.rates.get(written)
        if known is None and _RATE.fullmatch(written) and len(self.rates) < 1000:
            rate = Decimal(written)
            if rate <= _HUNDRED:
                known = self.rates[written] = (rate, int(rate * 100))
        return known

    def __call__(self, values: list[str]) -> tuple | None:
        if self.pad:
            values = [*values, ""]
        company, invoice, line, concept, description, net, rate, vat, total = self.pick(values)
        fiscal = self.resolver.fiscal_ids.get(company)
        tenant_id = self.resolver.tenants.get(fiscal) if fiscal else None
        if tenant_id is None:
            return None
        if tenant_id != self.tenant_id:
            self.tenant_id, self.lines = tenant_id, self.resolver.company(tenant_id)[1]
        line_id = None
        if line:
            line_id = self.lines.get(line)
            if line_id is None:
                return None
        known_rate = self._rate(rate)
        if (
            known_rate is None
            or concept not in CHARGE_CONCEPTS
            or not _NUMBER.fullmatch(invoice)
            or not (
                0 < len(description) <= 200
                and description.isprintable()
                and description.strip() == description
            )
            or not (_CENTS.fullmatch(net) and _CENTS.fullmatch(vat) and _CENTS.fullmatch(total))
        ):
            return None
        net_cents, vat_cents, total_cents = int(net), int(vat), int(total)
        if (
            net_cents + vat_cents != total_cents
            or abs(vat_cents * 10_000 - net_cents * known_rate[1]) >= 10_000
            or (concept == "discount" and net_cents > 0)
        ):
            return None
        return (
            tenant_id,
            invoice,
            line_id,
            concept,
            description,
            net_cents,
            known_rate[0],
            vat_cents,
            total_cents,
        )

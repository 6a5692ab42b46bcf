"""Invoices as files: the PDF of an invoice built from the database and cached in the instance folder under a
hash of what it shows, and several invoices' PDFs in one ZIP, streamed as it is written.

A cached PDF is used while the invoice, its charges' totals, the customer's billing data and the language are
those it was made from; a change of any of them makes a new file (the old one is removed).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mgd.billing.models import CHARGE_CONCEPTS, Invoice, InvoiceLineTotal, InvoiceVatTotal
from mgd.billing.names import CONCEPTS, masked_iban
from mgd.billing.pdf import InvoiceDocument, LineSummary, Party, VatRate, render_invoice
from mgd.db import set_tenant
from mgd.identifiers import format_phone
from mgd.tenants.models import BillingAccount, Company, Line

RENDERER = "2"  # part of the cache key: bump it when the layout changes


def _document(session: Session, company: Company, invoice: Invoice) -> tuple[InvoiceDocument, str]:
    """The first page's data and a fingerprint of everything the PDF shows (without reading every charge)."""
    set_tenant(session, company.id)
    sums = session.execute(  # the invoice's summary by concept and rate: a handful of rows
        select(
            InvoiceVatTotal.id,
            InvoiceVatTotal.concept,
            InvoiceVatTotal.vat_rate,
            InvoiceVatTotal.net_cents,
            InvoiceVatTotal.vat_cents,
        ).where(InvoiceVatTotal.invoice_id == invoice.id)
    ).all()
    by_concept: dict[str, int] = {}
    by_rate: dict[Decimal, list[int]] = {}
    for _id, concept, rate, net, vat in sums:
        by_concept[concept] = by_concept.get(concept, 0) + int(net)
        found = by_rate.setdefault(rate, [0, 0])
        found[0] += int(net)
        found[1] += int(vat)
    rates = sorted((rate, base, tax) for rate, (base, tax) in by_rate.items())
    # Any change of the summary by line deletes rows or inserts rows stamped with the refresh that wrote them
    # (billing.summaries): their count and latest stamp say so.
    stamp = func.max(InvoiceLineTotal.written)
    lines = session.execute(
        select(func.count(), stamp).where(InvoiceLineTotal.invoice_id == invoice.id)
    ).one()
    account = session.get(BillingAccount, invoice.billing_account_id)
    address = tuple(
        part
        for part in (
            account.billing_address,
            " ".join(p for p in (account.billing_postcode, account.billing_city) if p),
            account.billing_province,
        )
        if part
    )
    config = current_app.config
    payment = _("Paid by direct debit from %(iban)s", iban=masked_iban(account.iban))
    if account.mandate_reference:
        payment += " · " + _("mandate %(reference)s", reference=account.mandate_reference)
    document = InvoiceDocument(
        number=invoice.number,
        billing_account=account.ref,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        operator=Party(config["OPERATOR_NAME"], config["OPERATOR_TAX_ID"], (config["OPERATOR_ADDRESS"],)),
        customer=Party(company.name, company.fiscal_id, address),
        net=invoice.net_cents,
        vat=invoice.vat_cents,
        total=invoice.total_cents,
        vat_rates=tuple(VatRate(rate, int(base), int(tax)) for rate, base, tax in rates),
        concepts=tuple((str(CONCEPTS[c]), int(by_concept.get(c) or 0)) for c in CHARGE_CONCEPTS),
        payment=payment,
    )
    fingerprint = hashlib.sha256(
        repr(
            (RENDERER, document, tuple(lines), tuple(sums), invoice.status, str(invoice.updated_at))
        ).encode()
    ).hexdigest()[:20]
    return document, fingerprint


def line_summaries(session: Session, invoice: Invoice) -> Iterator[LineSummary]:
    """One row per line of the invoice (the account's own charges first), amounts by concept, in line-number
    order: read in one pass over the invoice's summary by line (a few rows per line) and streamed, so memory
    stays flat whatever the number of lines."""
    by_concept = [getattr(InvoiceLineTotal, f"{concept}_cents") for concept in CHARGE_CONCEPTS]
    query = (
        select(InvoiceLineTotal.line_id, Line.number, Line.alias, Line.cost_centre, *by_concept)
        .select_from(InvoiceLineTotal)
        .outerjoin(Line, Line.id == InvoiceLineTotal.line_id)
        .where(InvoiceLineTotal.invoice_id == invoice.id)
        .order_by(Line.number.is_not(None), Line.number)
        .execution_options(yield_per=5000)
    )
    current, shown, label, amounts = None, "", "", [0] * len(CHARGE_CONCEPTS)
    for line_id, number, alias, cost_centre, *cents in session.execute(query):  # a row per line and VAT rate
        key = (line_id, number)
        if key != current:
            if current is not None:
                yield LineSummary(shown, label, tuple(amounts), sum(amounts))
            current, amounts = key, [0] * len(CHARGE_CONCEPTS)
            shown = format_phone(number) if number else _("Account")
            label = (
                " · ".join(p for p in (alias, cost_centre) if p) if number else _("Charges of the account")
            )
        for index, value in enumerate(cents):
            amounts[index] += int(value)
    if current is not None:
        yield LineSummary(shown, label, tuple(amounts), sum(amounts))


def invoice_pdf(session: Session, company: Company, invoice: Invoice, locale: str) -> Path:
    """The invoice's PDF in the cache (made now if missing or out of date); read it, never change it."""
    document, fingerprint = _document(session, company, invoice)
    folder = Path(current_app.instance_path) / "invoices" / str(company.id)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{invoice.id}-{locale}-"
    path = folder / f"{stem}{fingerprint}.pdf"
    if path.exists():
        return path
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            render_invoice(out, document, line_summaries(session, invoice), locale)
        os.replace(temporary, path)  # whole or not at all, also for a request reading it at the same time
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    for old in folder.glob(f"{stem}*.pdf"):
        if old != path:
            old.unlink(missing_ok=True)
    return path


def pdf_name(invoice: Invoice) -> str:
    """The file name a person sees: ``factura-F2026-000123.pdf`` (only letters, digits and dashes)."""
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch == "-") else "-" for ch in invoice.number)
    return f"factura-{safe}.pdf"


class _Chunks:
    """A write-only stream whose bytes are taken out as chunks: ``zipfile`` writes to it, we yield them."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.written = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.written += len(data)
        return len(data)

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def zip_stream(files: Iterable[tuple[str, Path]], chunk: int = 1 << 16) -> Iterator[bytes]:
    """A ZIP of ``(name, path)`` files, yielded as it is written: memory holds one chunk, not the archive."""
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:  # type: ignore[arg-type]
        for name, path in files:
            with path.open("rb") as source, archive.open(name, "w", force_zip64=True) as target:
                while data := source.read(chunk):
                    target.write(data)
                    yield sink.take()
            yield sink.take()
    yield sink.take()

"""An invoice as a PDF (ReportLab, the Bitstream Vera fonts it installs, embedded): operator and customer,
the invoice's dates and totals, totals by concept, the VAT breakdown, then one summary row per line.

The rows come from an iterator and are drawn page by page straight onto the canvas (no layout engine holding
every row), so a 10,000-line invoice takes well under two seconds (``tests/billing/test_pdf.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from typing import BinaryIO

import reportlab
from flask_babel import format_date
from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from mgd.billing.money import euros

REGULAR, BOLD = "MGD-Vera", "MGD-Vera-Bold"
WIDTH, HEIGHT = A4
MARGIN = 40
ROW = 11  # points per summary row
SIZE = 8  # font size of the rows


@dataclass(frozen=True)
class Party:
    """Who issues or receives the invoice, as printed on it."""

    name: str
    fiscal_id: str
    address: tuple[str, ...] = ()


@dataclass(frozen=True)
class VatRate:
    """One line of the VAT breakdown: the rate in percent, its taxable base and its tax, in cents."""

    rate: Decimal
    base: int
    tax: int


@dataclass(frozen=True)
class InvoiceDocument:
    """What the first page of an invoice shows; amounts in cents. ``concepts`` are the invoice's totals by
    concept, in the order of the summary's columns (labels already translated)."""

    number: str
    billing_account: str
    period_start: date
    period_end: date
    issued_on: date
    due_on: date
    operator: Party
    customer: Party
    net: int
    vat: int
    total: int
    vat_rates: tuple[VatRate, ...]
    concepts: tuple[tuple[str, int], ...]
    payment: str = ""
    status: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class LineSummary:
    """A line's row of the per-line summary: amounts by concept (the columns of ``concepts``) and total."""

    number: str
    label: str  # alias and cost centre, as the company named them
    amounts: tuple[int, ...]
    total: int


@cache
def _fonts() -> None:
    """Register ReportLab's own copy of Bitstream Vera (Latin-1 and €): nothing to install on the system."""
    folder = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    pdfmetrics.registerFont(TTFont(REGULAR, os.path.join(folder, "Vera.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, os.path.join(folder, "VeraBd.ttf")))


class _Writer:
    """The canvas and where the next row goes; a new page (with its running head) when a page is full."""

    def __init__(self, out: BinaryIO, document: InvoiceDocument, locale: str) -> None:
        _fonts()
        self.canvas = Canvas(
            out, pagesize=A4, pageCompression=1, invariant=1, initialFontName=REGULAR, initialFontSize=SIZE
        )  # no Helvetica: every font of the file is embedded
        self.canvas.setTitle(_("Invoice %(number)s", number=document.number))
        self.canvas.setAuthor(document.operator.name)
        self.document, self.locale = document, locale
        self.page = 1
        self.y = HEIGHT - MARGIN
        self._widths: dict[tuple[str, int, str], float] = {}

    def money(self, cents: int) -> str:
        return euros(cents, self.locale)

    def width(self, text: str, font: str, size: int) -> float:
        """String widths, remembered: amounts repeat, and ReportLab measures them character by character."""
        key = (font, size, text)
        found = self._widths.get(key)
        if found is None:
            found = self._widths[key] = pdfmetrics.stringWidth(text, font, size)
            if len(self._widths) > 50_000:  # flat memory on huge invoices
                self._widths.clear()
        return found

    def text(self, x: float, text: str, *, size: int = SIZE, bold: bool = False, right: bool = False) -> None:
        font = BOLD if bold else REGULAR
        self.canvas.setFont(font, size)
        if right:
            x -= self.width(text, font, size)
        self.canvas.drawString(x, self.y, text)

    def down(self, points: float) -> None:
        self.y -= points

    def room(self, points: float, columns: Columns | None = None) -> None:
        """Start a new page unless ``points`` still fit above the footer; repeat the table head there."""
        if self.y - points >= MARGIN + 20:
            return
        self.footer()
        self.canvas.showPage()
        self.page += 1
        self.y = HEIGHT - MARGIN
        self.text(MARGIN, _("Invoice %(number)s", number=self.document.number), size=9, bold=True)
        self.text(WIDTH - MARGIN, self.document.customer.name[:60], size=9, right=True)
        self.down(20)
        if columns is not None:
            columns.head(self)

    def footer(self) -> None:
        self.canvas.setFont(REGULAR, 7)
        self.canvas.drawRightString(WIDTH - MARGIN, MARGIN - 10, _("Page %(page)s", page=self.page))
        self.canvas.drawString(
            MARGIN, MARGIN - 10, f"{self.document.operator.name} · {self.document.operator.fiscal_id}"
        )

    def rule(self) -> None:
        self.canvas.setLineWidth(0.5)
        self.canvas.line(MARGIN, self.y - 3, WIDTH - MARGIN, self.y - 3)


@dataclass(frozen=True)
class Columns:
    """The per-line summary's columns: number, label, one per concept, total (right-aligned amounts)."""

    concepts: tuple[str, ...]

    @property
    def amount_edges(self) -> list[float]:
        """The right edge of each amount column (concepts, then the total)."""
        count = len(self.concepts) + 1
        step = (WIDTH - 2 * MARGIN - 180) / count
        return [MARGIN + 180 + step * (n + 1) for n in range(count)]

    def head(self, writer: _Writer) -> None:
        writer.text(MARGIN, _("Line"), bold=True)
        writer.text(MARGIN + 70, _("Alias / cost centre"), bold=True)
        for edge, label in zip(self.amount_edges, (*self.concepts, _("Total")), strict=True):
            writer.text(edge, label[:14], bold=True, right=True)
        writer.rule()
        writer.down(ROW + 2)


def render_invoice(
    out: BinaryIO, document: InvoiceDocument, lines: Iterable[LineSummary], locale: str
) -> int:
    """Write the invoice's PDF to ``out``; ``lines`` is read once, in order. Returns how many lines it holds.

    Call it inside a request or app context: its texts are in the current language, its dates and amounts are
    formatted for ``locale``.
    """
    writer = _Writer(out, document, locale)
    _first_page(writer, document)
    columns = Columns(tuple(label for label, _cents in document.concepts))
    writer.room(60)
    writer.text(MARGIN, _("Summary by line"), size=11, bold=True)
    writer.down(18)
    columns.head(writer)
    edges = columns.amount_edges
    count = summed = 0
    canvas, money, width = writer.canvas, writer.money, writer.width
    for line in lines:
        writer.room(ROW, columns)
        y = writer.y
        row = canvas.beginText()  # one text object per row; textLine, unlike textOut, measures nothing
        row.setFont(REGULAR, SIZE)
        row.setTextOrigin(MARGIN, y)
        row.textLine(line.number)
        if line.label:
            row.setTextOrigin(MARGIN + 70, y)
            row.textLine(line.label[:28])
        for edge, cents in zip(edges, (*line.amounts, line.total), strict=True):
            shown = money(cents)
            row.setTextOrigin(round(edge - width(shown, REGULAR, SIZE), 1), y)
            row.textLine(shown)
        canvas.drawText(row)
        writer.down(ROW)
        count += 1
        summed += line.total
    if count == 0:
        writer.text(MARGIN, _("This invoice has no charges by line."))
        writer.down(ROW)
    writer.room(ROW * 2)
    writer.rule()
    writer.down(ROW + 2)
    writer.text(MARGIN, _("Total of the lines"), bold=True)
    writer.text(edges[-1], money(summed), bold=True, right=True)
    writer.footer()
    writer.canvas.save()
    return count


def _first_page(writer: _Writer, document: InvoiceDocument) -> None:
    locale = writer.locale
    writer.text(MARGIN, document.operator.name, size=14, bold=True)
    writer.text(WIDTH - MARGIN, _("Invoice"), size=18, bold=True, right=True)
    writer.down(14)
    top = writer.y
    for text in (_("Tax ID: %(id)s", id=document.operator.fiscal_id), *document.operator.address):
        writer.text(MARGIN, text)
        writer.down(10)
    writer.y = top
    for label, value in (
        (_("Number"), document.number),
        (_("Issued on"), format_date(document.issued_on, "short")),
        (_("Due on"), format_date(document.due_on, "short")),
        (
            _("Period"),
            f"{format_date(document.period_start, 'short')} – {format_date(document.period_end, 'short')}",
        ),
        (_("Billing account"), document.billing_account),
    ):
        writer.text(WIDTH - MARGIN - 110, label, right=True)
        writer.text(WIDTH - MARGIN, value, bold=True, right=True)
        writer.down(10)
    writer.down(16)
    writer.text(MARGIN, _("Customer"), size=9, bold=True)
    writer.down(12)
    for text in (
        document.customer.name,
        _("Tax ID: %(id)s", id=document.customer.fiscal_id),
        *document.customer.address,
    ):
        writer.text(MARGIN, text[:90], size=9)
        writer.down(11)
    writer.down(12)

    writer.text(MARGIN, _("Charges by concept"), size=11, bold=True)
    writer.down(16)
    right = WIDTH - MARGIN
    for label, cents in document.concepts:
        writer.text(MARGIN, label, size=9)
        writer.text(right, euros(cents, locale), size=9, right=True)
        writer.down(12)
    writer.rule()
    writer.down(14)
    writer.text(MARGIN, _("Taxable amount"), size=9, bold=True)
    writer.text(right, euros(document.net, locale), size=9, bold=True, right=True)
    writer.down(20)

    writer.text(MARGIN, _("VAT breakdown"), size=11, bold=True)
    writer.down(16)
    for x, label in ((MARGIN, _("Rate")), (right - 160, _("Taxable amount")), (right, _("VAT"))):
        writer.text(x, label, size=9, bold=True, right=x != MARGIN)
    writer.rule()
    writer.down(14)
    for rate in document.vat_rates:
        writer.text(MARGIN, f"{rate.rate.normalize():f} %", size=9)
        writer.text(right - 160, euros(rate.base, locale), size=9, right=True)
        writer.text(right, euros(rate.tax, locale), size=9, right=True)
        writer.down(12)
    writer.down(8)
    for label, cents, size in (
        (_("Taxable amount"), document.net, 9),
        (_("VAT"), document.vat, 9),
        (_("Total to pay"), document.total, 12),
    ):
        writer.text(right - 160, label, size=size, bold=size > 9, right=True)
        writer.text(right, euros(cents, locale), size=size, bold=size > 9, right=True)
        writer.down(size + 6)
    if document.payment:
        writer.text(MARGIN, document.payment[:110], size=9)
        writer.down(12)
    for note in document.notes:
        writer.text(MARGIN, note[:110], size=8)
        writer.down(10)
    writer.down(14)

"""The invoice PDF renderer on its own: text read back, fonts embedded, a 10,000-line invoice in under two
seconds from an iterator; and the SVG chart and amounts formatting it shares with the pages."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from pypdf import PdfReader

from mgd.billing.charts import stacked_bars, top_series
from mgd.billing.money import decimal_comma, euros
from mgd.billing.pdf import InvoiceDocument, LineSummary, Party, VatRate, render_invoice

DOCUMENT = InvoiceDocument(
    number="F-2026-0001",
    billing_account="BA-1",
    period_start=date(2026, 10, 1),
    period_end=date(2026, 10, 31),
    issued_on=date(2026, 11, 3),
    due_on=date(2026, 11, 23),
    operator=Party("Operadora Ñandú, S.A.", "A28000032", ("Calle Mayor 1, 28013 Madrid",)),
    customer=Party("Peñalara Consultores, S.L.", "B12345674", ("Avenida Diagonal 1", "08001 Barcelona")),
    net=1_000_000,
    vat=210_000,
    total=1_210_000,
    vat_rates=(VatRate(Decimal("21.00"), 1_000_000, 210_000),),
    concepts=(
        ("Cuotas", 900_000),
        ("Consumo", 150_000),
        ("Puntuales", 0),
        ("Descuentos", -50_000),
        ("Otros", 0),
    ),
    payment="Domiciliación en ES91 •••• 1332",
)


def lines(count: int):
    for n in range(count):
        yield LineSummary(
            f"612 {n:06d}", f"Alias {n} · Ventas", (8_000, 2_000 + n % 7, 0, -500, 0), 9_500 + n % 7
        )


def test_the_text_of_the_pdf_is_what_it_was_given(app):
    out = io.BytesIO()
    with app.test_request_context(headers={"Accept-Language": "es"}):
        assert render_invoice(out, DOCUMENT, lines(120), "es") == 120
    reader = PdfReader(io.BytesIO(out.getvalue()))
    content = "\n".join(page.extract_text() for page in reader.pages)
    for expected in (
        "Operadora Ñandú, S.A.",
        "Peñalara Consultores, S.L.",
        "F-2026-0001",
        "12.100,00 €",  # the total to pay
        "-500,00 €",
        "612 000000",
        "612 000119",
        "Desglose del IVA",
        "Página 2",
    ):
        assert expected in content, expected
    fonts = {font for page in reader.pages for font in page["/Resources"]["/Font"].values()}
    assert fonts and all("/FontFile2" in font["/FontDescriptor"] for font in _descendants(fonts))


def _descendants(fonts):
    for reference in fonts:
        font = reference.get_object()
        for child in font.get("/DescendantFonts", [font]):
            yield child.get_object()


def test_a_ten_thousand_line_invoice_is_drawn_whole(app):
    """Every row on its pages; how long it takes is measured in bench/billing_pages.py, not here (a timed test
    fails whenever the shared machine is busy)."""
    out = io.BytesIO()
    with app.test_request_context():
        assert render_invoice(out, DOCUMENT, lines(10_000), "en") == 10_000
    assert len(PdfReader(io.BytesIO(out.getvalue())).pages) > 100


def test_reportlab_draws_with_its_c_accelerator():
    """``reportlab[accel]`` (pyproject.toml): without rl_accel ReportLab falls back to pure Python for every
    number and stream it writes, a third slower on a 10,000-line invoice (bench/README.md)."""
    from reportlab.lib import rl_accel  # noqa: PLC0415

    assert {"fp_str", "escapePDF", "asciiBase85Encode"} <= set(rl_accel._c_funcs)


def test_amounts_read_as_in_each_language():
    assert euros(123456789, "es") == "1.234.567,89\u00a0€" and euros(123456, "es") == "1234,56\u00a0€"
    assert euros(-5, "es") == "-0,05\u00a0€" and euros(123456789, "en") == "€1,234,567.89"
    assert decimal_comma(-123456) == "-1234,56"


def test_the_chart_escapes_names_and_keeps_the_biggest_series():
    series = {f"<b>{n}</b>": [n * 100, n * 200] for n in range(1, 10)} | {None: [50, 50]}
    shown = top_series(series, keep=3, unnamed="None", rest="Rest")
    assert [s.name for s in shown] == ["<b>9</b>", "<b>8</b>", "<b>7</b>", "Rest"]
    assert shown[-1].values == [sum(range(1, 7)) * 100 + 50, sum(range(1, 7)) * 200 + 50]
    svg = str(stacked_bars("Title & co", ["oct 26", "nov 26"], shown, lambda cents: f"{cents / 100:.2f}"))
    assert svg.startswith("<svg") and "<b>" not in svg and "&lt;b&gt;9&lt;/b&gt;" in svg
    assert "Title &amp; co" in svg and svg.count("<rect") >= 8 and "<script" not in svg

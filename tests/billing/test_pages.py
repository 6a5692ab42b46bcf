"""The billing pages as members see them: who may open them, invoices and their detail, the PDF (its text read
back with pypdf), a ZIP of several, resending by email, the account statement and its Excel and CSV, spend,
the company's home card, in Spanish and English."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from mgd.billing import services
from mgd.billing.models import Invoice
from mgd.db import get_session, operator_scope
from mgd.identifiers import format_phone
from mgd.tenants.models import BillingAccount
from tests.accounts import add_invoices, add_member, update_user, user_id_of
from tests.kit import audit, browser, confirm, outbox, signed_in_client, speak, text


@pytest.fixture
def billed(app, acme):
    """Acme with three invoices (August and September paid, October overdue) and Bea, its billing person."""
    add_member(app, acme, "bea@acme.es", "billing")
    add_invoices(app, acme)
    return acme


def base(company) -> str:
    return f"/empresa/{company.ref}/facturacion"


def invoice_row(app, invoice_id: int) -> Invoice:
    with app.app_context():
        session = get_session()
        with operator_scope(session, "test"):
            return session.scalar(select(Invoice).where(Invoice.id == invoice_id))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


PAGES = ("/facturas", "/facturas/{invoice}", "/facturas/{invoice}/factura.pdf", "/extracto", "/gasto")
PAGES += ("/extracto.csv", "/extracto.xlsx", "/facturas/facturas.zip?invoice={invoice}")


def test_the_billing_role_and_admins_see_billing_and_viewers_and_managers_get_403(app, billed):
    invoice = billed.invoices[0]
    for email, allowed in (("ana@acme.es", True), ("bea@acme.es", True), ("carla@acme.es", False)):
        client = signed_in_client(app, email)
        for page in PAGES:
            response = client.get(base(billed) + page.format(invoice=invoice))
            response.close()  # a streamed export holds its request context until closed
            assert response.status_code == (200 if allowed else 403), (email, page, response.status_code)
        home = text(client.get(f"/empresa/{billed.ref}"))
        assert ("Balance and invoices" in home) is allowed
        assert (f"{base(billed)}/facturas" in home) is allowed  # the tab and the frequent access
    bob = signed_in_client(app, "bob@acme.es")
    assert bob.get(base(billed) + "/facturas").status_code == 403


def test_settings_are_for_administrators_only(app, billed):
    bea = signed_in_client(app, "bea@acme.es")
    for page in ("/ajustes", f"/ajustes/{billed.account}/envio", f"/ajustes/{billed.account}/direccion"):
        assert bea.get(base(billed) + page).status_code == 403
    assert "Billing settings" not in text(bea.get(base(billed) + "/facturas"))
    ana = signed_in_client(app, "ana@acme.es")
    assert ana.get(base(billed) + "/ajustes").status_code == 200


def test_a_member_limited_to_a_line_sees_only_its_charges_and_no_pdf(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    confirm(
        ana,
        f"/empresa/{billed.ref}/usuarios/{billed.members['bea@acme.es']}/limit",
        {"numbers": format_phone(billed.numbers[0]), "cost_centres": ""},
    )
    bea = signed_in_client(app, "bea@acme.es")
    page = text(bea.get(f"{base(billed)}/facturas/{billed.invoices[0]}"))
    assert format_phone(billed.numbers[0]) in page
    assert format_phone(billed.numbers[1]) not in page and format_phone(billed.numbers[2]) not in page
    assert "Charges of the account" not in page and "only the charges of your lines" in page
    assert bea.get(f"{base(billed)}/facturas/{billed.invoices[0]}/factura.pdf").status_code == 403
    assert bea.get(f"{base(billed)}/facturas/facturas.zip?invoice={billed.invoices[0]}").status_code == 403
    full = text(ana.get(f"{base(billed)}/facturas/{billed.invoices[0]}"))
    assert all(format_phone(number) in full for number in billed.numbers)


def test_the_invoice_list_filters_and_pages_by_keyset(app, billed):
    add_invoices(app, billed, months=tuple(range(1, 8)) * 4)  # 28 more: two pages of 25
    ana = signed_in_client(app, "ana@acme.es")
    first = text(ana.get(base(billed) + "/facturas"))
    assert first.count('name="invoice"') == 25 and "Older invoices" in first
    after = first.split("after=")[1].split('"')[0].replace("&amp;", "&")
    second = text(ana.get(base(billed) + f"/facturas?after={after}"))
    assert (
        second.count('name="invoice"') == 6 and "Older invoices" not in second and "Newest invoices" in second
    )
    overdue = text(ana.get(base(billed) + "/facturas?status=overdue&from=2026-09&to=2026-09"))
    assert overdue.count('name="invoice"') == 1 and invoice_row(app, billed.invoices[2]).number in overdue
    nothing = text(ana.get(base(billed) + "/facturas?from=2027-01"))
    assert "No invoice matches these filters." in nothing


def test_the_detail_groups_charges_by_line_and_concept_and_adds_up(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    invoice = invoice_row(app, billed.invoices[0])
    page = text(ana.get(f"{base(billed)}/facturas/{invoice.id}"))
    assert "Charges of the account" in page and "Fees" in page and "Usage" in page and "Discounts" in page
    positions = [page.index(format_phone(number)) for number in sorted(billed.numbers)]
    assert positions == sorted(positions)
    # 1000 + 2000 + 2100 + 2200 + 350 - 500 = 7150 net, 21 % VAT
    assert invoice.net_cents == 7150 and invoice.total_cents == invoice.net_cents + invoice.vat_cents
    assert "€71.50" in page and f"€{invoice.total_cents / 100:.2f}" in page and "21 %" in page


def test_the_detail_of_a_long_invoice_is_shown_a_page_of_lines_at_a_time(app, billed, monkeypatch):
    *firsts, last = (format_phone(number) for number in sorted(billed.numbers))
    monkeypatch.setattr(services, "DETAIL_LINES", len(firsts))
    ana = signed_in_client(app, "ana@acme.es")
    invoice = invoice_row(app, billed.invoices[0])
    first = text(ana.get(f"{base(billed)}/facturas/{invoice.id}"))
    assert "Charges of the account" in first and all(n in first for n in firsts) and last not in first
    assert "Next lines" in first and "First lines" not in first and "21 %" in first
    after = re.search(r'href="([^"]+after=[^"]+)">Next lines', first).group(1).replace("&amp;", "&")
    second = text(ana.get(after))
    assert last in second and not any(n in second for n in firsts) and "Charges of the account" not in second
    assert "First lines" in second and "Next lines" not in second and "21 %" in second


def test_the_pdf_has_operator_customer_vat_and_every_line_and_is_cached(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    url = f"{base(billed)}/facturas/{billed.invoices[0]}/factura.pdf"
    response = ana.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    invoice = invoice_row(app, billed.invoices[0])
    assert f"factura-{invoice.number}.pdf" in response.headers["Content-Disposition"]
    content = pdf_text(response.data)
    for expected in (
        invoice.number,
        "Acme S.L.",
        app.config["OPERATOR_NAME"],
        app.config["OPERATOR_TAX_ID"],
        "VAT breakdown",
        "21 %",
        "€71.50",
        f"€{invoice.total_cents / 100:.2f}",
        "Summary by line",
        "Charges of the account",
        *(format_phone(number) for number in billed.numbers),
    ):
        assert expected in content, expected
    assert b"/FontFile2" in response.data  # the TrueType font is embedded
    folder = app.instance_path + f"/invoices/{billed.id}"
    import os  # noqa: PLC0415

    made = sorted(os.listdir(folder))
    assert ana.get(url).data == response.data and sorted(os.listdir(folder)) == made


def test_the_pdf_in_spanish(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    speak(ana, "es")
    content = pdf_text(ana.get(f"{base(billed)}/facturas/{billed.invoices[0]}/factura.pdf").data)
    assert "Desglose del IVA" in content and "71,50 €" in content and "Resumen por línea" in content


def test_several_invoices_in_one_zip(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    query = "&".join(f"invoice={invoice}" for invoice in billed.invoices[:2])
    response = ana.get(f"{base(billed)}/facturas/facturas.zip?{query}")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = [invoice_row(app, invoice).number for invoice in billed.invoices[:2]]
    assert sorted(archive.namelist()) == sorted(f"factura-{name}.pdf" for name in names)
    for member, name in zip(sorted(archive.namelist()), sorted(names), strict=True):
        assert name in pdf_text(archive.read(member))
    assert ana.get(f"{base(billed)}/facturas/facturas.zip").status_code == 400
    assert ana.get(f"{base(billed)}/facturas/facturas.zip?invoice=x").status_code == 400


def test_an_invoice_is_resent_by_email_with_a_link_to_its_page(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    invoice = invoice_row(app, billed.invoices[1])
    page = f"{base(billed)}/facturas/{invoice.id}"
    response = ana.post(
        f"{page}/enviar", data={"to": "ana@acme.es", "csrf_token": _token(ana, page)}, follow_redirects=True
    )
    assert "Invoice sent to ana@acme.es." in text(response)
    mail = [m for m in outbox(app) if m.recipient == "ana@acme.es" and invoice.number in m.subject][-1]
    assert page in mail.body_text and "PDF" in mail.body_text
    assert audit(app, "billing.invoice_resent")[-1].detail["invoice"] == invoice.number
    refused = ana.post(f"{page}/enviar", data={"to": "someone@else.es", "csrf_token": _token(ana, page)})
    assert refused.status_code == 422 and 'id="to-error"' in text(refused)


def test_a_resent_invoice_is_in_its_recipients_language(app, billed):
    """The portal's user with the address: their language; an address of no user: the sender's."""
    add_member(app, billed, "dani@acme.es", "billing")
    update_user(app, user_id_of(app, "dani@acme.es"), locale="en")
    with app.app_context():
        session = get_session()
        with operator_scope(session, "test"):
            account = session.get(BillingAccount, billed.account)
            account.invoice_delivery, account.einvoice_emails = "email", "dani@acme.es conta@acme.es"
        session.commit()
    ana = speak(signed_in_client(app, "ana@acme.es"), "es")
    invoice = invoice_row(app, billed.invoices[1])
    page = f"{base(billed)}/facturas/{invoice.id}"
    for to in ("dani@acme.es", "conta@acme.es"):
        sent = ana.post(f"{page}/enviar", data={"to": to, "csrf_token": _token(ana, page)})
        assert sent.status_code == 302
    total = invoice.total_cents
    english = [m for m in outbox(app) if m.recipient == "dani@acme.es"][-1]
    assert english.subject.startswith(f"Invoice {invoice.number} of ")
    assert (
        f"€{total // 100:,}.{total % 100:02d}" in english.body_text
        and "download its PDF" in english.body_text
    )
    spanish = [m for m in outbox(app) if m.recipient == "conta@acme.es"][-1]
    assert spanish.subject.startswith(f"Factura {invoice.number} de ")
    assert f"{total // 100},{total % 100:02d}" in spanish.body_text and "Hola" in spanish.body_text


def _token(client, page) -> str:
    from tests.live import CSRF  # noqa: PLC0415

    return CSRF.search(text(client.get(page))).group(1)


def test_the_statement_has_a_running_balance(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    page = text(ana.get(f"{base(billed)}/extracto?from=2026-08-01&to=2026-10-31"))
    total = invoice_row(app, billed.invoices[0]).total_cents
    euro = f"€{total / 100:.2f}"
    assert page.count("Invoice FV") == 3 and page.count("Payment PAY-") == 2
    assert "Opening balance" in page and page.count(euro) >= 6 and "€0.00" in page
    empty = text(ana.get(f"{base(billed)}/extracto?from=2025-01-01&to=2025-02-01"))
    assert "No invoice or payment in these dates." in empty


def test_the_statement_in_excel_has_spanish_headers_dates_and_euros(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    speak(ana, "es")
    response = ana.get(f"{base(billed)}/extracto.xlsx?from=2026-08-01&to=2026-10-31")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Fecha", "Tipo", "Documento", "Cuenta de facturación", "Cargos", "Abonos", "Saldo")
    assert rows[1][1] == "Saldo inicial" and rows[1][6] == 0
    first = rows[2]
    total = invoice_row(app, billed.invoices[0]).total_cents
    assert isinstance(first[0], datetime) and first[0].date().isoformat() == "2026-08-05"
    assert (
        first[1] == "Factura"
        and first[4] == pytest.approx(total / 100)
        and first[6] == pytest.approx(total / 100)
    )
    assert rows[3][1] == "Pago" and rows[3][5] == pytest.approx(total / 100) and rows[3][6] == 0
    assert len(rows) == 7
    cell = sheet.cell(row=3, column=5)
    assert "€" in cell.number_format and sheet.cell(row=3, column=1).is_date


def test_the_statement_csv_uses_semicolons_and_decimal_commas_in_spanish(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    total = invoice_row(app, billed.invoices[0]).total_cents
    speak(ana, "es")
    spanish = text(ana.get(f"{base(billed)}/extracto.csv?from=2026-08-01&to=2026-10-31")).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(spanish), delimiter=";"))
    assert rows[0][0] == "Fecha" and rows[2][:3] == [
        "05/08/2026",
        "Factura",
        invoice_row(app, billed.invoices[0]).number,
    ]
    assert rows[2][4] == f"{total // 100},{total % 100:02d}" and rows[3][6] == "0,00"
    speak(ana, "en")
    english = text(ana.get(f"{base(billed)}/extracto.csv?from=2026-08-01&to=2026-10-31")).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(english)))
    assert rows[0][0] == "Date" and rows[2][0] == "2026-08-05" and rows[2][4] == f"{total / 100:.2f}"


def test_the_statement_csv_honours_the_separator_asked_for(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    total = invoice_row(app, billed.invoices[0]).total_cents
    url = f"{base(billed)}/extracto.csv?from=2026-08-01&to=2026-10-31"
    speak(ana, "es")
    # Commas between values: the amounts take a decimal point (a decimal comma would split them).
    rows = list(csv.reader(io.StringIO(text(ana.get(url + "&sep=comma")).lstrip("\ufeff"))))
    assert rows[0][0] == "Fecha" and rows[2][0] == "05/08/2026" and rows[2][4] == f"{total / 100:.2f}"
    rows = list(
        csv.reader(io.StringIO(text(ana.get(url + "&sep=semicolon")).lstrip("\ufeff")), delimiter=";")
    )
    assert rows[2][4] == f"{total // 100},{total % 100:02d}"
    speak(ana, "en")
    rows = list(
        csv.reader(io.StringIO(text(ana.get(url + "&sep=semicolon")).lstrip("\ufeff")), delimiter=";")
    )
    assert rows[0][0] == "Date" and rows[2][0] == "2026-08-05" and rows[2][4] == f"{total / 100:.2f}"
    refused = ana.get(url + "&sep=tab")
    assert refused.status_code == 400 and "sep=comma" in text(refused)


def test_spend_is_an_svg_chart_without_scripts_and_the_top_lines(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    page = text(ana.get(f"{base(billed)}/gasto"))
    chart = page[page.index("<svg") : page.index("</svg>")]
    assert 'role="img"' in chart and "<script" not in chart
    # The page's only script is the portal's own file: nothing external draws the chart.
    assert re.findall(r"<script[^>]*>", page) == [
        re.search(r'<script src="/static/js/mgd\.js[^"]*" defer>', page)[0]
    ]
    assert "No cost centre" in page
    assert all(format_phone(number) in page for number in billed.numbers)


def test_the_home_card_shows_balance_overdue_last_invoice_and_payments(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    home = text(ana.get(f"/empresa/{billed.ref}"))
    last = invoice_row(app, billed.invoices[2])
    owed = f"€{last.total_cents / 100:.2f}"  # the two paid invoices are paid: the balance is the overdue one
    card = home.split('id="billing-card"')[1].split("</section>")[0]
    assert card.count(owed) == 5  # balance, overdue, last invoice and the two payments (same amounts)
    assert last.number in card and "due on 25 Oct 2026" in card and "Overdue" in card  # en-GB: day first
    assert card.count("Direct debit") == 2 and card.index("25 Sept 2026") < card.index("25 Aug 2026")


def test_empty_states(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    assert "No invoice has been issued yet." in text(ana.get(f"/empresa/{acme.ref}"))
    assert "No invoice has been issued yet." in text(ana.get(base(acme) + "/facturas"))
    assert "There is no spend to show yet" in text(ana.get(base(acme) + "/gasto"))


def test_the_pages_speak_spanish(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    speak(ana, "es")
    home = text(ana.get(f"/empresa/{billed.ref}"))
    assert "Saldo y facturas" in home and "Importe vencido" in home and "Saldo pospago" in home
    invoices = text(ana.get(base(billed) + "/facturas"))
    assert "Facturas" in invoices and "Vencida" in invoices and "Cuenta de facturación" in invoices
    rows = invoices.split("<tbody>")[1].split("</tbody>")[0]
    assert re.search("[0-9],[0-9]{2}\u00a0€", rows) and not re.search("€[0-9]", rows)  # 86,52 €, not €86.52


def test_another_companys_invoice_is_404(app, billed):
    from tests.accounts import create_company  # noqa: PLC0415

    other = create_company(app, "Otra S.L.", 1)
    add_invoices(app, other, months=(9,))
    ana = signed_in_client(app, "ana@acme.es")
    for page in ("/facturas/{}", "/facturas/{}/factura.pdf", "/facturas/facturas.zip?invoice={}"):
        assert ana.get(base(billed) + page.format(other.invoices[0])).status_code == 404
    assert browser(app).get(base(billed) + "/facturas").status_code in (302, 401)

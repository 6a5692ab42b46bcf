"""An administrator signs in on a phone-sized screen, opens the billing tab and downloads an invoice's PDF, in a
real browser (Debian's Chromium driven by Playwright), finding every control by its visible name."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader

from tests.accounts import add_invoices, add_member, create_company
from tests.browser.live import ARGS, CHROMIUM, require_chromium, wait_for_sms
from tests.factories import PASSWORD

require_chromium()


def test_an_administrator_downloads_an_invoice_pdf_on_a_phone(live_portal, tmp_path):
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 (only where Chromium exists)

    portal, base = live_portal
    company = create_company(portal, "Acme Móvil S.L.", 2)
    add_member(portal, company, "ana@acme.es", "admin")
    add_invoices(portal, company, months=(9, 10))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 360, "height": 740}, locale="es-ES", accept_downloads=True)
        page.goto(base + "/login")
        page.get_by_label("Email").fill("ana@acme.es")
        page.get_by_label("Contraseña").fill(PASSWORD)
        page.get_by_role("button", name="Continuar").click()
        page.get_by_label("SMS a tu móvil").check()
        page.get_by_role("button", name="Envíame el código").click()
        page.get_by_label("Código de seguridad").fill(
            wait_for_sms(Path(portal.config["SMS_FILE"]), "+34612000009")
        )
        page.get_by_role("button", name="Acceder").click()

        expect(page.get_by_role("heading", name="Saldo y facturas")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "the home scrolls sideways"
        page.get_by_role("link", name="Facturación", exact=True).click()
        expect(page.get_by_role("heading", name="Facturas", exact=True)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "the invoices scroll sideways"

        number = page.get_by_role("row").nth(1).get_by_role("link").first.inner_text()
        page.get_by_role("link", name=number, exact=True).click()
        expect(page.get_by_role("heading", name=f"Factura {number}")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "the invoice scrolls sideways"
        with page.expect_download() as downloading:
            page.get_by_role("link", name="Descargar el PDF").click()
        download = downloading.value
        assert download.suggested_filename == f"factura-{number}.pdf"
        data = Path(download.path()).read_bytes()
        assert data.startswith(b"%PDF")
        content = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        assert number in content and "Acme Móvil S.L." in content and "Desglose del IVA" in content
        page.screenshot(path=str(tmp_path / "invoice.png"), full_page=True)
        browser.close()

"""A manager signs in on a phone-sized screen, opens the consumption tab, goes to one line and filters its data
usage, in a real browser (Debian's Chromium driven by Playwright), finding every control by its visible name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.accounts import add_member, create_company
from tests.browser.live import ARGS, CHROMIUM, require_chromium, wait_for_sms
from tests.factories import PASSWORD
from tests.usage.kit import add_usage, record

require_chromium()


def test_a_manager_filters_a_lines_data_usage_on_a_phone(live_portal, tmp_path):
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 (only where Chromium exists)

    portal, base = live_portal
    company = create_company(portal, "Acme Móvil S.L.", 2)
    add_member(portal, company, "bob@acme.es", "manager")
    now = datetime.now(UTC)
    line = company.lines[0]
    add_usage(
        portal,
        company,
        [
            record(line, now - timedelta(hours=1), "voice", duration_s=151),
            record(line, now - timedelta(hours=2), "data", bytes=2 * 10**9),
            record(line, now - timedelta(hours=3), "sms"),
            record(line, now - timedelta(hours=4), "data", bytes=5 * 10**8, roaming_zone="eu", country="FR"),
            record(company.lines[1], now - timedelta(hours=5), "data", bytes=10**9),
        ],
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 360, "height": 740}, locale="es-ES")
        page.goto(base + "/login")
        page.get_by_label("Email").fill("bob@acme.es")
        page.get_by_label("Contraseña").fill(PASSWORD)
        page.get_by_role("button", name="Continuar").click()
        page.get_by_label("SMS a tu móvil").check()
        page.get_by_role("button", name="Envíame el código").click()
        page.get_by_label("Código de seguridad").fill(
            wait_for_sms(Path(portal.config["SMS_FILE"]), "+34612000009")
        )
        page.get_by_role("button", name="Acceder").click()

        page.get_by_role("link", name="Consumo", exact=True).click()
        expect(page.get_by_role("heading", name="Consumo", exact=True)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, (
            "the consumption scrolls sideways"
        )
        records = page.get_by_role("region", name="Registros")
        expect(records.get_by_role("row")).to_have_count(6)  # the header and five records

        number = records.get_by_role("row").nth(1).get_by_role("link").first.inner_text()
        records.get_by_role("link", name=number).first.click()
        expect(page.get_by_role("heading", name=f"Consumo de {number}")).to_be_visible()
        page.get_by_label("Tipo", exact=True).select_option(label="Datos")
        page.get_by_role("button", name="Filtrar").click()
        expect(page.get_by_label("Tipo", exact=True)).to_have_value("data")
        rows = page.get_by_role("region", name="Registros").get_by_role("row")
        expect(rows).to_have_count(3)  # the header and the line's two data sessions
        expect(rows.nth(1)).to_contain_text("2,00 GB")
        expect(rows.nth(2)).to_contain_text("Itinerancia UE")
        totals = page.get_by_role("region", name="Totales por tipo")
        expect(totals).to_contain_text("2,50 GB")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, (
            "the line's page scrolls sideways"
        )
        page.screenshot(path=str(tmp_path / "usage.png"), full_page=True)
        browser.close()

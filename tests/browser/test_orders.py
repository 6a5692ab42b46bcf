"""An administrator orders a tariff change on a phone-sized screen (360 px), in Spanish, in a real browser
(Debian's Chromium driven by Playwright): the orders page, the form (the line's tariffs of its family listed
once the line is given), the confirmation with both fees, and the order's page; no page scrolls sideways."""

from __future__ import annotations

from pathlib import Path

from tests.accounts import add_member, create_company
from tests.browser.live import ARGS, CHROMIUM, require_chromium, wait_for_sms
from tests.factories import PASSWORD
from tests.orders.kit import add_tariff, load_order, orders_of

require_chromium()


def narrow(page, what: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, f"{what} scrolls sideways at 360 px"


def test_an_administrator_orders_a_tariff_change_on_a_phone(live_portal, tmp_path):
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 (only where Chromium exists)

    portal, base = live_portal
    company = create_company(portal, "Acme Móvil S.L.", 2)
    add_member(portal, company, "ana@acme.es", "admin")
    tariff = add_tariff(portal, fee="25.00", name="Tarifa Plus")
    number = company.numbers[0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 360, "height": 740}, locale="es-ES")
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

        page.goto(f"{base}/empresa/{company.ref}/pedidos")
        expect(page.get_by_role("heading", name="Pedidos y solicitudes")).to_be_visible()
        narrow(page, "the orders page")
        page.get_by_role("link", name="Cambio de tarifa", exact=True).click()
        expect(page.get_by_role("heading", name="Cambio de tarifa")).to_be_visible()
        page.get_by_label("Línea (su número)").fill(number)
        page.get_by_role("button", name="Ver las tarifas").click()
        tariffs = page.get_by_label("Nueva tarifa")
        expect(tariffs).to_be_visible()
        narrow(page, "the tariff change form")
        tariffs.select_option(str(tariff))
        page.get_by_role("button", name="Continuar").click()

        expect(page.get_by_role("heading", name="Confirma el pedido")).to_be_visible()
        expect(page.get_by_text("Tarifa Plus — 25,00 €")).to_be_visible()
        expect(page.get_by_text("10,00 €")).to_be_visible()  # the fee now
        narrow(page, "the confirmation")
        page.get_by_role("button", name="Enviar el pedido").click()

        expect(page.get_by_text("Estado: Enviado")).to_be_visible()
        expect(page.get_by_role("heading", name="Qué ha pasado")).to_be_visible()
        narrow(page, "the order's page")
        page.screenshot(path=str(tmp_path / "order.png"), full_page=True)
        browser.close()
    made = orders_of(portal)
    assert len(made) == 1
    order = load_order(portal, company.id, made[0].id)
    assert (
        order.kind == "tariff_change" and order.payload["tariff_id"] == tariff and order.state == "submitted"
    )

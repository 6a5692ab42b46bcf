"""The chat in a real browser, two people at once: a customer on a phone-sized screen (360 px, Spanish) opens a
conversation from the help button, an advisor in the back office (another browser context) takes it and
answers; each sees the other's messages appear without reloading the page (the page's script polls the
messages by id every 2 s)."""

from __future__ import annotations

from pathlib import Path

from mgd.chat.hours import Hours
from mgd.db import get_session
from tests.accounts import add_member, create_company
from tests.browser.live import ARGS, CHROMIUM, require_chromium, sent_count, wait_for_mailed_code
from tests.factories import PASSWORD, make_user

require_chromium()


def sign_in(page, base: str, mail: Path, email: str, *, spanish: bool) -> None:
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.check("input[name=channel][value=email]")
    sent = sent_count(mail)
    page.locator("main form button[type=submit]").first.click()
    page.fill("#code", wait_for_mailed_code(mail, email, after=sent))
    page.locator("main form button[type=submit]").first.click()


def test_a_customer_on_a_phone_and_an_advisor_chat_without_reloading(live_portal, monkeypatch):
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 (only where Chromium exists)

    monkeypatch.setattr(Hours, "is_open", lambda self, now=None: True)  # whatever the clock of the run
    portal, base = live_portal
    mail = Path(portal.config["MAIL_FILE"])
    company = create_company(portal, "Acme Móvil S.L.", 2)
    add_member(portal, company, "ana@acme.es", "admin")
    with portal.app_context():
        make_user(get_session(), "asesora@operador.es", name="Lucía", staff_role="advisor")
        get_session().commit()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB").new_page()
        sign_in(desk, base, mail, "asesora@operador.es", spanish=False)
        desk.goto(base + "/backoffice/chat")  # at the desk: online
        expect(desk.get_by_text("Nobody is waiting.")).to_be_visible()

        phone = browser.new_context(viewport={"width": 360, "height": 740}, locale="es-ES").new_page()
        sign_in(phone, base, mail, "ana@acme.es", spanish=True)
        phone.goto(f"{base}/empresa/{company.ref}/lineas")
        phone.locator("summary.help-button").click()
        phone.get_by_role("link", name="Chatear con un asesor").click()
        expect(phone.get_by_text("Hay un asesor disponible")).to_be_visible()
        phone.get_by_label("Tu pregunta").fill("¿Puedo cambiar la tarifa de una línea?")
        phone.get_by_role("button", name="Enviar", exact=True).click()
        expect(phone.get_by_role("heading", name="Conversación")).to_be_visible()
        number = phone.url.rstrip("/").rsplit("/", 1)[1]
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360, "the chat scrolls sideways"

        desk.goto(base + "/backoffice/chat")
        desk.get_by_role("button", name=f"Take conversation {number}").click()
        expect(
            desk.get_by_text("/empresa/" + company.ref + "/lineas")
        ).to_be_visible()  # the page they were on
        desk.get_by_label("Answer", exact=True).fill("Sí: en Pedidos, Cambio de tarifa.")
        desk.get_by_role("button", name="Send", exact=True).click()
        expect(desk.locator(".chat-advisor").get_by_text("Sí: en Pedidos, Cambio de tarifa.")).to_be_visible()

        # the customer's page shows it without a reload, and her answer reaches the advisor the same way
        expect(phone.get_by_text("Sí: en Pedidos, Cambio de tarifa.")).to_be_visible(timeout=5000)
        expect(phone.get_by_text("Lucía se ha unido a la conversación.")).to_be_visible()
        phone.get_by_label("Tu mensaje").fill("Gracias")
        phone.get_by_role("button", name="Enviar", exact=True).click()
        expect(desk.locator(".chat-customer").get_by_text("Gracias")).to_be_visible(timeout=5000)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360, "the chat scrolls sideways"
        browser.close()

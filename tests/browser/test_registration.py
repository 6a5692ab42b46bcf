"""A person registers a company, signs in with the temporary password and invites a colleague, in a real
browser (Debian's Chromium driven by Playwright), on a phone-sized screen, finding every field by its visible
label and reading the code from the SMS that the worker delivered."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.browser.live import (
    ARGS,
    CHROMIUM,
    require_chromium,
    sent_count,
    temporary_password,
    wait_for_sms,
)
from tests.factories import IBAN_M

require_chromium()


def invitation_link(path: Path, to: str) -> str:
    for line in reversed(path.read_text(encoding="utf-8").splitlines()):
        mail = json.loads(line)
        if mail["to"] == to and "/invitacion/" in mail["text"]:
            return next(word for word in mail["text"].split() if "/invitacion/" in word)
    raise AssertionError(f"no invitation mailed to {to}")


def test_a_person_registers_on_a_phone(live_portal, tmp_path):
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 (only where Chromium exists)

    portal, base = live_portal
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 360, "height": 740}, locale="es-ES")
        page.goto(base + "/")
        page.get_by_role("link", name="Registra tu empresa").click()

        page.get_by_label("Identificación fiscal de la empresa (CIF o NIF)").fill("12345678-z")
        page.get_by_label("Tu email").fill("movil@example.es")
        page.get_by_role("button", name="Continuar").click()

        page.get_by_label("Un número de teléfono de tu empresa (fijo o móvil)").fill("611 11 11 11")
        page.get_by_role("button", name="Continuar").click()

        page.get_by_label("Cuenta bancaria (IBAN) donde pagas tus líneas móviles").fill(IBAN_M)
        page.get_by_role("button", name="Continuar").click()

        expect(page.get_by_text("terminado en 111")).to_be_visible()
        countdown = page.locator("[data-countdown]")
        shown = countdown.inner_text()
        expect(countdown).not_to_have_text(shown, timeout=4000)  # the portal's script counts the wait down
        # A new code asked for during the wait: the answer says to wait, and its code form still finishes.
        page.get_by_role("button", name="Envíame un código nuevo").click()
        expect(page.get_by_text("antes de pedir un código nuevo")).to_be_visible()
        code = wait_for_sms(Path(portal.config["SMS_FILE"]), "+34611111111")
        page.get_by_label("Código de seguridad").fill(code)
        page.get_by_role("button", name="Terminar el registro").click()

        expect(page.get_by_role("heading", name="Te damos la bienvenida a Mi Área")).to_be_visible()
        assert (
            page.get_by_label(
                "Tu número de móvil (aquí te enviaremos los códigos de seguridad)"
            ).input_value()
            == "611 11 11 11"
        )
        page.get_by_label("He leído y acepto las condiciones de uso").check()
        page.get_by_role("button", name="Guardar y continuar").click()

        expect(page.get_by_role("heading", name="Empresa 12345678Z")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, (
            "the page scrolls sideways on a phone"
        )

        # Next time: the temporary password from the welcome email, a code, and a password of one's own.
        page.get_by_role("button", name="Cerrar sesión").click()
        page.get_by_role("link", name="Acceder").click()
        page.get_by_label("Email").fill("movil@example.es")
        page.get_by_label("Contraseña").fill(
            temporary_password(Path(portal.config["MAIL_FILE"]), "movil@example.es")
        )
        page.get_by_role("button", name="Continuar").click()
        page.get_by_label("SMS a tu móvil").check()
        sent = sent_count(Path(portal.config["SMS_FILE"]))  # the registration's SMS went to the same mobile
        page.get_by_role("button", name="Envíame el código").click()
        page.get_by_label("Código de seguridad").fill(
            wait_for_sms(Path(portal.config["SMS_FILE"]), "+34611111111", after=sent)
        )
        page.get_by_role("button", name="Acceder").click()
        expect(page.get_by_role("heading", name="Elige tu contraseña")).to_be_visible()
        page.get_by_label("Nueva contraseña", exact=True).fill("Mostrador2026")
        page.get_by_label("Repite la nueva contraseña").fill("Mostrador2026")
        page.get_by_role("button", name="Guardar contraseña").click()
        expect(page.get_by_role("heading", name="Empresa 12345678Z")).to_be_visible()
        page.screenshot(path=str(tmp_path / "registered.png"), full_page=True)
        if os.environ.get("MGD_TEST_SCREENSHOTS"):
            page.screenshot(path=os.environ["MGD_TEST_SCREENSHOTS"], full_page=True)

        # As the company's web administrator: invite a colleague, who joins by the emailed link.
        page.get_by_role("link", name="Usuarios", exact=True).click()
        expect(page.get_by_role("heading", name="Usuarios")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.get_by_role("link", name="Invitar a una persona").click()
        page.get_by_label("Email", exact=True).fill("colega@example.es")
        page.get_by_label("Nombre y apellidos").fill("Pablo Colega")
        page.get_by_label("Rol").select_option("viewer")
        page.get_by_role("button", name="Enviar la invitación").click()
        expect(page.get_by_text("Invitación enviada a colega@example.es.")).to_be_visible()
        page.get_by_role("link", name="Líneas", exact=True).click()
        expect(page.get_by_role("heading", name="Líneas")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360

        colleague = browser.new_context(viewport={"width": 360, "height": 740}, locale="es-ES").new_page()
        colleague.goto(invitation_link(Path(portal.config["MAIL_FILE"]), "colega@example.es"))
        colleague.get_by_label("Nueva contraseña", exact=True).fill("Pasillo2026x")
        colleague.get_by_label("Repite la nueva contraseña").fill("Pasillo2026x")
        colleague.get_by_role("button", name="Crear mi acceso").click()
        expect(colleague.get_by_role("heading", name="Te damos la bienvenida a Mi Área")).to_be_visible()
        browser.close()

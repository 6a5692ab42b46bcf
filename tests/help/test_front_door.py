"""The front door: every page's footer (help centre, terms, privacy, accessibility, cookies, 1489), those pages
in Spanish and English, the cookie page naming the one cookie the portal really sets, and the sign-in page's
ways in for a company (registration, the Grandes Clientes request)."""

from __future__ import annotations

import pytest

from tests.accounts import create_member
from tests.kit import browser, sign_in, text

FOOTER = (
    'href="/ayuda"',
    'href="/condiciones-de-uso"',
    'href="/privacidad"',
    'href="/accesibilidad"',
    'href="/cookies"',
    'href="tel:1489"',
)


def footer(page: str) -> str:
    return page[page.index('<footer class="site-footer">') :]


@pytest.mark.parametrize(
    "path", ["/", "/login", "/register", "/ayuda", "/privacidad", "/cookies", "/nowhere"]
)
def test_the_footer_links_are_on_public_pages(app, bound, path):
    page = footer(text(browser(app).get(path)))
    assert all(link in page for link in FOOTER), path


def test_the_footer_links_are_on_signed_in_pages(app, bound):
    create_member(app)
    client = browser(app)
    assert sign_in(app, client).headers["Location"] == "/mi-area"
    for path in ("/mi-area", "/perfil"):
        page = footer(text(client.get(path, follow_redirects=True)))
        assert all(link in page for link in FOOTER), path


@pytest.mark.parametrize(
    ("path", "english", "spanish"),
    [
        ("/privacidad", "Privacy notice", "Aviso de privacidad"),
        ("/accesibilidad", "Accessibility statement", "Declaración de accesibilidad"),
        ("/cookies", "strictly necessary", "estrictamente necesaria"),
        ("/condiciones-de-uso", "Terms of use", "Condiciones de uso"),
    ],
)
def test_the_legal_pages_read_in_both_languages(app, bound, path, english, spanish):
    assert english in text(browser(app).get(path))
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    page = text(client.get(path))
    assert spanish in page and '<html lang="es">' in page


def test_the_cookie_page_names_every_cookie_the_portal_sets(app, bound):
    """Whatever a visitor and a signed-in person go through, the only cookie set is the one the page names."""
    create_member(app)
    client = browser(app)
    set_cookies = []
    original = client.open

    def recording(*args, **kwargs):
        response = original(*args, **kwargs)
        set_cookies.extend(header.split("=", 1)[0] for header in response.headers.getlist("Set-Cookie"))
        return response

    client.open = recording
    client.get("/")
    assert sign_in(app, client).headers["Location"] == "/mi-area"
    client.get("/mi-area")
    client.post("/logout", data={"csrf_token": "wrong"})
    page = text(client.get("/cookies"))
    name = app.config["SESSION_COOKIE_NAME"]
    assert set(set_cookies) == {name}
    assert f"<code>{name}</code>" in page and page.count("<code>") == 1
    assert "SameSite=Lax" in page and "HttpOnly" in page
    assert f"after {app.config['SESSION_IDLE_MINUTES']} minutes without activity" in page


def test_the_sign_in_page_leads_companies_to_registration_and_large_accounts_to_their_request(app, bound):
    page = text(browser(app).get("/login"))
    assert 'Are you a company? <a href="/register">Ask for your Administrator user</a>' in page
    assert 'href="/register/gran-cliente"' in page
    assert 'autocomplete="username"' in page and "Email or mobile number" in page
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    spanish = text(client.get("/login"))
    assert '¿Eres una empresa? <a href="/register">Solicita tu usuario Administrador</a>' in spanish

"""The web shell: languages, the help button, security headers, error pages, served assets."""

import re

import pytest

from mgd import create_app
from tests.environment import settings
from tests.kit import csrf_token


def test_home_is_spanish_by_default(client):
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="es">' in page
    assert "Qué necesitas para registrar tu empresa" in page


def test_browser_language_is_honoured(client):
    page = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "What you need to register your company" in page


def test_unsupported_browser_language_falls_back_to_spanish(client):
    page = client.get("/", headers={"Accept-Language": "fr-FR"}).get_data(as_text=True)
    assert '<html lang="es">' in page


def test_the_language_switch_is_remembered_and_returns_to_the_page(client):
    response = client.post(
        "/language", data={"locale": "en", "next": "/?x=1", "csrf_token": csrf_token(client)}
    )
    assert (response.status_code, response.headers["Location"]) == (302, "/?x=1")
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)


def test_the_language_switch_needs_the_csrf_token(client):
    assert client.post("/language", data={"locale": "en"}).status_code == 400
    assert '<html lang="es">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "\t//evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/ok\r\nSet-Cookie: x=1",
        "/ok\x00",
    ],
)
def test_the_language_switch_never_redirects_elsewhere(client, target):
    response = client.post(
        "/language", data={"locale": "en", "next": target, "csrf_token": csrf_token(client)}
    )
    assert (response.status_code, response.headers["Location"]) == (302, "/")
    assert "Set-Cookie: x=1" not in str(response.headers)


@pytest.mark.parametrize("target", ["/", "/register?step=2", "/empresa/abc/lineas?q=a%20b"])
def test_the_language_switch_keeps_a_local_path(client, target):
    response = client.post(
        "/language", data={"locale": "en", "next": target, "csrf_token": csrf_token(client)}
    )
    assert response.headers["Location"] == target


def test_an_unknown_language_is_refused(client):
    assert (
        client.post("/language", data={"locale": "de", "csrf_token": csrf_token(client)}).status_code == 400
    )


def test_every_field_has_a_visible_label(client):
    page = client.get("/").get_data(as_text=True)
    fields = re.findall(r'<(?:select|input|textarea)[^>]*\bid="([^"]+)"', page)
    assert fields
    for field_id in fields:
        assert f'<label for="{field_id}">' in page


def test_help_button_on_every_page_shows_line_and_hours(client):
    for path in ("/", "/no-such-page"):
        page = client.get(path).get_data(as_text=True)
        assert 'class="help"' in page and "img/operator.svg" in page
        assert "<strong>1489</strong>" in page
        assert "de lunes a viernes, de 08:00 a 18:00" in page
        assert ("El chat está abierto ahora." in page) != ("El chat está cerrado ahora." in page)


def test_security_headers(client):
    response = client.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_httponly_and_samesite(client):
    client.post("/language", data={"locale": "en", "csrf_token": csrf_token(client)})
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"


def test_assets_are_served_by_the_portal_itself(client):
    page = client.get("/").get_data(as_text=True)
    references = re.findall(r'(?:href|src)="([^"]+)"', page)
    # The footer's help line is a tel: link, the only reference that leaves the portal (to the phone).
    assert references and all(ref.startswith(("/", "#", "tel:")) for ref in references)
    for ref in references:
        if ref.startswith("/static/"):
            assert client.get(ref).status_code == 200, ref
    css = client.get("/static/css/mgd.css").get_data(as_text=True)
    assert "@media (min-width" in css


def test_viewport_is_set_for_phones(client):
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in client.get("/").get_data(
        as_text=True
    )


def test_not_found_page_in_the_portal_style(client):
    response = client.get("/no-such-page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "No encontramos esta página" in page and "Error 404" in page
    assert 'href="/"' in page


def test_server_error_page_hides_the_details(database_url, tmp_path):
    app = create_app(settings(tmp_path, database_url, ENV="development"))  # "testing" would propagate it

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom", headers={"Accept-Language": "en"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in page
    assert "secret internals" not in page

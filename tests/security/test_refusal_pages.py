"""The 401 page leads to sign-in and back to the page asked (a path of this site only); a 403 says which
roles may do what the page does and what the member's role is."""

from __future__ import annotations

import re
from html import unescape

import pytest

from mgd.tenants.context import PERMISSION_ACTIONS, PERMISSIONS
from tests.factories import PASSWORD
from tests.kit import browser, csrf_token, last_code, post, signed_in_client, text


def sign_in_link(page: str) -> str:
    return unescape(re.search(r'<a class="button" href="(/login[^"]*)">Sign in</a>', page).group(1))


def test_the_401_page_signs_in_and_returns_to_the_page_asked(app, acme):
    client = browser(app)
    asked = f"/empresa/{acme.ref}/lineas?q=6&page=1"
    page = client.get(asked)
    assert page.status_code == 401
    link = sign_in_link(text(page))
    assert link == f"/login?next=/empresa/{acme.ref}/lineas?q%3D6%26page%3D1"
    assert post(client, link, {"email": "ana@acme.es", "password": PASSWORD}).status_code == 302
    post(client, "/login/channel", {"channel": "email"})
    answer = post(client, "/login/code", {"code": last_code(app, "ana@acme.es")})
    assert answer.headers["Location"] == asked


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_a_return_address_off_this_site_is_ignored(app, acme, target):
    client = browser(app)
    response = client.post(
        "/login?" + "next=" + target,
        data={"email": "ana@acme.es", "password": PASSWORD, "csrf_token": csrf_token(client, "/login")},
    )
    assert response.status_code == 302
    post(client, "/login/channel", {"channel": "email"})
    answer = post(client, "/login/code", {"code": last_code(app, "ana@acme.es")})
    assert answer.headers["Location"] == "/mi-area"


def test_a_form_sent_without_a_session_gets_a_sign_in_link_without_return(app, acme):
    client = browser(app)
    response = client.post(f"/empresa/{acme.ref}/usuarios/invitar", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 401 and sign_in_link(text(response)) == "/login"


def test_a_403_says_which_roles_may_and_the_members_own_role(app, acme):
    carla = signed_in_client(app, "carla@acme.es")  # a viewer
    response = carla.get(f"/empresa/{acme.ref}/usuarios")
    page = text(response)
    assert response.status_code == 403 and "You cannot do this" in page
    assert "Only the roles Administrator can manage the company&#39;s users." in page
    assert "Your role in this company is Viewer" in page


def test_a_403_says_why_in_spanish_too(app, acme):
    carla = signed_in_client(app, "carla@acme.es")
    carla.post("/language", data={"locale": "es", "csrf_token": csrf_token(carla)})
    page = text(carla.get(f"/empresa/{acme.ref}/actividad"))
    assert "Solo los roles Administrador pueden" in page and "Tu rol en esta empresa es Consulta" in page


def test_every_permission_says_in_words_what_it_allows():
    assert PERMISSION_ACTIONS.keys() == PERMISSIONS.keys()

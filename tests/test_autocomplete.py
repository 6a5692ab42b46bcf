"""Fields that ask for the person's own data say so to the browser (``autocomplete``, WCAG 1.3.5); the invite
form's address is an email field that the browser does not fill with the admin's own."""

from __future__ import annotations

import re

import pytest

from tests.kit import browser, signed_in_client, text


def control(page: str, name: str) -> str:
    match = re.search(rf'<(?:input|textarea)[^>]*\bname="{name}"[^>]*>', page)
    assert match, name
    return match.group(0)


@pytest.mark.parametrize(
    ("path", "name", "token"),
    [
        ("/register", "email", "email"),
        ("/register/gran-cliente", "requester_name", "name"),
        ("/register/gran-cliente", "position", "organization-title"),
        ("/register/gran-cliente", "email", "email"),
        ("/register/gran-cliente", "phone", "tel"),
        ("/login", "email", "username"),
    ],
)
def test_public_forms_name_the_personal_fields(app, bound, path, name, token):
    assert f'autocomplete="{token}"' in control(text(browser(app).get(path)), name)


def test_the_invite_form_asks_for_an_email_the_browser_leaves_empty(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    page = text(ana.get(f"/empresa/{acme.ref}/usuarios/invitar"))
    email, name = control(page, "email"), control(page, "name")
    assert 'type="email"' in email and 'autocomplete="off"' in email and 'autocomplete="off"' in name


def test_the_profile_changes_name_their_fields(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    page = text(ana.get("/perfil"))
    assert 'autocomplete="email"' in control(page, "em-email") and 'autocomplete="tel"' in control(
        page, "mo-mobile"
    )

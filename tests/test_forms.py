"""The base form: text with control characters or lone surrogates is refused by field, on every form."""

from __future__ import annotations

import pytest
from flask_wtf import FlaskForm

from mgd.web.forms import Form, unusable_character
from tests.kit import post, text


def _subclasses(cls) -> set[type]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(sub) for sub in found)) if found else found


def test_every_form_of_the_portal_derives_from_the_base_form(app):
    forms = {cls for cls in _subclasses(FlaskForm) if cls.__module__.startswith("mgd.")}
    assert len(forms) > 20
    assert {cls.__qualname__ for cls in forms if not issubclass(cls, Form)} == set()


@pytest.mark.parametrize(
    ("value", "multiline", "refused"),
    [
        ("Ana Pérez", False, None),
        ("a\x00b", False, "\x00"),
        ("a\x1bb", True, "\x1b"),
        ("a\x7f", True, "\x7f"),
        ("a\ud800b", True, "\ud800"),
        ("one\r\ntwo\tthree", True, None),
        ("one\ntwo", False, "\n"),
        ("a\tb", False, "\t"),
    ],
)
def test_unusable_characters(value, multiline, refused):
    assert unusable_character(value, multiline=multiline) == refused


@pytest.fixture
def browser(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_a_nul_in_a_field_re_renders_the_form_naming_the_field_and_keeping_the_rest(browser):
    """Before: the NUL went on to the database (a 500 on PostgreSQL, a wrong-password page on SQLite)."""
    response = post(browser, "/login", {"email": "ana\x00@example.es", "password": "Secret-1"})
    assert response.status_code == 422
    page = text(response)
    assert 'id="email-error"' in page
    assert "Email or mobile number has characters that cannot be used" in page
    assert 'id="password-error"' not in page


def test_a_line_break_is_refused_in_a_one_line_field_but_kept_in_a_text_area(browser):
    response = post(
        browser,
        "/register/gran-cliente",
        {
            "fiscal_id": "B12345674",
            "requester_name": "Ana\r\nBcc: someone@example.es",
            "position": "CEO",
            "email": "ana@example.es",
            "phone": "612345678",
            "users_needed": "3",
            "comments": "first line\r\nsecond line\twith a tab",
            "confirm": "y",
        },
    )
    page = text(response)
    assert response.status_code == 422
    assert 'id="requester_name-error"' in page and "Your name and surname must be on one line." in page
    assert 'id="comments-error"' not in page

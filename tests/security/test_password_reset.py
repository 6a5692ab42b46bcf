"""Forgotten password: a code to the email or the mobile, then a new password; accounts are never revealed."""

import difflib
import re
from datetime import timedelta

import pytest

from mgd.db import utcnow
from mgd.security.passwords import verify_password
from tests.accounts import load_user, update_user
from tests.kit import audit, browser, last_code, outbox, post, sign_in, text

NEW = "Mostrador2026"


def without_tokens(response) -> str:
    """The page with its CSRF tokens blanked: they differ between any two browsers."""
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1", text(response))


def ask(client, email, channel="email"):
    return post(client, "/password/forgot", {"email": email, "channel": channel})


def test_a_code_by_email_then_a_new_password(app, client, member):
    assert ask(client, "Ana@Example.es").headers["Location"] == "/password/forgot/code"
    response = post(client, "/password/forgot/code", {"code": last_code(app, "ana@example.es")})
    assert response.headers["Location"] == "/password/forgot/new"
    response = post(client, "/password/forgot/new", {"password": NEW, "confirm": NEW})
    assert response.headers["Location"] == "/login?reset=done"
    assert "Your password has been changed" in text(client.get("/login?reset=done"))
    assert verify_password(load_user(app, member).password_hash, NEW)
    assert sign_in(app, client, password=NEW).headers["Location"] == "/mi-area"
    assert audit(app, "password.reset")


def test_a_code_by_sms_to_the_accounts_mobile(app, client, member):
    ask(client, "ana@example.es", channel="sms")
    assert outbox(app)[-1].recipient == "+34612000001"
    assert post(client, "/password/forgot/code", {"code": last_code(app, "+34612000001")}).status_code == 302


def test_without_a_mobile_the_sms_choice_gets_an_email(app, client, member):
    update_user(app, member, mobile=None)
    ask(client, "ana@example.es", channel="sms")
    assert [m.recipient for m in outbox(app)] == ["ana@example.es"]


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_known_and_unknown_emails_look_the_same(app, member, channel):
    pages, counts = [], []
    for email in ("ana@example.es", "nadie@example.es"):
        client = browser(app)
        before = len(outbox(app))
        response = ask(client, email, channel)
        counts.append(len(outbox(app)) - before)
        code_page = client.get(response.headers["Location"])
        wrong = post(client, "/password/forgot/code", {"code": "000000"})
        pages.append(
            (
                response.status_code,
                response.headers["Location"],
                code_page.status_code,
                without_tokens(code_page),
                wrong.status_code,
                without_tokens(wrong),
            )
        )
    differences = [
        line
        for a, b in zip(*pages, strict=True)
        if a != b
        for line in difflib.unified_diff(str(a).splitlines(), str(b).splitlines(), lineterm="", n=0)
    ]
    assert differences == []
    assert counts == [1, 1]
    assert "there is no account" in outbox(app)[-1].body_text


def test_five_wrong_codes_end_the_attempt(app, client, member):
    ask(client, "ana@example.es")
    for _ in range(4):
        assert "not correct" in text(post(client, "/password/forgot/code", {"code": "000000"}))
    assert "no longer valid" in text(post(client, "/password/forgot/code", {"code": "000000"}))
    assert client.get("/password/forgot/code").headers["Location"] == "/password/forgot"


def test_the_new_password_follows_the_policy(app, client, member):
    ask(client, "ana@example.es")
    post(client, "/password/forgot/code", {"code": last_code(app, "ana@example.es")})
    response = post(client, "/password/forgot/new", {"password": "password1", "confirm": "password1"})
    assert response.status_code == 422 and "an upper-case letter" in text(response)


def test_the_new_password_page_needs_an_accepted_code(client, member):
    assert client.get("/password/forgot/new").headers["Location"] == "/password/forgot"
    ask(client, "ana@example.es")
    assert client.get("/password/forgot/new").headers["Location"] == "/password/forgot"


def test_a_reset_lifts_a_lockout_and_a_temporary_password(app, client, member):
    update_user(app, member, locked_until=utcnow() + timedelta(minutes=15), password_is_temporary=True)
    ask(client, "ana@example.es")
    post(client, "/password/forgot/code", {"code": last_code(app, "ana@example.es")})
    post(client, "/password/forgot/new", {"password": NEW, "confirm": NEW})
    user = load_user(app, member)
    assert user.locked_until is None and not user.password_is_temporary
    assert sign_in(app, client, password=NEW).headers["Location"] == "/mi-area"


def test_reset_requests_from_one_address_are_limited(app, client, member):
    for n in range(10):
        ask(client, f"user{n}@example.es")
    assert ask(client, "ana@example.es").status_code == 429


@pytest.mark.parametrize(
    ("email", "refusal"),
    [
        ("ana@example.es, b@example.es, c@example.es", "This is not a valid email address."),
        ("Ana <ana@example.es>", "This is not a valid email address."),
        ("ana@example.es\r\nBcc: x@evil.es", "Your email must be on one line."),
    ],
)
def test_only_one_plain_address_is_accepted(app, client, member, email, refusal):
    response = ask(client, email)
    assert response.status_code == 422 and refusal in text(response)
    assert outbox(app) == []

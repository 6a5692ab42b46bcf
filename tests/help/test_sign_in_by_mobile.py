"""Signing in with the mobile number instead of the email: any spelling of the user's verified mobile finds
them; an unknown or shared mobile gets the answer, the password work and the audit of a wrong password, and
the rate limit and the account's lockout count the same whichever identifier was typed."""

from __future__ import annotations

import pytest

from mgd.db import get_session
from mgd.extensions import limiter
from mgd.security import services
from tests.accounts import create_member, load_user, update_user
from tests.factories import PASSWORD, make_user
from tests.kit import audit, browser, last_code, post, text

WRONG = "The email or mobile number or the password is not correct"


@pytest.fixture
def ana(app, bound) -> int:
    """Ana, whose verified mobile is +34 612 000 001 (and nobody else's); the sign-in's rate limit starts
    afresh."""
    limiter.reset()
    return create_member(app)


def sign_in_as(client, identifier: str, password: str = PASSWORD):
    return post(client, "/login", {"email": identifier, "password": password})


@pytest.mark.parametrize(
    "spelling", ["+34 612 000 001", "612 00 00 01", "612000001", "0034 612-000-001", "(+34) 612.000.001"]
)
def test_every_spelling_of_the_mobile_signs_in(app, ana, spelling):
    client = browser(app)
    response = sign_in_as(client, spelling)
    assert response.headers.get("Location") == "/login/channel", text(response)
    with client.session_transaction() as session:
        assert session["pending_login"]["user_id"] == ana


def test_the_mobile_sign_in_ends_in_the_same_session_as_the_emails(app, ana):
    client = browser(app)
    assert sign_in_as(client, "612 00 00 01").headers["Location"] == "/login/channel"
    post(client, "/login/channel", {"channel": "sms"})
    response = post(client, "/login/code", {"code": last_code(app, "+34612000001")})
    assert response.headers["Location"] == "/mi-area"
    assert [event.user_id for event in audit(app, "login.succeeded")] == [ana]


@pytest.fixture
def password_work(monkeypatch):
    calls = []
    verify = services.verify_password
    monkeypatch.setattr(services, "verify_password", lambda *args: calls.append("verify") or verify(*args))
    return calls


def refused(client, identifier: str, password: str, password_work: list) -> tuple[str, list]:
    password_work.clear()
    response = sign_in_as(client, identifier, password)
    assert response.status_code == 422
    return text(response), list(password_work)


def test_an_unknown_mobile_is_answered_as_a_wrong_password(app, ana, password_work):
    client = browser(app)
    wrong_page, wrong_work = refused(client, "612000001", "Wrong2026pass", password_work)
    unknown_page, unknown_work = refused(client, "699 99 99 99", PASSWORD, password_work)
    assert WRONG in wrong_page and WRONG in unknown_page
    assert unknown_work == wrong_work == ["verify"]
    assert [event.detail["reason"] for event in audit(app, "login.failed")] == [
        "wrong_password",
        "unknown_mobile",
    ]


def test_a_mobile_two_users_share_signs_in_neither(app, ana, password_work):
    with app.app_context():
        session = get_session()
        other = make_user(session, "otro@example.es", mobile="+34612000001").id
        session.commit()
    client = browser(app)
    page, work = refused(client, "+34612000001", PASSWORD, password_work)  # Ana's right password
    assert WRONG in page and work == ["verify"]
    with client.session_transaction() as session:
        assert "pending_login" not in session
    assert [event.detail["reason"] for event in audit(app, "login.failed")] == ["shared_mobile"]
    assert load_user(app, ana).failed_logins == load_user(app, other).failed_logins == 0
    # Each of them still signs in with their email.
    assert sign_in_as(browser(app), "ana@example.es").headers["Location"] == "/login/channel"
    assert sign_in_as(browser(app), "otro@example.es").headers["Location"] == "/login/channel"


def test_a_disabled_users_mobile_is_unknown(app, ana, password_work):
    update_user(app, ana, is_active=False)
    page, work = refused(browser(app), "612000001", PASSWORD, password_work)
    assert WRONG in page and work == ["verify"]


def test_wrong_passwords_by_mobile_and_by_email_lock_the_same_account(app, ana):
    client = browser(app)
    threshold = app.config["LOCKOUT_THRESHOLD"]
    for n in range(threshold):
        sign_in_as(client, "612 000 001" if n % 2 else "ana@example.es", "Wrong2026pass")
    assert load_user(app, ana).locked_until is not None
    response = sign_in_as(browser(app), "+34612000001")  # the right password, by mobile: still locked
    assert response.status_code == 422 and "locked" in text(response)


def test_the_rate_limit_of_the_address_counts_mobile_attempts(app, ana):
    client = browser(app)
    for n in range(20):  # "20 per 10 minutes" of the sign-in form, per address
        assert sign_in_as(client, f"69900{n:04d}", "Wrong2026pass").status_code == 422
    assert sign_in_as(client, "612000001").status_code == 429


@pytest.mark.parametrize(
    ("identifier", "message"),
    [
        ("912 345 678", "Give your email address or your mobile number"),  # a fixed line
        ("12345", "Give your email address or your mobile number"),
        ("ana@", "Give your email address or your mobile number"),
        ("", "This field is required."),
    ],
)
def test_what_is_neither_an_email_nor_a_mobile_is_refused_naming_the_field(app, ana, identifier, message):
    response = sign_in_as(browser(app), identifier)
    page = text(response)
    assert response.status_code == 422 and message in page
    assert 'id="email-error"' in page and '<a href="#email">' in page

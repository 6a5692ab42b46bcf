"""Signing in through real form posts: password, the code's channel, the code, the temporary password."""

import re
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from mgd.db import get_session, utcnow
from mgd.extensions import limiter
from mgd.security.models import CodeChallenge, User
from mgd.security.passwords import needs_rehash
from tests.accounts import age_session, load_user, update_user, user_sessions
from tests.factories import PASSWORD
from tests.kit import audit, browser, outbox, post, sign_in, text


def test_sign_in_with_an_sms_code_lands_in_mi_area(app, client, member):
    response = sign_in(app, client)
    assert response.headers["Location"] == "/mi-area"
    assert client.get("/mi-area").headers["Location"].startswith("/empresa/")
    assert [e.detail for e in audit(app, "login.succeeded")] == [{"channel": "sms"}]


def test_sign_in_with_an_email_code(app, client, member):
    assert sign_in(app, client, channel="email").headers["Location"] == "/mi-area"


def test_without_a_mobile_only_email_is_offered(app, client, member):
    update_user(app, member, mobile=None)
    post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    page = text(client.get("/login/channel"))
    assert 'value="email"' in page and 'value="sms"' not in page
    assert post(client, "/login/channel", {"channel": "sms"}).status_code == 422


def masked(response) -> str:
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1", text(response))


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(app, client, member):
    wrong = post(client, "/login", {"email": "ana@example.es", "password": "Wrong1234"})
    unknown = post(client, "/login", {"email": "nobody@example.es", "password": "Wrong1234"})
    assert wrong.status_code == unknown.status_code == 422
    # CSRF tokens carry a timestamp: two pages a second apart differ there and nowhere else.
    assert masked(wrong).replace("ana@example.es", "X") == masked(unknown).replace("nobody@example.es", "X")
    assert sorted(e.detail["reason"] for e in audit(app, "login.failed")) == [
        "unknown_email",
        "wrong_password",
    ]


def test_ten_failures_lock_the_account_and_tell_its_owner(app, client, member):
    for _ in range(10):
        post(client, "/login", {"email": "ana@example.es", "password": "Wrong1234"})
    [mail] = [m for m in outbox(app) if m.recipient == "ana@example.es"]
    assert "15 minutes" in mail.body_text
    response = post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    assert response.status_code == 422  # the right password does not help while locked
    assert audit(app, "login.locked")[0].detail == {"minutes": 15, "after": "password"}
    update_user(app, member, locked_until=utcnow() - timedelta(seconds=1))
    assert sign_in(app, client).headers["Location"] == "/mi-area"


def test_each_further_lockout_lasts_twice_as_long(app, client, member):
    update_user(app, member, lockouts=1)
    for _ in range(10):
        post(client, "/login", {"email": "ana@example.es", "password": "Wrong1234"})
    user = load_user(app, member)
    assert timedelta(minutes=29) < user.locked_until - utcnow() <= timedelta(minutes=30)


def test_wrong_codes_count_towards_the_lockout(app, client, member):
    update_user(app, member, failed_logins=8)
    post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    post(client, "/login/channel", {"channel": "sms"})
    response = post(client, "/login/code", {"code": "000000"})
    assert response.status_code == 422 and "The code is not correct" in text(response)
    response = post(client, "/login/code", {"code": "000000"})
    assert load_user(app, member).locked_until > utcnow()
    assert client.get("/login/code").headers["Location"] == "/login"


def test_a_wrong_code_is_counted_although_its_page_is_a_refusal(app, client, member):
    """The 422 page is a response, which the edge commits: the spent try and the failure stay."""
    post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    post(client, "/login/channel", {"channel": "sms"})
    response = post(client, "/login/code", {"code": "000000"})
    assert response.status_code == 422 and "The code is not correct" in text(response)
    assert load_user(app, member).failed_logins == 1
    with app.app_context():
        query = select(CodeChallenge.attempts).where(CodeChallenge.user_id == member)
        assert get_session().scalars(query).all() == [1]
    assert [event.detail for event in audit(app, "login.code_refused")] == [{"result": "wrong"}]


def test_a_temporary_password_must_be_changed_before_anything_else(app, client, member):
    update_user(app, member, password_is_temporary=True, password_expires_at=utcnow() + timedelta(days=7))
    assert sign_in(app, client).headers["Location"] == "/password"
    assert client.get("/mi-area").headers["Location"] == "/password"
    response = post(client, "/password", {"password": "Nuevo2026x", "confirm": "Nuevo2026x"})
    assert response.headers["Location"] == "/mi-area"
    user = load_user(app, member)
    assert not user.password_is_temporary
    first, second = user_sessions(app, member)  # the password's sign-in ended; this browser has a new one
    assert first.revoked_at is not None and second.revoked_at is None
    assert client.get("/mi-area").status_code == 302  # still signed in, no longer held at /password
    assert audit(app, "password.changed")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1", "between 8 and 20 characters"),
        ("Abcdefghijklmnopqrstu1", "between 8 and 20 characters"),
        ("abcdefg1", "an upper-case letter"),
        ("ABCDEFG1", "a lower-case letter"),
        ("Abcdefgh", "a digit"),
        ("AnaRuiz2026", "your name or your email"),
        ("Password1", "most used passwords"),
        ("Qwerty123", "most used passwords"),
        (PASSWORD, "different from your current password"),
    ],
)
def test_each_password_rule(app, client, member, password, message):
    update_user(app, member, password_is_temporary=True)
    sign_in(app, client)
    response = post(client, "/password", {"password": password, "confirm": password})
    assert response.status_code == 422 and message in text(response)


def test_the_two_passwords_must_match(app, client, member):
    update_user(app, member, password_is_temporary=True)
    sign_in(app, client)
    response = post(client, "/password", {"password": "Nuevo2026x", "confirm": "Nuevo2026y"})
    assert response.status_code == 422 and "not the same" in text(response)


def test_an_expired_temporary_password_is_refused(app, client, member):
    update_user(app, member, password_is_temporary=True, password_expires_at=utcnow() - timedelta(minutes=1))
    response = post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    assert response.status_code == 422 and "temporary password has expired" in text(response)


def test_changing_the_password_ends_the_other_sessions(app, member):
    first, second = browser(app), browser(app)
    update_user(app, member, password_is_temporary=True)
    sign_in(app, first)
    sign_in(app, second)
    post(second, "/password", {"password": "Nuevo2026x", "confirm": "Nuevo2026x"})
    assert second.get("/mi-area").status_code == 302
    assert first.get("/mi-area").status_code == 401


def test_sessions_end_when_idle_and_when_too_old(app, client, member):
    sign_in(app, client)
    age_session(app, member, last_seen_at=timedelta(minutes=31))
    assert client.get("/mi-area").status_code == 401
    sign_in(app, client)
    age_session(app, member, created_at=timedelta(hours=12, seconds=1))
    assert client.get("/mi-area").status_code == 401


def test_sign_in_starts_a_new_session(app, client, member):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    sign_in(app, client)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_hashes_are_upgraded_when_the_parameters_rise(app, client, member):
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    update_user(app, member, password_hash=weak)
    assert needs_rehash(weak)
    sign_in(app, client)
    assert not needs_rehash(load_user(app, member).password_hash)


def test_the_pending_sign_in_lasts_ten_minutes(app, client, member):
    post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    with client.session_transaction() as session:
        session["pending_login"] = {
            **session["pending_login"],
            "since": session["pending_login"]["since"] - 601,
        }
    assert client.get("/login/channel").headers["Location"] == "/login"


def test_a_registered_user_is_not_forced_to_change_the_password_yet(app, client, member):
    update_user(app, member, password_is_temporary=True)
    with app.app_context():
        assert get_session().scalar(select(User.password_is_temporary).where(User.id == member))
    response = client.get("/login")
    assert response.status_code == 200 and 'href="/register"' in text(response)


def test_password_attempts_from_one_address_are_limited(app, client, member):
    for n in range(20):
        post(client, "/login", {"email": f"user{n}@example.es", "password": "Wrong1234"})
    response = post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    assert response.status_code == 429


def test_behind_a_proxy_one_clients_wrong_sign_ins_do_not_lock_out_another(app, make_app, member):
    proxied = make_app(PROXY_HOPS=1)
    limiter.reset()
    attacker, colleague = proxied.test_client(), proxied.test_client()
    attacker.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.5"
    colleague.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.7"
    wrong = {"email": "nobody@example.es", "password": "Wrong2026"}
    for _ in range(20):
        assert post(attacker, "/login", wrong).status_code == 422
    assert post(attacker, "/login", wrong).status_code == 429
    response = post(colleague, "/login", {"email": "ana@example.es", "password": PASSWORD})
    assert response.headers["Location"] == "/login/channel"
    assert {event.ip for event in audit(app, "login.failed")} == {"203.0.113.5"}


@pytest.mark.parametrize("script", ["fullwidth", "arabic-indic"])
def test_a_code_typed_in_other_digits_is_accepted(app, client, member, script):
    post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    post(client, "/login/channel", {"channel": "sms"})
    code = next(m for m in reversed(outbox(app)) if m.recipient == "+34612000001").body_text
    code = re.search(r"\b(\d{6})\b", code).group(1)
    zero = {"fullwidth": "０", "arabic-indic": "٠"}[script]
    typed = "".join(chr(ord(zero) + int(d)) for d in code)
    response = post(client, "/login/code", {"code": typed})
    assert response.headers["Location"] == "/mi-area"


@pytest.mark.parametrize("typed", ["12345x", "١٢٣٤٥", "½½½½½½", "１２３４５６７"])
def test_a_malformed_code_is_refused_without_spending_a_try(app, client, member, typed):
    post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    post(client, "/login/channel", {"channel": "sms"})
    response = post(client, "/login/code", {"code": typed})
    assert response.status_code == 422 and "The code has 6 digits." in text(response)
    assert audit(app, "login.code_refused") == []
    assert f'value="{typed}"' in text(response)  # what was typed stays in the field

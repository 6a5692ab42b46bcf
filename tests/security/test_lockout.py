"""The account lockout: its length is back to the first after a successful sign-in or a password reset, and a
locked account costs the same password work as an unknown one (its answer time tells nothing)."""

from datetime import timedelta

import pytest

from mgd.db import utcnow
from mgd.security import services
from tests.accounts import load_user, update_user
from tests.factories import PASSWORD
from tests.kit import last_code, post, sign_in

FIRST = timedelta(minutes=15)  # LOCKOUT_MINUTES


def lock(app, user_id) -> timedelta:
    """Ten wrong passwords from another browser; how long the account is locked for."""
    client = app.test_client()
    for _ in range(app.config["LOCKOUT_THRESHOLD"]):
        post(client, "/login", {"email": "ana@example.es", "password": "Wrong1234"})
    return load_user(app, user_id).locked_until - utcnow()


def test_a_successful_sign_in_makes_the_next_lockout_the_first_again(app, client, member):
    update_user(app, member, lockouts=3)  # the next lockout would last 2 hours
    assert sign_in(app, client).headers["Location"] == "/mi-area"
    assert load_user(app, member).lockouts == 0
    assert FIRST - timedelta(minutes=1) < lock(app, member) <= FIRST


def test_a_password_reset_makes_the_next_lockout_the_first_again(app, client, member):
    update_user(app, member, lockouts=3, locked_until=utcnow() + timedelta(hours=2))
    post(client, "/password/forgot", {"email": "ana@example.es", "channel": "email"})
    post(client, "/password/forgot/code", {"code": last_code(app, "ana@example.es")})
    response = post(client, "/password/forgot/new", {"password": "Mostrador2026", "confirm": "Mostrador2026"})
    assert response.headers["Location"] == "/login?reset=done"
    user = load_user(app, member)
    assert (user.lockouts, user.locked_until) == (0, None)
    assert FIRST - timedelta(minutes=1) < lock(app, member) <= FIRST


@pytest.fixture
def password_work(monkeypatch):
    """The password hashing calls of the sign-in service, by name."""
    calls = []
    verify, hash_ = services.verify_password, services.hash_password
    monkeypatch.setattr(services, "verify_password", lambda *args: calls.append("verify") or verify(*args))
    monkeypatch.setattr(services, "hash_password", lambda *args: calls.append("hash") or hash_(*args))
    return calls


def test_locked_unknown_and_wrong_cost_the_same_password_work(app, client, member, password_work):
    def work(email: str, password: str) -> list[str]:
        password_work.clear()
        assert post(client, "/login", {"email": email, "password": password}).status_code == 422
        return list(password_work)

    wrong = work("ana@example.es", "Wrong1234")
    unknown = work("nadie@example.es", "Wrong1234")
    update_user(app, member, is_active=False)
    disabled = work("ana@example.es", PASSWORD)
    update_user(app, member, is_active=True, locked_until=utcnow() + FIRST)
    locked = work("ana@example.es", "Wrong1234")
    locked_with_the_right_password = work("ana@example.es", PASSWORD)
    assert wrong == unknown == disabled == locked == locked_with_the_right_password == ["verify"]

"""Sign-in guards under parallel requests against a real server: code tries, reset-code tries and the account
lockout are counted by the database, so 40 requests at once never get more guesses than the limit, and the same
right code posted 40 times makes one sign-in."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mgd.db import get_session
from mgd.security.codes import MAX_ATTEMPTS
from mgd.security.models import CodeChallenge
from tests.accounts import create_member, load_user
from tests.factories import PASSWORD
from tests.kit import audit, last_code, outbox
from tests.live import Browser, posted_in_parallel

PARALLEL = 40
EMAIL = "ana@example.es"


@pytest.fixture
def ana_id(live_app, live_server) -> int:
    """Ana, an onboarded web administrator, in the live portal."""
    return create_member(live_app)


@pytest.fixture
def ana(live_server, ana_id) -> Browser:
    """Ana's browser (once she exists)."""
    return Browser(live_server)


def at_code_step(app, browser: Browser) -> str:
    """Password given and a code asked for by email; the code."""
    assert browser.post("/login", {"email": EMAIL, "password": PASSWORD}).status_code == 302
    assert browser.post("/login/channel", {"channel": "email"}).headers["Location"] == "/login/code"
    return last_code(app, EMAIL)


def wrong_codes(right: str) -> list[dict]:
    return [{"code": f"{(int(right) + 1 + i) % 10**6:06d}"} for i in range(PARALLEL)]


def attempts(app) -> int:
    with app.app_context():
        return get_session().scalar(select(CodeChallenge.attempts).order_by(CodeChallenge.id.desc()))


def no_server_errors(responses) -> None:
    assert [r.status_code for r in responses if r.status_code >= 500] == []


def test_parallel_wrong_sign_in_codes_get_five_checks_then_the_right_one_is_refused(live_app, ana):
    right = at_code_step(live_app, ana)
    no_server_errors(posted_in_parallel(ana, "/login/code", wrong_codes(right)))
    results = [event.detail["result"] for event in audit(live_app, "login.code_refused")]
    assert results.count("wrong") == MAX_ATTEMPTS - 1  # the fifth wrong code kills the code
    assert attempts(live_app) == MAX_ATTEMPTS
    assert ana.post("/login/code", {"code": right}).status_code == 422
    assert audit(live_app, "login.succeeded") == []


def test_parallel_wrong_reset_codes_get_five_checks_then_the_right_one_is_refused(live_app, ana):
    ana.post("/password/forgot", {"email": EMAIL, "channel": "email"})
    right = last_code(live_app, EMAIL)
    responses = posted_in_parallel(ana, "/password/forgot/code", wrong_codes(right))
    no_server_errors(responses)
    assert sum("The code is not correct" in r.text for r in responses) == MAX_ATTEMPTS - 1
    assert attempts(live_app) == MAX_ATTEMPTS
    response = ana.post("/password/forgot/code", {"code": right})
    assert response.status_code == 422 and "no longer valid" in response.text


def test_parallel_wrong_passwords_lock_the_account_once(live_app, ana, ana_id):
    threshold = live_app.config["LOCKOUT_THRESHOLD"]
    wrong = [{"email": EMAIL, "password": f"Wrong{i:04d}x"} for i in range(PARALLEL)]
    no_server_errors(posted_in_parallel(ana, "/login", wrong))
    counted = [e for e in audit(live_app, "login.failed") if e.detail["reason"] == "wrong_password"]
    assert len(counted) == threshold
    assert len(audit(live_app, "login.locked")) == 1
    assert len([m for m in outbox(live_app) if m.recipient == EMAIL]) == 1  # one "locked" email
    user = load_user(live_app, ana_id)
    assert (user.lockouts, user.failed_logins) == (1, 0)
    assert ana.post("/login", {"email": EMAIL, "password": PASSWORD}).status_code == 422


def test_the_same_sign_in_code_posted_40_times_signs_in_once(live_app, ana, ana_id):
    code = at_code_step(live_app, ana)
    responses = posted_in_parallel(ana, "/login/code", [{"code": code}] * PARALLEL)
    no_server_errors(responses)
    assert len([r for r in responses if r.headers.get("Location") == "/mi-area"]) == 1
    assert len(audit(live_app, "login.succeeded")) == 1
    assert audit(live_app, "login.code_refused") == []  # a repeated right code is no failure
    assert load_user(live_app, ana_id).failed_logins == 0

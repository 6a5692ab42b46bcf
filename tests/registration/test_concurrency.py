"""Registration guards under parallel requests against a real server: one flow's wrong phones, wrong IBANs, code
tries and resends are counted by the database, so 40 requests at once never get more guesses than the limit,
and the same right code posted 40 times registers one account."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mgd.db import get_session
from mgd.registration import services
from mgd.registration.models import RegistrationFlow
from mgd.security.codes import MAX_ATTEMPTS
from mgd.security.models import CodeChallenge, User
from mgd.tenants.records.importer import import_records
from mgd.tenants.records.validate import parse_document
from tests.factories import COMPANIES, IBAN_F, IBAN_M, TARIFFS
from tests.kit import audit, last_code, outbox
from tests.live import Browser, posted_in_parallel

PARALLEL = 40
MOBILE = "+34611111111"  # the only line of the mobile-only company


@pytest.fixture
def browser(live_app, live_server) -> Browser:
    """A visitor of the live portal, whose database holds the companies of every product mix."""
    with live_app.app_context():
        session = get_session()
        document = json.dumps({"tariffs": TARIFFS, "companies": list(COMPANIES.values())})
        import_records(session, parse_document(document))
        session.commit()
    return Browser(live_server)


def started(browser: Browser) -> Browser:
    response = browser.post("/register", {"fiscal_id": "12345678Z", "email": "movil@example.es"})
    assert response.headers["Location"] == "/register/phone"
    return browser


def at_code_step(browser: Browser) -> Browser:
    assert started(browser).post("/register/phone", {"phone": "611111111"}).status_code == 302
    assert browser.post("/register/bank", {"mobile_iban": IBAN_M}).headers["Location"] == "/register/code"
    return browser


def the_flow(app) -> RegistrationFlow:
    with app.app_context():
        return get_session().scalar(select(RegistrationFlow))


def refusals(app, reason: str) -> int:
    return sum(1 for event in audit(app, "registration.refused") if event.detail["reason"] == reason)


def no_server_errors(responses) -> None:
    assert [r.status_code for r in responses if r.status_code >= 500] == []


def test_parallel_wrong_phones_get_three_checks_then_the_right_one_is_refused(live_app, browser):
    wrong = [{"phone": f"6990000{i:02d}"} for i in range(PARALLEL)]
    no_server_errors(posted_in_parallel(started(browser), "/register/phone", wrong))
    assert refusals(live_app, "wrong_phone") == services.MAX_WRONG_PHONES - 1
    assert [e.detail["reason"] for e in audit(live_app, "registration.locked")] == ["wrong_phones"]
    response = browser.post("/register/phone", {"phone": "611111111"})
    assert response.headers["Location"] == "/register/end"
    flow = the_flow(live_app)
    assert (flow.state, flow.wrong_phones) == ("locked", services.MAX_WRONG_PHONES)


def test_parallel_wrong_ibans_get_three_checks_then_the_right_one_is_refused(live_app, browser):
    assert started(browser).post("/register/phone", {"phone": "611111111"}).status_code == 302
    wrong = [{"mobile_iban": IBAN_F} for _ in range(PARALLEL)]
    no_server_errors(posted_in_parallel(browser, "/register/bank", wrong))
    assert refusals(live_app, "wrong_iban") == services.MAX_WRONG_IBANS - 1
    assert [e.detail["reason"] for e in audit(live_app, "registration.locked")] == ["wrong_ibans"]
    assert browser.post("/register/bank", {"mobile_iban": IBAN_M}).headers["Location"] == "/register/end"
    assert [m for m in outbox(live_app) if m.recipient == MOBILE] == []  # no code was ever sent


def test_parallel_wrong_codes_get_five_checks_then_the_right_one_is_refused(live_app, browser):
    at_code_step(browser)
    right = last_code(live_app, MOBILE)
    wrong = [{"code": f"{(int(right) + 1 + i) % 10**6:06d}"} for i in range(PARALLEL)]
    no_server_errors(posted_in_parallel(browser, "/register/code", wrong))
    assert refusals(live_app, "wrong_code") == MAX_ATTEMPTS - 1  # the fifth wrong code kills the code
    with live_app.app_context():
        assert get_session().scalar(select(CodeChallenge.attempts)) == MAX_ATTEMPTS
    response = browser.post("/register/code", {"code": right})
    assert response.status_code == 422 and "no longer valid" in response.text
    assert audit(live_app, "registration.completed") == []


@pytest.fixture
def browser_at_code(browser) -> Browser:
    return at_code_step(browser)


def test_parallel_resends_send_three_new_codes_at_most(live_app, browser_at_code, monkeypatch):
    monkeypatch.setattr(services, "RESEND_AFTER", timedelta(0))  # only the count stops them
    responses = posted_in_parallel(browser_at_code, "/register/code/resend", [{}] * PARALLEL)
    no_server_errors(responses)
    assert len(audit(live_app, "registration.code_resent")) == services.MAX_RESENDS
    assert the_flow(live_app).resends == services.MAX_RESENDS
    assert len([m for m in outbox(live_app) if m.recipient == MOBILE]) == 1 + services.MAX_RESENDS


def test_the_same_right_code_posted_40_times_registers_once(live_app, browser_at_code):
    code = last_code(live_app, MOBILE)
    responses = posted_in_parallel(browser_at_code, "/register/code", [{"code": code}] * PARALLEL)
    no_server_errors(responses)
    welcomed = [r for r in responses if r.headers.get("Location") == "/mi-area/bienvenida"]
    assert len(welcomed) == 1
    assert len(audit(live_app, "registration.completed")) == 1
    assert audit(live_app, "registration.refused") == []  # the repeats are no refusal ("already a user")
    assert the_flow(live_app).state == "done"
    with live_app.app_context():
        assert get_session().scalar(select(func.count()).select_from(User)) == 1

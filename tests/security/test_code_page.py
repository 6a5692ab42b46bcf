"""The sign-in code page says where the code went, offers a new code after the wait (by the same channel, the
earlier code dying) and another channel when the person has one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from mgd.db import get_session
from mgd.security.models import CodeChallenge
from tests.accounts import update_user
from tests.factories import PASSWORD
from tests.kit import last_code, outbox, post, text, token


def at_code_page(client, channel="sms"):
    post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    return post(client, "/login/channel", {"channel": channel})


def age_codes(app, seconds=61):
    with app.app_context():
        session = get_session()
        for challenge in session.scalars(select(CodeChallenge)):
            challenge.created_at -= timedelta(seconds=seconds)
        session.commit()


def test_the_code_page_names_the_masked_destination_and_the_other_channel(app, client, member):
    at_code_page(client)
    page = text(client.get("/login/code"))
    assert "by SMS to your mobile ••• ••• 001" in page and "612 00 00 01" not in page
    assert "Use another way to get the code" in page and 'data-countdown="' in page
    at_code_page(client, "email")
    assert "to your email an•••@example.es" in text(client.get("/login/code"))


def test_a_new_code_before_the_wait_is_refused_and_the_first_code_still_works(app, client, member):
    at_code_page(client)
    first = last_code(app, "+34612000001")
    response = client.post("/login/code/resend", data={"csrf_token": token(client)})
    assert response.status_code == 429 and "Please wait" in text(response)
    assert 'action="/login/code"' in text(response)  # the code typed next goes to the code step
    assert len([m for m in outbox(app) if m.recipient == "+34612000001"]) == 1
    response = client.post("/login/code", data={"code": first, "csrf_token": token(client)})
    assert response.headers["Location"] == "/mi-area"


def test_after_the_wait_a_new_code_replaces_the_first(app, client, member):
    at_code_page(client)
    first = last_code(app, "+34612000001")
    age_codes(app)
    response = client.post("/login/code/resend", data={"csrf_token": token(client)})
    assert response.headers["Location"] == "/login/code"
    assert "We have sent you a new code." in text(client.get("/login/code"))
    sms = [m for m in outbox(app) if m.recipient == "+34612000001"]
    assert len(sms) == 2
    new = last_code(app, "+34612000001")
    if new != first:
        refused = post(client, "/login/code", {"code": first})
        assert refused.status_code == 422
    assert post(client, "/login/code", {"code": new}).headers["Location"] == "/mi-area"


def test_a_new_code_without_a_sign_in_under_way_goes_back_to_the_password(app, client, member):
    response = client.post("/login/code/resend", data={"csrf_token": token(client)})
    assert response.headers["Location"] == "/login"


def test_a_person_with_only_email_is_offered_no_other_channel(app, client, member):
    update_user(app, member, mobile=None)
    at_code_page(client, "email")
    assert "Use another way to get the code" not in text(client.get("/login/code"))

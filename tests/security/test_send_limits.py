"""A signed-in user cannot make the portal send codes without end: every page that sends one is limited per
user and per destination, refuses with a message naming the wait, sends nothing and keeps what was typed."""

import pytest

from mgd.config import parse_rate
from mgd.notify.models import OutboxMessage
from tests.factories import PASSWORD
from tests.kit import csrf_token, outbox, post, sign_in, text

USER_LIMIT = 10  # the default MGD_SEND_LIMIT_USER: 10/15min


def sent_since(app, first: int) -> list[OutboxMessage]:
    return [message for message in outbox(app) if message.id > first]


def last_id(app) -> int:
    messages = outbox(app)
    return messages[-1].id if messages else 0


def number(n: int) -> str:
    return f"6{n:08d}"


def signed_in_with_email_code(app, client):
    assert sign_in(app, client, channel="email").headers["Location"] == "/mi-area"


PAGES = {
    "/perfil/movil": lambda n: {"mo-mobile": number(n)},
    "/perfil/email": lambda n: {"em-email": f"someone{n}@example.net"},
    "/mi-area/bienvenida": lambda n: {"name": "Ana Ruiz", "mobile": number(n), "accept_terms": "y"},
}


@pytest.mark.parametrize("page", PAGES)
def test_a_user_cannot_send_codes_to_arbitrary_destinations_without_end(app, client, member, page):
    signed_in_with_email_code(app, client)
    first = last_id(app)
    token = csrf_token(client, "/perfil")
    statuses = [
        client.post(page, data={**PAGES[page](n), "csrf_token": token}).status_code for n in range(150)
    ]
    assert statuses[: USER_LIMIT - 1] == [302] * (USER_LIMIT - 1)  # the sign-in code spent one
    assert set(statuses[USER_LIMIT - 1 :]) == {429}
    assert len(sent_since(app, first)) == USER_LIMIT - 1
    refused = client.post(page, data={**PAGES[page](999), "csrf_token": token})
    page_text = text(refused)
    assert "You have asked for too many codes in a short time. Try again in" in page_text
    typed = next(iter(PAGES[page](999).values()))
    assert f'value="{typed}"' in page_text  # what was typed stays in the form


def test_the_sign_in_code_cannot_be_asked_for_without_end(app, client, member):
    post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    first = last_id(app)
    token = csrf_token(client, "/login/channel")
    statuses = [
        client.post("/login/channel", data={"channel": "sms", "csrf_token": token}).status_code
        for _ in range(150)
    ]
    assert statuses[:5] == [302] * 5  # MGD_SEND_LIMIT_DESTINATION: 5/15min to the user's mobile
    assert set(statuses[5:]) == {429}
    assert [m.recipient for m in sent_since(app, first)] == ["+34612000001"] * 5
    refused = client.post("/login/channel", data={"channel": "sms", "csrf_token": token})
    assert "Too many messages have been sent to this number or address" in text(refused)


def test_two_users_share_the_limit_of_one_destination(app, client, member, monkeypatch):
    monkeypatch.setitem(app.config, "SEND_LIMIT_DESTINATION", parse_rate("2/15min"))
    signed_in_with_email_code(app, client)
    token = csrf_token(client, "/perfil")
    victim = {"mo-mobile": "699 000 111", "csrf_token": token}
    assert [client.post("/perfil/movil", data=victim).status_code for _ in range(3)] == [302, 302, 429]
    assert [m.recipient for m in outbox(app)].count("+34699000111") == 2


def test_the_forgotten_password_is_limited_per_destination(app, client, member, monkeypatch):
    monkeypatch.setitem(app.config, "SEND_LIMIT_DESTINATION", parse_rate("2/15min"))
    token = csrf_token(client, "/password/forgot")
    asks = [
        client.post(
            "/password/forgot", data={"email": email, "channel": "email", "csrf_token": token}
        ).status_code
        for email in ["ana@example.es"] * 3 + ["nobody@example.net"] * 3
    ]
    assert asks == [302, 302, 429] * 2  # known or not, the same answers
    refused = client.post(
        "/password/forgot", data={"email": "nobody@example.net", "channel": "email", "csrf_token": token}
    )
    assert "Try again in" in text(refused) and 'value="nobody@example.net"' in text(refused)
    recipients = [m.recipient for m in outbox(app)]
    assert (recipients.count("ana@example.es"), recipients.count("nobody@example.net")) == (2, 2)


def test_the_company_cap_stops_every_member(app, client, member, monkeypatch):
    monkeypatch.setitem(app.config, "SEND_LIMIT_COMPANY_HOUR", parse_rate("3/hour"))
    signed_in_with_email_code(app, client)  # one
    token = csrf_token(client, "/perfil")
    statuses = [
        client.post("/perfil/movil", data={"mo-mobile": number(n), "csrf_token": token}).status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]
    assert "Your company has been sent too many messages" in text(
        client.post("/perfil/movil", data={"mo-mobile": number(7), "csrf_token": token})
    )

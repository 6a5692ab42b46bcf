"""The chat for visitors who are not signed in (issue #15): the help button of the registration pages opens a
conversation carrying the page and the registration's step and fiscal ID; an advisor sees it in the desk's
queue marked "visitor" with the fiscal ID's refusals, takes it, answers and closes it; the visitor reads the
answers. Only the session that opened it reads it (another browser, a signed-in member: 404). Out of hours it
is a message answered by email, refused without an email (call 1489). The bounds are the database's, refused
with a message that names the field. Spanish and English."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from mgd.chat import visitors
from mgd.chat.visitor_models import MAX_OPEN, MAX_VISITOR_MESSAGES, VisitorChat
from mgd.db import get_session, utcnow
from mgd.extensions import limiter
from mgd.security.models import AuditEvent
from tests.chat.visitor_kit import open_visitor_chat, opened, visitor_chat, visitor_messages
from tests.factories import COMPANIES
from tests.kit import browser, outbox, post, signed_in_client, speak, text, token
from tests.orders.kit import advisor


def at_desk(app, name="advisor"):
    desk = advisor(app, name)
    assert desk.get("/backoffice/chat").status_code == 200
    return desk


def registering(app):
    """A visitor whose registration is at the phone step (one refusal of the same fiscal ID before it)."""
    client = browser(app)
    refused = post(client, "/register", {"fiscal_id": COMPANIES["both"]["fiscal_id"], "email": "nobody@x.es"})
    assert refused.status_code == 422
    identified = post(
        client, "/register", {"fiscal_id": COMPANIES["both"]["fiscal_id"], "email": "ambos@example.es"}
    )
    assert identified.headers["Location"] == "/register/phone"
    return client


def test_the_registration_help_button_opens_a_visitor_chat_with_its_context(app, companies, chat_open):
    desk = at_desk(app)
    vera = registering(app)
    page = text(vera.get("/register/phone"))
    assert "/ayuda/chat/nueva?desde=/register/phone" in page
    number = opened(vera, desde="/register/phone")
    chat = visitor_chat(app, number)
    assert (chat.state, chat.mode, chat.page, chat.step) == ("waiting", "live", "/register/phone", "phone")
    assert chat.fiscal_id == COMPANIES["both"]["fiscal_id"] and chat.email == "vera@example.es"
    queue = text(desk.get("/backoffice/chat"))
    assert f"Take visitor conversation {number}" in queue and "visitor: Vera" in queue
    detail = text(desk.get(f"/backoffice/chat/visitantes/{number}"))
    assert "I am stuck at the phone step" in detail
    assert "Registration refusals (90 days)</dt><dd>1: " in detail and "not_interlocutor" in detail
    assert ">phone<" in detail


def test_visitor_and_advisor_talk_then_close(app, companies, chat_open):
    desk = at_desk(app)
    vera = registering(app)
    number = opened(vera)
    base = f"/backoffice/chat/visitantes/{number}"
    assert desk.post(f"{base}/take", data={"csrf_token": token(desk)}).status_code == 302
    assert visitor_chat(app, number).state == "active"
    answered = desk.post(
        f"{base}/reply",
        data={"reply-body": "Which number did you give?", "reply-csrf_token": token(desk)},
        headers={"Accept": "application/json"},
    )
    assert answered.get_json()["body"] == "Which number did you give?"
    news = vera.get(f"/ayuda/chat/{number}/novedades?after=0").get_json()
    assert news["state"] == "active" and news["advisor"] == "Advisor"
    assert [m["body"] for m in news["messages"]][-1] == "Which number did you give?"
    page = text(vera.get(f"/ayuda/chat/{number}"))
    assert "Which number did you give?" in page and "Advisor has joined the conversation." in page
    written = vera.post(f"/ayuda/chat/{number}", data={"body": "922222222", "csrf_token": token(vera)})
    assert written.status_code == 302
    assert "922222222" in text(desk.get(base))
    assert desk.post(f"{base}/close", data={"csrf_token": token(desk)}).status_code == 302
    closed = vera.post(f"/ayuda/chat/{number}", data={"body": "Hello?", "csrf_token": token(vera)})
    assert closed.status_code == 409 and "This conversation is closed" in text(closed)
    assert [a for a, _b in visitor_messages(app, number)] == [
        "visitor",
        "system",
        "advisor",
        "visitor",
        "system",
    ]
    assert not [m for m in outbox(app) if m.recipient == "vera@example.es"]  # live: nothing emailed


def test_two_advisors_taking_one_visitor_the_second_is_told(app, companies, chat_open):
    first, second = at_desk(app, "first"), at_desk(app, "second")
    number = opened(registering(app))
    base = f"/backoffice/chat/visitantes/{number}"
    assert first.post(f"{base}/take", data={"csrf_token": token(first)}).status_code == 302
    late = second.post(f"{base}/take", data={"csrf_token": token(second)})
    assert late.status_code == 409 and "Someone else changed this conversation meanwhile" in text(late)
    refused = second.post(f"{base}/reply", data={"reply-body": "Me too", "reply-csrf_token": token(second)})
    assert refused.status_code == 409
    assert visitor_chat(app, number).advisor_id is not None


def test_another_session_cannot_read_a_visitors_conversation(app, acme, companies, chat_open):
    vera = registering(app)
    number = opened(vera)
    other = browser(app)
    opened(other, name="Otto", body="Another question")  # a session with a key of its own
    ana = signed_in_client(app, "ana@acme.es")
    for client in (other, browser(app)):
        assert client.get(f"/ayuda/chat/{number}").status_code == 404
        assert client.get(f"/ayuda/chat/{number}/novedades?after=0").status_code == 404
        assert (
            client.post(f"/ayuda/chat/{number}", data={"body": "x", "csrf_token": token(client)}).status_code
            == 404
        )
        assert (
            client.post(f"/ayuda/chat/{number}/cerrar", data={"csrf_token": token(client)}).status_code == 404
        )
        assert "I am stuck" not in text(client.get("/ayuda/chat"))
    # a signed-in member has the company's chat, never a visitor's conversation nor the desk's
    for url in (f"/ayuda/chat/{number}", "/ayuda/chat", f"/ayuda/chat/{number}/novedades"):
        assert ana.get(url).status_code == 302
    assert ana.get(f"/backoffice/chat/visitantes/{number}").status_code in (403, 404)
    assert "I am stuck" not in text(ana.get(f"/empresa/{acme.ref}/chat"))
    assert visitor_messages(app, number) == [("visitor", "I am stuck at the phone step")]
    assert vera.get(f"/ayuda/chat/{number}").status_code == 200


def test_the_session_key_is_never_in_an_address(app, companies, chat_open):
    vera = registering(app)
    response = open_visitor_chat(vera)
    assert response.headers["Location"].startswith("/ayuda/chat/")
    with app.app_context():
        chat = get_session().get(VisitorChat, int(response.headers["Location"].rsplit("/", 1)[1]))
        assert len(chat.session_hash) == 64
    page = text(vera.get(response.headers["Location"]))
    assert chat.session_hash not in page


def test_out_of_hours_with_an_email_is_a_message_answered_by_email(app, companies, chat_closed):
    vera = registering(app)
    start = text(vera.get("/ayuda/chat/nueva"))
    assert "No advisor can answer right now" in start and "1489" in start
    number = opened(vera)
    chat = visitor_chat(app, number)
    assert chat.mode == "message" and chat.answer_by is not None
    assert "we will email you the answer" in text(vera.get(f"/ayuda/chat/{number}"))
    desk = at_desk(app)
    base = f"/backoffice/chat/visitantes/{number}"
    assert desk.post(f"{base}/take", data={"csrf_token": token(desk)}).status_code == 302
    assert (
        desk.post(
            f"{base}/reply", data={"reply-body": "Call us", "reply-csrf_token": token(desk)}
        ).status_code
        == 302
    )
    mails = [m for m in outbox(app) if m.recipient == "vera@example.es"]
    assert len(mails) == 1 and "Call us" in mails[0].body_text and "Hello Vera," in mails[0].body_text


def test_out_of_hours_without_an_email_says_to_call(app, companies, chat_closed):
    vera = registering(app)
    refused = open_visitor_chat(vera, email="")
    html = text(refused)
    assert refused.status_code == 422
    assert open_visitor_chat(vera, email="   ").status_code == 422  # blanks are no email
    assert "give your email to get the answer, or call 1489" in html and 'href="#email"' in html
    with app.app_context():
        assert get_session().query(VisitorChat).count() == 0


def test_a_live_visitor_nobody_takes_without_an_email_is_told_to_call(app, companies, chat_open):
    at_desk(app)
    vera = registering(app)
    number = opened(vera, email="")
    with app.app_context():
        session = get_session()
        session.execute(
            update(VisitorChat)
            .where(VisitorChat.id == number)
            .values(queued_at=utcnow() - timedelta(minutes=11))
        )
        session.commit()
    page = text(vera.get(f"/ayuda/chat/{number}"))
    assert "No advisor could take the conversation live. Please call 1489." in page
    text(vera.get(f"/ayuda/chat/{number}"))
    assert [b for a, b in visitor_messages(app, number) if a == "system"] == ["to_phone:"]
    assert visitor_chat(app, number).answer_by is None


def test_at_most_three_open_conversations_per_session(app, companies, chat_open):
    vera = registering(app)
    numbers = [opened(vera, body=f"Question {n}") for n in range(MAX_OPEN)]
    refused = open_visitor_chat(vera, body="One more")
    assert refused.status_code == 409
    assert "You already have 3 conversations open: end one of them to open another." in text(refused)
    assert vera.post(f"/ayuda/chat/{numbers[0]}/cerrar", data={"csrf_token": token(vera)}).status_code == 302
    assert visitor_chat(app, numbers[0]).state == "closed"
    again = opened(vera, body="Now it fits")
    assert visitor_chat(app, again).slot == visitor_chat(app, numbers[0]).slot


def test_the_database_refuses_a_fourth_open_slot(app):
    with app.app_context():
        session = get_session()
        for slot in (1, 2, 3):
            session.add(VisitorChat(session_hash="a" * 64, slot=slot, name="V", locale="es"))
        session.flush()
        session.add(VisitorChat(session_hash="a" * 64, slot=4, name="V", locale="es"))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
        session.add(VisitorChat(session_hash="b" * 64, slot=1, name="V", locale="es"))
        session.add(VisitorChat(session_hash="b" * 64, slot=1, name="V", locale="es"))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_messages_are_bounded_in_number_and_length(app, companies, chat_open):
    vera = registering(app)
    number = opened(vera)
    long = vera.post(f"/ayuda/chat/{number}", data={"body": "x" * 1001, "csrf_token": token(vera)})
    assert long.status_code == 422 and 'href="#body"' in text(long)
    for n in range(MAX_VISITOR_MESSAGES - 1):
        sent = vera.post(f"/ayuda/chat/{number}", data={"body": f"m{n}", "csrf_token": token(vera)})
        assert sent.status_code == 302, n
    over = vera.post(f"/ayuda/chat/{number}", data={"body": "one more", "csrf_token": token(vera)})
    html = text(over)
    assert over.status_code == 409 and "You have written the most messages a conversation takes (20)" in html
    assert 'href="#body"' in html
    assert visitor_chat(app, number).visitor_messages == MAX_VISITOR_MESSAGES
    assert len([m for m in visitor_messages(app, number) if m[0] == "visitor"]) == MAX_VISITOR_MESSAGES


def test_opening_is_rate_limited_per_address(app, companies, chat_open):
    limiter.reset()
    codes = []
    for n in range(11):
        client = browser(app)  # a new session each time: only the address is counted
        codes.append(open_visitor_chat(client, body=f"q{n}").status_code)
    assert codes[:10] == [302] * 10 and codes[10] == 429
    limiter.reset()
    with app.app_context():
        events = (
            get_session()
            .scalars(select(AuditEvent).where(AuditEvent.action == "registration.chat_rate_limited"))
            .all()
        )
        assert [e.detail["page"] for e in events] == ["visitor_chat.start"]


def test_no_files_and_no_company_data_for_visitors(app, companies, chat_open):
    desk = at_desk(app)
    number = opened(registering(app))
    page = text(desk.get(f"/backoffice/chat/visitantes/{number}"))
    assert 'type="file"' not in page and "Lines in service" not in page
    assert "do not give any company" in page
    assert desk.post(f"/backoffice/chat/visitantes/{number}/adjuntos").status_code in (404, 405)


def test_the_visitor_chat_in_spanish(app, companies, chat_closed):
    vera = speak(registering(app), "es")
    start = text(vera.get("/ayuda/chat/nueva"))
    assert "Tu nombre" in start and "llama al 1489" in start and "Chatear con un asesor" in start
    refused = open_visitor_chat(vera, email="")
    assert "llama al 1489" in text(refused)
    number = opened(vera)
    assert "te enviaremos la respuesta por email" in text(vera.get(f"/ayuda/chat/{number}"))
    desk = at_desk(app)
    base = f"/backoffice/chat/visitantes/{number}"
    desk.post(f"{base}/take", data={"csrf_token": token(desk)})
    desk.post(f"{base}/reply", data={"reply-body": "Hola", "reply-csrf_token": token(desk)})
    mail = [m for m in outbox(app) if m.recipient == "vera@example.es"][-1]
    assert "Hola, Vera:" in mail.body_text


def test_the_retention_job_removes_old_closed_visitor_conversations(app, companies, chat_open):
    vera = registering(app)
    number = opened(vera)
    vera.post(f"/ayuda/chat/{number}/cerrar", data={"csrf_token": token(vera)})
    with app.app_context():
        session = get_session()
        session.execute(
            update(VisitorChat)
            .where(VisitorChat.id == number)
            .values(closed_at=utcnow() - timedelta(days=800))
        )
        assert visitors.purge(session, utcnow() - timedelta(days=730)) == 1
        assert visitors.purge(session, utcnow() - timedelta(days=730)) == 0
        session.commit()
        assert session.get(VisitorChat, number) is None
    assert visitor_messages(app, number) == []

"""A live conversation nobody takes: after ``CHAT_LIVE_WAIT_MINUTES`` in the queue, or as soon as the chat
closes, it becomes a message — the customer is shown when it will be answered, the answer is emailed. Done at
read time (the customer's page and news, the desk, the advisor's page) by one conditional UPDATE: reading
again changes nothing twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from mgd.chat import services
from mgd.chat.hours import Hours
from mgd.chat.models import Conversation
from mgd.db import get_session, set_tenant, utcnow
from tests.chat.kit import conversation, messages, open_chat
from tests.chat.test_flow import at_desk
from tests.kit import outbox, signed_in_client, speak, text, token


def queued_ago(app, company_id: int, number: int, minutes: int) -> None:
    with app.app_context():
        session = get_session()
        set_tenant(session, company_id)
        session.execute(
            update(Conversation)
            .where(Conversation.id == number)
            .values(queued_at=utcnow() - timedelta(minutes=minutes))
        )
        session.commit()


def test_a_live_conversation_left_waiting_becomes_a_message_once(app, acme, chat_open):
    desk = at_desk(app)
    ana = signed_in_client(app, "ana@acme.es")
    number = open_chat(ana, acme.ref)
    assert conversation(app, acme.id, number).mode == "live"
    queued_ago(app, acme.id, number, 9)
    ana.get(f"/empresa/{acme.ref}/chat/{number}")
    assert conversation(app, acme.id, number).mode == "live"  # not yet ten minutes
    queued_ago(app, acme.id, number, 11)
    page = text(ana.get(f"/empresa/{acme.ref}/chat/{number}"))
    moved = conversation(app, acme.id, number)
    assert (moved.mode, moved.state) == ("message", "waiting") and moved.answer_by is not None
    assert "An advisor will answer by" in page and "we will email you the answer" in page
    assert "No advisor could take the conversation live" in page
    # read again, by both sides: nothing moves twice
    for _ in range(2):
        ana.get(f"/empresa/{acme.ref}/chat/{number}/novedades?after=0")
        desk.get("/backoffice/chat")
        desk.get(f"/backoffice/chat/{number}")
    assert [m for m in messages(app, acme.id, number) if m[1] == "to_message:"] == [("system", "to_message:")]
    assert conversation(app, acme.id, number).answer_by == moved.answer_by
    # the advisor's answer is now emailed
    assert desk.post(f"/backoffice/chat/{number}/take", data={"csrf_token": token(desk)}).status_code == 302
    before = len(outbox(app))
    reply = desk.post(
        f"/backoffice/chat/{number}/reply", data={"reply-body": "Ya está", "csrf_token": token(desk)}
    )
    assert reply.status_code == 302
    assert [m.recipient for m in outbox(app)[before:]] == ["ana@acme.es"]


def test_when_the_chat_closes_the_waiting_live_ones_become_messages(app, acme, chat_open, monkeypatch):
    desk = at_desk(app)
    ana = signed_in_client(app, "ana@acme.es")
    waiting = open_chat(ana, acme.ref)
    taken = open_chat(ana, acme.ref, body="Second")
    assert desk.post(f"/backoffice/chat/{taken}/take", data={"csrf_token": token(desk)}).status_code == 302
    monkeypatch.setattr(Hours, "is_open", lambda self, now=None: False)
    assert "Acme S.L." in text(desk.get("/backoffice/chat"))
    assert conversation(app, acme.id, waiting).mode == "message"
    assert conversation(app, acme.id, taken).mode == "live"  # an advisor has it: it stays live
    with app.app_context():
        assert services.left_waiting(get_session()) == 0  # a job run after: nothing more


def test_the_job_form_moves_every_companys_and_is_idempotent(app, acme, beta, chat_open):
    at_desk(app)
    ana = signed_in_client(app, "ana@acme.es")
    dora = signed_in_client(app, "dora@beta.es")
    numbers = [(acme.id, open_chat(ana, acme.ref)), (beta.id, open_chat(dora, beta.ref))]
    for company_id, number in numbers:
        queued_ago(app, company_id, number, 30)
    with app.app_context():
        session = get_session()
        assert services.left_waiting(session) == 2
        session.commit()
        assert services.left_waiting(session) == 0
    assert all(conversation(app, c, n).mode == "message" for c, n in numbers)


def test_spanish_words_for_the_move(app, acme, chat_open):
    at_desk(app)
    ana = speak(signed_in_client(app, "ana@acme.es"), "es")
    number = open_chat(ana, acme.ref)
    queued_ago(app, acme.id, number, 11)
    page = text(ana.get(f"/empresa/{acme.ref}/chat/{number}"))
    assert "Ningún asesor ha podido atender la conversación en directo" in page

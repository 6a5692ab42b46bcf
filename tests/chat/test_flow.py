"""The chat end to end with the test client: a member opens a conversation from a company page with its
context, an advisor takes it from the desk, they write to each other (the news read by id), the advisor hands
it on and closes it with a reason, the customer rates it once. Out of hours (or with no advisor online) it is a
message answered later by email. Administrators read the company's transcripts; other members their own."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from mgd.chat.models import Conversation
from mgd.db import get_session, operator_scope, set_tenant, utcnow
from tests.accounts import add_order
from tests.chat.kit import conversation, messages, open_chat, surveys
from tests.kit import outbox, post, signed_in_client, speak, text, token
from tests.orders.kit import advisor


def at_desk(app, name="advisor"):
    """An advisor signed in whose desk page is open (so online)."""
    desk = advisor(app, name)
    assert desk.get("/backoffice/chat").status_code == 200
    return desk


def test_the_help_button_opens_a_conversation_with_its_context(app, acme, chat_open):
    order = add_order(app, acme)
    ana = signed_in_client(app, "ana@acme.es")
    page = text(ana.get(f"/empresa/{acme.ref}/pedidos/{order}"))
    assert (
        f"/empresa/{acme.ref}/chat/nueva?desde=/empresa/{acme.ref}/pedidos/{order}&amp;pedido={order}" in page
    )
    desk = at_desk(app)
    number = open_chat(ana, acme.ref, desde=f"/empresa/{acme.ref}/pedidos/{order}", pedido=order)
    opened = conversation(app, acme.id, number)
    assert (opened.state, opened.mode, opened.order_id) == ("waiting", "live", order)
    assert opened.page == f"/empresa/{acme.ref}/pedidos/{order}"
    queue = text(desk.get("/backoffice/chat"))
    assert f"Take conversation {number}" in queue and "Acme S.L." in queue
    detail = text(desk.get(f"/backoffice/chat/{number}"))
    assert "My invoice looks wrong" in detail
    assert "Lines in service" in detail and ">3<" in detail  # acme's three lines
    assert "Open orders" in detail and f"/backoffice/pedidos/{order}" in detail


def test_customer_and_advisor_talk_then_close_and_rate_once(app, acme, chat_open):
    desk = at_desk(app)
    ana = signed_in_client(app, "ana@acme.es")
    number = open_chat(ana, acme.ref)
    base = f"/backoffice/chat/{number}"
    assert desk.post(f"{base}/take", data={"csrf_token": token(desk)}).status_code == 302
    assert conversation(app, acme.id, number).state == "active"
    news = ana.get(f"/empresa/{acme.ref}/chat/{number}/novedades?after=0").get_json()
    assert news["state"] == "active" and news["advisor"] == "Advisor"
    seen = news["messages"][-1]["id"]
    # a canned answer, then a written one (asked as JSON, as the page's script does)
    assert (
        desk.post(
            f"{base}/reply", data={"reply-canned": "hello", "reply-body": "", "reply-csrf_token": token(desk)}
        ).status_code
        == 302
    )
    answered = desk.post(
        f"{base}/reply",
        data={"reply-body": "Which invoice?", "reply-csrf_token": token(desk)},
        headers={"Accept": "application/json"},
    )
    assert answered.get_json()["body"] == "Which invoice?"
    news = ana.get(f"/empresa/{acme.ref}/chat/{number}/novedades?after={seen}").get_json()
    assert [m["body"] for m in news["messages"]] == [
        "Hello, I am your advisor. How can I help you?",
        "Which invoice?",
    ]
    assert (
        ana.post(
            f"/empresa/{acme.ref}/chat/{number}", data={"body": "October's", "csrf_token": token(ana)}
        ).status_code
        == 302
    )
    desk_news = desk.get(f"{base}/novedades?after={news['messages'][-1]['id']}").get_json()
    assert [m["body"] for m in desk_news["messages"]] == ["October's"]
    # closing needs a reason, and "other" a note
    refused = desk.post(f"{base}/close", data={"close-reason": "other", "close-csrf_token": token(desk)})
    assert refused.status_code == 422 and "Say why the conversation is closed." in text(refused)
    assert (
        desk.post(
            f"{base}/close", data={"close-reason": "solved", "close-csrf_token": token(desk)}
        ).status_code
        == 302
    )
    closed = conversation(app, acme.id, number)
    assert (closed.state, closed.close_reason) == ("closed", "solved")
    refused = ana.post(f"/empresa/{acme.ref}/chat/{number}", data={"body": "Wait", "csrf_token": token(ana)})
    assert refused.status_code == 409 and "This conversation is closed" in text(refused)
    page = text(ana.get(f"/empresa/{acme.ref}/chat/{number}"))
    assert "How did it go?" in page
    url = f"/empresa/{acme.ref}/chat/{number}/encuesta"
    missing = ana.post(url, data={"comment": "x", "csrf_token": token(ana)})
    assert missing.status_code == 422 and "This field is required." in text(missing)
    assert ana.post(url, data={"score": "5", "comment": "Quick", "csrf_token": token(ana)}).status_code == 302
    again = ana.post(url, data={"score": "1", "csrf_token": token(ana)})
    assert again.status_code == 409 and "You have already rated this conversation." in text(again)
    assert surveys(app, acme.id) == [(number, 5)]
    results = text(desk.get("/backoffice/chat/encuestas", follow_redirects=True))
    assert "Advisor" in results and "5.0" in results
    found = text(desk.get("/backoffice/chat/transcripciones?q=octob"))
    assert "October&#39;s" in found and "Acme S.L." in found


def test_a_closed_chat_or_no_advisor_makes_a_message_answered_by_email(app, acme, chat_closed):
    ana = signed_in_client(app, "ana@acme.es")
    page = text(ana.get(f"/empresa/{acme.ref}/chat/nueva"))
    assert "No advisor can answer right now" in page and "Leave the message" in page
    number = open_chat(ana, acme.ref, body="Please call me back")
    opened = conversation(app, acme.id, number)
    assert opened.mode == "message" and opened.answer_by is not None
    assert "An advisor will answer by" in text(ana.get(f"/empresa/{acme.ref}/chat/{number}"))
    desk = advisor(app)
    desk.post(f"/backoffice/chat/{number}/take", data={"csrf_token": token(desk)})
    before = len(outbox(app))
    desk.post(
        f"/backoffice/chat/{number}/reply", data={"reply-body": "Called you", "reply-csrf_token": token(desk)}
    )
    mails = [m for m in outbox(app)[before:] if m.recipient == "ana@acme.es"]
    assert len(mails) == 1 and "An advisor has answered your message" in mails[0].subject
    assert "Called you" in mails[0].body_text


def test_open_hours_with_nobody_online_also_make_a_message(app, acme, chat_open):
    ana = signed_in_client(app, "ana@acme.es")
    assert conversation(app, acme.id, open_chat(ana, acme.ref)).mode == "message"
    desk = at_desk(app)
    with app.app_context():  # the advisor left the desk long ago
        get_session().execute(update_presence(utcnow() - timedelta(hours=1)))
        get_session().commit()
    assert conversation(app, acme.id, open_chat(ana, acme.ref)).mode == "message"
    assert desk.get("/backoffice/chat").status_code == 200
    assert conversation(app, acme.id, open_chat(ana, acme.ref)).mode == "live"


def update_presence(when):
    from mgd.chat.models import Presence  # noqa: PLC0415

    return update(Presence).values(seen_at=when)


def test_hand_on_to_the_queue_or_another_advisor(app, acme, chat_open):
    uno, dos = at_desk(app, "uno"), at_desk(app, "dos")
    ana = signed_in_client(app, "ana@acme.es")
    number = open_chat(ana, acme.ref)
    base = f"/backoffice/chat/{number}"
    uno.post(f"{base}/take", data={"csrf_token": token(uno)})
    page = text(uno.get(base))
    dos_id = int(re.search(r'<option value="(\d+)">Dos</option>', page).group(1))
    assert (
        uno.post(
            f"{base}/transfer", data={"transfer-to": str(dos_id), "transfer-csrf_token": token(uno)}
        ).status_code
        == 302
    )
    assert conversation(app, acme.id, number).advisor_id == dos_id
    # uno no longer has it: his reply is refused, and so is a second hand-on
    late = uno.post(f"{base}/reply", data={"reply-body": "Hi", "reply-csrf_token": token(uno)})
    assert late.status_code == 409 and "Someone else changed this conversation meanwhile" in text(late)
    assert (
        dos.post(
            f"{base}/transfer", data={"transfer-to": "queue", "transfer-csrf_token": token(dos)}
        ).status_code
        == 302
    )
    back = conversation(app, acme.id, number)
    assert (back.state, back.advisor_id) == ("waiting", None)
    bad = dos.post(f"{base}/take", data={"csrf_token": token(dos)})
    assert bad.status_code == 302
    wrong = dos.post(f"{base}/transfer", data={"transfer-to": "999999", "transfer-csrf_token": token(dos)})
    assert wrong.status_code == 422 and "Choose an advisor of the list" in text(wrong)
    assert [a for a, _ in messages(app, acme.id, number)].count("system") == 4


def test_administrators_read_every_transcript_members_their_own(app, acme, chat_open):
    bob = signed_in_client(app, "bob@acme.es")
    number = open_chat(bob, acme.ref, body="Bob's question")
    ana = signed_in_client(app, "ana@acme.es")
    assert "Bob&#39;s question" in text(ana.get(f"/empresa/{acme.ref}/chat/{number}"))
    assert f"/chat/{number}" in text(ana.get(f"/empresa/{acme.ref}/chat"))
    # the administrator reads but does not write in Bob's conversation
    assert (
        ana.post(
            f"/empresa/{acme.ref}/chat/{number}", data={"body": "x", "csrf_token": token(ana)}
        ).status_code
        == 403
    )
    carla = signed_in_client(app, "carla@acme.es")
    assert carla.get(f"/empresa/{acme.ref}/chat/{number}").status_code == 404
    assert carla.get(f"/empresa/{acme.ref}/chat/{number}/novedades").status_code == 404
    assert f"/chat/{number}" not in text(carla.get(f"/empresa/{acme.ref}/chat"))


def test_without_javascript_the_page_refreshes_and_the_form_posts(app, acme, chat_open):
    ana = signed_in_client(app, "ana@acme.es")
    number = open_chat(ana, acme.ref)
    page = text(ana.get(f"/empresa/{acme.ref}/chat/{number}"))
    assert '<noscript><meta http-equiv="refresh" content="10"></noscript>' in page
    assert "Refresh the messages" in page
    assert f'<form method="post" action="/empresa/{acme.ref}/chat/{number}"' in page
    assert (
        ana.post(
            f"/empresa/{acme.ref}/chat/{number}", data={"body": "", "csrf_token": token(ana)}
        ).status_code
        == 422
    )


def test_customer_ends_after_a_confirmation(app, acme, chat_open):
    ana = signed_in_client(app, "ana@acme.es")
    number = open_chat(ana, acme.ref)
    url = f"/empresa/{acme.ref}/chat/{number}/cerrar"
    asked = ana.post(url, data={"csrf_token": token(ana)})
    assert asked.status_code == 200 and "End the conversation" in text(asked)
    assert conversation(app, acme.id, number).state == "waiting"
    assert ana.post(url, data={"csrf_token": token(ana), "confirmed": "yes"}).status_code == 302
    assert conversation(app, acme.id, number).state == "closed"


def test_another_companys_order_is_not_kept_as_context(app, acme, beta, chat_open):
    theirs = add_order(app, beta)
    ana = signed_in_client(app, "ana@acme.es")
    number = open_chat(ana, acme.ref, pedido=theirs)
    assert conversation(app, acme.id, number).order_id is None
    assert ana.get(f"/empresa/{acme.ref}/chat/nueva?pedido=abc").status_code == 400


def test_spanish_pages(app, acme, chat_closed):
    ana = speak(signed_in_client(app, "ana@acme.es"), "es")
    page = text(ana.get(f"/empresa/{acme.ref}/chat/nueva"))
    assert "Iniciar una conversación" in page and "Dejar el mensaje" in page
    number = open_chat(ana, acme.ref)
    assert "Conversación" in text(ana.get(f"/empresa/{acme.ref}/chat/{number}"))
    home = text(ana.get(f"/empresa/{acme.ref}"))
    assert "Dejar un mensaje" in home


def test_the_retention_job_deletes_old_closed_transcripts(app, acme, chat_open):
    from mgd.chat.tasks import purge_chats  # noqa: PLC0415

    ana = signed_in_client(app, "ana@acme.es")
    old, recent, still_open = (open_chat(ana, acme.ref) for _ in range(3))
    for number, days in ((old, 800), (recent, 10)):
        post(ana, f"/empresa/{acme.ref}/chat/{number}", {"body": "bye"})
        ana.post(
            f"/empresa/{acme.ref}/chat/{number}/cerrar", data={"csrf_token": token(ana), "confirmed": "yes"}
        )
        ana.post(f"/empresa/{acme.ref}/chat/{number}/encuesta", data={"score": "4", "csrf_token": token(ana)})
        with app.app_context():
            session = get_session()
            set_tenant(session, acme.id)
            session.execute(
                update(Conversation)
                .where(Conversation.id == number)
                .values(closed_at=utcnow() - timedelta(days=days))
            )
            session.commit()
    with app.app_context():
        purge_chats.fn()
    with app.app_context():
        session = get_session()
        with operator_scope(session, "test"):
            left = {c.id for c in session.query(Conversation)}
    assert left == {recent, still_open}
    assert messages(app, acme.id, old) == []
    assert len(surveys(app, acme.id)) == 2  # the scores outlive the transcript


def test_the_help_status_renders_in_a_job_without_a_request(app):
    """Emails rendered by actors (an order completed by the provisioning job) read ``help`` too."""
    from flask import render_template_string  # noqa: PLC0415

    from mgd.notify.senders import in_language  # noqa: PLC0415

    with app.app_context(), in_language("en"):
        assert render_template_string("{{ help.phone }} {{ help.chat_url }}") == "1489 None"

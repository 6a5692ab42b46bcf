"""Chat news without polling (``mgd.chat.stream``): a notification wakes the request waiting on its
conversation and no other; a wait with nothing new answers "no news" when its time is up; a page worker (no
hub) never holds a request; another company's conversation is a 404 at once. Against a live server (real
commits; on PostgreSQL through LISTEN/NOTIFY on a connection of its own): an advisor's answer ends the
customer's waiting request with it, and a rolled-back message wakes nobody."""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import text as sql

from mgd.chat import stream
from mgd.chat.models import Message
from mgd.db import database, get_session, set_tenant
from tests.accounts import add_conversation, add_member, create_company
from tests.chat.kit import open_chat
from tests.kit import signed_in_client
from tests.live import Browser
from tests.orders.kit import advisor
from tests.orders.test_concurrency import advisor_at


def test_a_publish_wakes_the_waiter_of_its_conversation_only():
    hub = stream.Hub()
    with hub.ticket("1:7") as mine, hub.ticket("1:8") as other, hub.ticket("2:7") as elsewhere:
        assert hub.waiting() == 3
        hub.publish("1:7")
        assert mine.wait(1) is True
        assert other.wait(0.05) is False and elsewhere.wait(0.05) is False
        started = time.monotonic()
        assert mine.wait(0.2) is False  # re-armed: the same publish does not wake it twice
        assert time.monotonic() - started >= 0.19
        hub.wake_all()  # a lost LISTEN connection: everyone reads again
        assert other.wait(0) is True and elsewhere.wait(0) is True
    assert hub.waiting() == 0


def test_a_publish_between_the_read_and_the_wait_is_not_lost():
    hub = stream.Hub()
    with hub.ticket("1:7") as ticket:
        hub.publish("1:7")  # committed after the request read the database, before it waits
        assert ticket.wait(5) is True


def test_a_waiter_wakes_from_another_thread():
    hub = stream.Hub()
    with hub.ticket("3:9") as ticket:
        threading.Timer(0.1, hub.publish, ["3:9"]).start()
        started = time.monotonic()
        assert ticket.wait(5) is True
        assert time.monotonic() - started < 1


def _customer_and_conversation(app, acme, chat_open):
    at = advisor(app, "advisor")
    assert at.get("/backoffice/chat").status_code == 200
    ana = signed_in_client(app, "ana@acme.es")
    number = open_chat(ana, acme.ref)
    return ana, at, number


@pytest.fixture
def holding(app, monkeypatch):
    """This app holds waiting requests (as the stream process does), with no listener: waits read again
    every FALLBACK_CHECK_SECONDS, here shortened."""
    monkeypatch.setitem(app.extensions, stream._EXTENSION, stream.Hub())
    monkeypatch.setitem(app.config, "CHAT_WAIT_SECONDS", 1)
    monkeypatch.setattr(stream, "FALLBACK_CHECK_SECONDS", 0.3)


def test_the_wait_answers_at_once_with_news_and_empty_when_time_is_up(app, acme, chat_open, holding):
    ana, desk, number = _customer_and_conversation(app, acme, chat_open)
    url = f"/empresa/{acme.ref}/chat/{number}/espera"
    news = ana.get(f"{url}?after=0").get_json()
    assert news["state"] == "waiting" and [m["body"] for m in news["messages"]] == ["My invoice looks wrong"]
    last = news["messages"][-1]["id"]
    assert ana.get(f"/empresa/{acme.ref}/chat/{number}/novedades?after=0").get_json() == news
    started = time.monotonic()
    empty = ana.get(f"{url}?after={last}").get_json()
    assert empty == {"state": "waiting", "advisor": None, "messages": []}
    assert 0.9 <= time.monotonic() - started < 3
    # the desk's side: the same news as its polling endpoint
    desk_news = desk.get(f"/backoffice/chat/{number}/espera?after=0").get_json()
    assert desk_news == desk.get(f"/backoffice/chat/{number}/novedades?after=0").get_json()


def test_a_page_worker_never_holds_a_wait(app, acme, chat_open, monkeypatch):
    monkeypatch.setitem(app.config, "CHAT_WAIT_SECONDS", 30)
    ana, _desk, number = _customer_and_conversation(app, acme, chat_open)
    started = time.monotonic()
    news = ana.get(f"/empresa/{acme.ref}/chat/{number}/espera?after=999999").get_json()
    assert news["messages"] == [] and time.monotonic() - started < 2


def test_another_companys_conversation_is_a_404_at_once(app, acme, beta, chat_open, holding):
    theirs = add_conversation(app, beta)
    ana = signed_in_client(app, "ana@acme.es")
    started = time.monotonic()
    for path in (
        f"/empresa/{acme.ref}/chat/{theirs}/espera?after=0",
        f"/empresa/{beta.ref}/chat/{theirs}/espera?after=0",
    ):
        assert ana.get(path).status_code == 404
    assert time.monotonic() - started < 1


def test_a_member_waits_only_on_their_own_conversation(app, acme, chat_open, holding):
    ana = signed_in_client(app, "ana@acme.es")
    number = open_chat(ana, acme.ref)
    add_member(app, acme, "mia@acme.es", "viewer")
    mia = signed_in_client(app, "mia@acme.es")
    assert mia.get(f"/empresa/{acme.ref}/chat/{number}/espera?after=0").status_code == 404


def test_the_page_points_the_script_at_the_wait_when_configured(app, acme, chat_open, monkeypatch):
    ana, desk, number = _customer_and_conversation(app, acme, chat_open)
    page = f"/empresa/{acme.ref}/chat/{number}"
    assert "data-chat-wait" not in ana.get(page).get_data(as_text=True)
    monkeypatch.setitem(app.config, "CHAT_LONG_POLL", True)
    assert f'data-chat-wait="{page}/espera"' in ana.get(page).get_data(as_text=True)
    desk_page = desk.get(f"/backoffice/chat/{number}").get_data(as_text=True)
    assert f'data-chat-wait="/backoffice/chat/{number}/espera"' in desk_page


# ---- real commits: a live server holding waits ------------------------------------------------------------


@pytest.fixture
def stream_server(live_app, live_server, monkeypatch):
    """The live server as a stream process: a hub, listening on PostgreSQL."""
    hub = stream.serve_waits(live_app, database(live_app).engine)
    monkeypatch.setitem(live_app.config, "CHAT_WAIT_SECONDS", 10)
    try:
        yield live_server, hub
    finally:
        live_app.extensions.pop(stream._EXTENSION, None)
        hub.stop()


def _sign_in(app, base_url: str, email: str) -> Browser:
    from tests.factories import PASSWORD  # noqa: PLC0415
    from tests.kit import last_code  # noqa: PLC0415

    browser = Browser(base_url)
    assert browser.post("/login", {"email": email, "password": PASSWORD}).status_code == 302
    browser.post("/login/channel", {"channel": "email"})
    assert browser.post("/login/code", {"code": last_code(app, email)}).status_code == 302
    return browser


def test_an_answer_ends_the_customers_wait_at_once(live_app, stream_server):
    base_url, hub = stream_server
    company = create_company(live_app, "Acme S.L.", 1)
    add_member(live_app, company, "ana@acme.es", "admin")
    number = add_conversation(live_app, company, state="waiting")
    desk = advisor_at(live_app, base_url, "uno")
    page = f"/backoffice/chat/{number}"
    assert desk.post(f"{page}/take", {}, token=desk.token(page)).status_code == 302
    ana = _sign_in(live_app, base_url, "ana@acme.es")
    wait = f"/empresa/{company.ref}/chat/{number}/espera"
    last = ana.get(f"{wait}?after=0").json()["messages"][-1]["id"]
    answered = {}

    def waiting() -> None:
        answered["news"] = ana.get(f"{wait}?after={last}").json()
        answered["at"] = time.monotonic()

    waiter = threading.Thread(target=waiting)
    waiter.start()
    deadline = time.monotonic() + 5
    while hub.waiting() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hub.waiting() == 1
    sent = time.monotonic()
    assert (
        desk.post(f"{page}/reply", {"reply-body": "Which invoice?"}, token=desk.token(page)).status_code
        == 302
    )
    waiter.join(10)
    assert [m["body"] for m in answered["news"]["messages"]] == ["Which invoice?"]
    assert answered["at"] - sent < 2  # not the 10 s of the wait, nor a poll's interval


def test_a_committed_message_is_delivered_to_another_connection_and_a_rolled_back_one_is_not(
    live_app, stream_server
):
    """On PostgreSQL the news travels from the writing connection to the hub's LISTEN connection."""
    _base_url, hub = stream_server
    company = create_company(live_app, "Beta S.A.", 1)
    add_member(live_app, company, "dora@beta.es", "admin")
    number = add_conversation(live_app, company)
    name = stream.key(company.id, number)
    with hub.ticket(name) as ticket:
        if live_app.config["DATABASE_URL"].startswith("postgresql"):
            assert hub.listening.is_set()
        with live_app.app_context():
            session = get_session()
            set_tenant(session, company.id)
            session.add(Message(tenant_id=company.id, conversation_id=number, author="customer", body="x"))
            stream.announce(session, company.id, number)
            session.rollback()
        assert ticket.wait(1) is False  # (no listener on SQLite: the check interval is longer)
        with live_app.app_context():
            session = get_session()
            set_tenant(session, company.id)
            session.add(Message(tenant_id=company.id, conversation_id=number, author="customer", body="y"))
            stream.announce(session, company.id, number)
            started = time.monotonic()
            session.commit()
        assert ticket.wait(5) is True
        assert time.monotonic() - started < 1


@pytest.mark.skipif(
    "postgresql" not in os.environ.get("MGD_TEST_DATABASE_URL", ""),
    reason="LISTEN/NOTIFY is PostgreSQL's (CI runs this file there)",
)
def test_notify_reaches_a_listening_connection(live_app):
    """PostgreSQL itself: pg_notify in one transaction reaches a LISTEN on another connection at commit."""
    engine = database(live_app).engine
    import psycopg  # noqa: PLC0415

    with psycopg.connect(stream.listen_url(engine), autocommit=True) as listening:
        listening.execute(f"LISTEN {stream.CHANNEL}")
        with engine.begin() as connection:
            connection.execute(sql("SELECT pg_notify(:c, '5:42')"), {"c": stream.CHANNEL})
        notes = list(listening.notifies(timeout=2, stop_after=1))
    assert [(n.channel, n.payload) for n in notes] == [(stream.CHANNEL, "5:42")]

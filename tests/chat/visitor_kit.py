"""The visitor chat's test kit: a conversation opened from a registration page's help button, and what a test
reads back of it."""

from __future__ import annotations

import re

from sqlalchemy import select

from mgd.chat.visitor_models import VisitorChat, VisitorMessage
from mgd.db import get_session
from tests.kit import text, token


def open_visitor_chat(
    client, body: str = "I am stuck at the phone step", *, name="Vera", email="vera@example.es", desde=None
):
    """Post the visitor chat's start form as the help button leads to it; the response."""
    page = client.get("/ayuda/chat/nueva" + (f"?desde={desde}" if desde else ""))
    assert page.status_code == 200, text(page)
    found = re.search(r'id="page" name="page" type="hidden" value="([^"]*)"', text(page))
    return client.post(
        "/ayuda/chat/nueva",
        data={
            "name": name,
            "email": email or "",
            "body": body,
            "page": found.group(1) if found else "",
            "csrf_token": token(client),
        },
    )


def opened(client, **kwargs) -> int:
    response = open_visitor_chat(client, **kwargs)
    assert response.status_code == 302, text(response)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def visitor_chat(app, number: int) -> VisitorChat:
    with app.app_context():
        session = get_session()
        found = session.get(VisitorChat, number)
        session.expunge(found)
        return found


def visitor_messages(app, number: int) -> list[tuple[str, str]]:
    with app.app_context():
        rows = get_session().execute(
            select(VisitorMessage.author, VisitorMessage.body)
            .where(VisitorMessage.chat_id == number)
            .order_by(VisitorMessage.id)
        )
        return [tuple(row) for row in rows]


def add_visitor_chat(app) -> int:
    """A waiting visitor conversation of a session no test browser has (so a visitor's walk gets a 404)."""
    with app.app_context():
        session = get_session()
        chat = VisitorChat(session_hash="0" * 64, slot=1, name="Walker", locale="es", state="waiting")
        session.add(chat)
        session.flush()
        session.add(VisitorMessage(chat_id=chat.id, author="visitor", body="Hello"))
        session.commit()
        return chat.id

"""The chat's test kit: a conversation opened from the help button, the ids a test reads back."""

from __future__ import annotations

import re

from sqlalchemy import select

from mgd.chat.models import Conversation, Message, Survey
from mgd.db import get_session, set_tenant
from tests.kit import text, token


def open_chat(client, ref: str, body: str = "My invoice looks wrong", **args) -> int:
    """Open a conversation as the help button does; its number."""
    query = "&".join(f"{k}={v}" for k, v in args.items())
    page = client.get(f"/empresa/{ref}/chat/nueva" + (f"?{query}" if query else ""))
    assert page.status_code == 200, text(page)
    form = text(page)
    page_value = re.search(r'id="page" name="page" type="hidden" value="([^"]*)"', form)
    order_value = re.search(r'id="order" name="order" type="hidden" value="([^"]*)"', form)
    response = client.post(
        f"/empresa/{ref}/chat/nueva",
        data={
            "body": body,
            "page": page_value.group(1) if page_value else "",
            "order": order_value.group(1) if order_value else "",
            "csrf_token": token(client),
        },
    )
    assert response.status_code == 302, text(response)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def conversation(app, company_id: int, number: int) -> Conversation:
    with app.app_context():
        session = get_session()
        set_tenant(session, company_id)
        found = session.get(Conversation, number)
        session.expunge(found)
        return found


def messages(app, company_id: int, number: int) -> list[tuple[str, str]]:
    with app.app_context():
        session = get_session()
        set_tenant(session, company_id)
        rows = session.execute(
            select(Message.author, Message.body).where(Message.conversation_id == number).order_by(Message.id)
        ).all()
        return [tuple(row) for row in rows]


def surveys(app, company_id: int) -> list[tuple[int, int]]:
    with app.app_context():
        session = get_session()
        set_tenant(session, company_id)
        return [tuple(r) for r in session.execute(select(Survey.conversation_id, Survey.score)).all()]

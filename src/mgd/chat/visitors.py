"""The chat with visitors who are not signed in (a stuck registration, a Grandes Clientes request): fewer
rights than a member's chat. Text only, no company's data, at most ``MAX_OPEN`` open conversations per browser
session and ``MAX_VISITOR_MESSAGES`` messages of ``MAX_VISITOR_BODY`` characters each, all held by the
database (a unique open slot, a conditional counter). Services flush, never commit.

The visitor is known only by a random key in their Flask session (``session_hash`` is its SHA-256): every
read of a conversation on the visitor's side is ``WHERE id = :id AND session_hash = :hash``. The advisor's
moves are the desk's: one conditional ``UPDATE … WHERE state = … RETURNING id``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from mgd.chat.services import Closed, Stale, hours, live_now
from mgd.chat.visitor_models import (
    MAX_OPEN,
    MAX_VISITOR_BODY,
    MAX_VISITOR_MESSAGES,
    VisitorChat,
    VisitorMessage,
)
from mgd.db import operator_scope, utcnow
from mgd.notify.senders import templated_mail
from mgd.notify.services import queue_mail
from mgd.security.models import AuditEvent, User

POLL_LIMIT = 200
REFUSALS_DAYS = 90


class TooManyOpen(Exception):
    """The session has its ``MAX_OPEN`` open conversations already."""


class TooManyMessages(Exception):
    """The visitor has written ``MAX_VISITOR_MESSAGES`` messages in this conversation."""


class NeedsEmail(Exception):
    """Nobody can answer live now and the visitor gave no email to answer to."""


def new_key() -> str:
    return secrets.token_urlsafe(32)


def session_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Registration:
    """Where the visitor's registration is, read from its own row (the key the registration keeps in the
    session); ``step`` None for a Grandes Clientes request, which has no flow."""

    step: str | None
    fiscal_id: str | None


def registration_of(session: Session, flow_token: str | None, large_account: dict | None) -> Registration:
    """The registration in progress in the visitor's session, if any (the registration's table is read by
    name: the chat does not import the registration's code)."""
    if flow_token:
        row = session.execute(
            text("SELECT state, fiscal_id FROM registration_flows WHERE token = :token"),
            {"token": flow_token},
        ).first()
        if row is not None:
            return Registration(row[0], row[1])
    if isinstance(large_account, dict) and isinstance(large_account.get("fiscal_id"), str):
        return Registration("large_account", large_account["fiscal_id"][:12])
    return Registration(None, None)


# ---- the visitor's side -----------------------------------------------------------------------------------


def _insert(session: Session):
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


def open_visitor_chat(
    session: Session,
    key: str,
    *,
    name: str,
    email: str | None,
    body: str,
    page: str | None,
    registration: Registration,
    locale: str,
    ip: str | None,
    now: datetime | None = None,
) -> VisitorChat:
    """A new conversation with its first message: live when the chat is open and an advisor is online, else
    a message answered by email by ``answer_by`` — only with an email (``NeedsEmail``). It takes a free slot
    of the session (``TooManyOpen`` when its ``MAX_OPEN`` are taken: the unique open slot decides, even for
    two opened at once)."""
    now = now or utcnow()
    live = live_now(session, now)
    if not live and not email:
        raise NeedsEmail()
    digest = session_hash(key)
    taken = set(
        session.scalars(
            select(VisitorChat.slot).where(VisitorChat.session_hash == digest, VisitorChat.state != "closed")
        )
    )
    free = [slot for slot in range(1, MAX_OPEN + 1) if slot not in taken]
    if not free:
        raise TooManyOpen()
    statement = (
        _insert(session)(VisitorChat)
        .values(
            session_hash=digest,
            slot=free[0],
            state="waiting",
            mode="live" if live else "message",
            name=name.strip()[:120],
            email=(email or "").strip().lower() or None,
            page=(page or None) and page[:300],
            step=registration.step,
            fiscal_id=registration.fiscal_id,
            locale=locale,
            ip=ip,
            visitor_messages=1,
            created_at=now,
            queued_at=now,
            answer_by=None if live else hours().answer_by(current_app.config["CHAT_ANSWER_HOURS"], now),
        )
        .on_conflict_do_nothing(
            index_elements=["session_hash", "slot"], index_where=text("state <> 'closed'")
        )
        .returning(VisitorChat.id)
    )
    number = session.execute(statement).scalar()
    if number is None:
        raise TooManyOpen()
    _add(session, number, "visitor", None, body)
    return session.get(VisitorChat, number)


def visitor_chats(session: Session, key: str) -> list[VisitorChat]:
    """The session's conversations, newest first."""
    return list(
        session.scalars(
            select(VisitorChat)
            .where(VisitorChat.session_hash == session_hash(key))
            .order_by(VisitorChat.id.desc())
            .limit(20)
        )
    )


def find_visitor_chat(session: Session, key: str | None, chat_id: int) -> VisitorChat | None:
    """The conversation if it is this session's (its key), else None (404)."""
    if not key:
        return None
    return session.scalar(
        select(VisitorChat).where(VisitorChat.id == chat_id, VisitorChat.session_hash == session_hash(key))
    )


def messages_after(session: Session, chat: VisitorChat, after: int = 0) -> list[VisitorMessage]:
    return list(
        session.scalars(
            select(VisitorMessage)
            .where(VisitorMessage.chat_id == chat.id, VisitorMessage.id > after)
            .options(selectinload(VisitorMessage.user))
            .order_by(VisitorMessage.id)
            .limit(POLL_LIMIT)
        )
    )


def _add(session: Session, chat_id: int, author: str, user: User | None, body: str) -> VisitorMessage:
    message = VisitorMessage(
        chat_id=chat_id,
        author=author,
        user_id=user.id if user else None,
        body=body.strip()[:MAX_VISITOR_BODY],
    )
    session.add(message)
    session.flush()
    return message


def post_visitor_message(
    session: Session, chat: VisitorChat, body: str, registration: Registration
) -> VisitorMessage:
    """A message from the visitor: one conditional ``UPDATE … SET visitor_messages = visitor_messages + 1
    WHERE state <> 'closed' AND visitor_messages < MAX RETURNING id`` counts it (and refreshes the
    registration's step). ``Closed`` or ``TooManyMessages`` when it does not."""
    values: dict = {"visitor_messages": VisitorChat.visitor_messages + 1}
    if registration.fiscal_id:
        values |= {"step": registration.step, "fiscal_id": registration.fiscal_id}
    counted = session.scalar(
        update(VisitorChat)
        .where(
            VisitorChat.id == chat.id,
            VisitorChat.state != "closed",
            VisitorChat.visitor_messages < MAX_VISITOR_MESSAGES,
        )
        .values(values)
        .returning(VisitorChat.id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(chat)
    if counted is None:
        raise Closed() if chat.state == "closed" else TooManyMessages()
    return _add(session, chat.id, "visitor", None, body)


def close_by_visitor(session: Session, chat: VisitorChat) -> None:
    _move(session, chat, [VisitorChat.state != "closed"], {"state": "closed", "closed_at": utcnow()})
    _add(session, chat.id, "system", None, "closed:visitor")


def left_waiting(session: Session, chat_id: int | None = None, now: datetime | None = None) -> int:
    """Live conversations still waiting ``CHAT_LIVE_WAIT_MINUTES`` (or waiting while the chat is closed)
    become messages, in one conditional ``UPDATE … WHERE state = 'waiting' AND mode = 'live' RETURNING``
    (moved once, whoever reads first): answered by email when the visitor gave one (``answer_by`` set),
    else the visitor is told to call. ``chat_id``: only that one. The number moved."""
    now = now or utcnow()
    where = [VisitorChat.state == "waiting", VisitorChat.mode == "live"]
    if hours().is_open(now):
        where.append(
            VisitorChat.queued_at <= now - timedelta(minutes=current_app.config["CHAT_LIVE_WAIT_MINUTES"])
        )
    if chat_id is not None:
        where.append(VisitorChat.id == chat_id)
    due = hours().answer_by(current_app.config["CHAT_ANSWER_HOURS"], now)
    moved = session.execute(
        update(VisitorChat)
        .where(*where)
        .values(mode="message", answer_by=case((VisitorChat.email.is_(None), None), else_=due))
        .returning(VisitorChat.id, VisitorChat.email)
        .execution_options(synchronize_session=False)
    ).all()
    for number, email in moved:
        session.add(
            VisitorMessage(chat_id=number, author="system", body="to_message:" if email else "to_phone:")
        )
    session.flush()
    return len(moved)


# ---- the advisor's side -----------------------------------------------------------------------------------


def _move(session: Session, chat: VisitorChat, where: list, values: dict) -> None:
    moved = session.scalar(
        update(VisitorChat)
        .where(VisitorChat.id == chat.id, *where)
        .values(values)
        .returning(VisitorChat.id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(chat)
    if moved is None:
        raise Stale(chat.state)


def take(session: Session, chat: VisitorChat, advisor: User) -> None:
    """``UPDATE visitor_chats SET state = 'active' … WHERE id = :id AND state = 'waiting' RETURNING id``: of
    two advisors, one wins (the other gets ``Stale``)."""
    _move(
        session,
        chat,
        [VisitorChat.state == "waiting"],
        {"state": "active", "advisor_id": advisor.id, "taken_at": utcnow()},
    )
    _add(session, chat.id, "system", advisor, f"taken:{advisor.name}")


def answer(session: Session, chat: VisitorChat, advisor: User, body: str) -> VisitorMessage:
    """The answer of the advisor who has the conversation (``Stale`` otherwise); emailed when the
    conversation is a message and the visitor gave an email."""
    if chat.state != "active" or chat.advisor_id != advisor.id:
        raise Stale(chat.state)
    message = _add(session, chat.id, "advisor", advisor, body)
    if chat.mode == "message" and chat.email:
        subject = _l("An advisor has answered your message (conversation %(number)s)", number=chat.id)
        mail = templated_mail(
            chat.email, subject, "visitor_chat_answer", locale=chat.locale, chat=chat, message=message
        )
        queue_mail(session, mail)
    return message


def close_by_advisor(session: Session, chat: VisitorChat, advisor: User) -> None:
    where = [VisitorChat.state != "closed", VisitorChat.advisor_id == advisor.id]
    _move(session, chat, where, {"state": "closed", "closed_at": utcnow()})
    _add(session, chat.id, "system", advisor, "closed:advisor")


@dataclass(frozen=True)
class VisitorDesk:
    waiting: list[VisitorChat]
    mine: list[VisitorChat]


def desk(session: Session, advisor: User) -> VisitorDesk:
    """Visitors waiting (longest first) and those the advisor has; live ones left waiting too long become
    messages first."""
    left_waiting(session)
    waiting = session.scalars(
        select(VisitorChat)
        .where(VisitorChat.state == "waiting")
        .order_by(VisitorChat.queued_at, VisitorChat.id)
        .limit(200)
    )
    mine = session.scalars(
        select(VisitorChat)
        .where(VisitorChat.state == "active", VisitorChat.advisor_id == advisor.id)
        .order_by(VisitorChat.taken_at, VisitorChat.id)
    )
    return VisitorDesk(list(waiting), list(mine))


def staff_chat(session: Session, chat_id: int) -> VisitorChat | None:
    return session.get(VisitorChat, chat_id)


def registration_refusals(session: Session, fiscal_id: str | None) -> list[AuditEvent]:
    """The registration refusals of the fiscal ID in the last ``REFUSALS_DAYS`` days, newest first."""
    if not fiscal_id:
        return []
    since = utcnow() - timedelta(days=REFUSALS_DAYS)
    with operator_scope(session, "back office: a visitor's registration refusals"):
        return list(
            session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.action == "registration.refused",
                    AuditEvent.fiscal_id == fiscal_id,
                    AuditEvent.occurred_at >= since,
                )
                .order_by(AuditEvent.occurred_at.desc())
                .limit(5)
            )
        )


def purge(session: Session, closed_before: datetime, batch: int = 500) -> int:
    """Delete up to ``batch`` visitor conversations closed before ``closed_before`` (their messages go with
    them: the key cascades); the number deleted."""
    ids = list(
        session.scalars(
            select(VisitorChat.id)
            .where(VisitorChat.state == "closed", VisitorChat.closed_at < closed_before)
            .limit(batch)
        )
    )
    if ids:
        session.execute(delete(VisitorMessage).where(VisitorMessage.chat_id.in_(ids)))
        session.execute(delete(VisitorChat).where(VisitorChat.id.in_(ids)))
    return len(ids)

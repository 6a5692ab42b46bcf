"""The chat's rules, for both sides. Services flush, never commit.

Guarantees: a conversation's state only moves by one conditional UPDATE on the state (and advisor) the mover
saw, so of two advisors taking the same conversation one wins and the other gets ``Stale``; messages are read
back by id from the database (``messages_after``), never from a process's memory, so any app process serves
any conversation, and each insert is announced (``stream.announce``) to the requests waiting for news; a
survey is one row per conversation (unique key, ``INSERT … ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, exists, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from mgd import attachments
from mgd.chat import stream
from mgd.chat.hours import Hours
from mgd.chat.models import ChatAttachment, Conversation, Message, Presence, Survey
from mgd.db import operator_scope, set_tenant, utcnow
from mgd.notify.senders import templated_mail
from mgd.notify.services import queue_mail
from mgd.security.models import AuditEvent, User
from mgd.tenants.context import Tenant
from mgd.tenants.models import Company, Line
from mgd.web.paging import KeysetPage, keyset_page

MAX_BODY = 2000
#: The most files one conversation may carry (both sides together); the table's ``slot`` check says the same.
MAX_ATTACHMENTS = 10
ATTACHMENT_AREA = "chat"
POLL_LIMIT = 200
REFUSALS_DAYS = 90


class Stale(Exception):
    """The conversation is no longer as the mover saw it (taken, transferred or closed meanwhile)."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


class Refused(Exception):
    """Nothing was written; ``reason`` says why, in the reader's language."""

    reason: Any


class Closed(Refused):
    """The conversation is closed: no more messages."""

    reason = _l("This conversation is closed: open a new one to write again.")


class TooManyAttachments(Refused):
    """The conversation has its ``MAX_ATTACHMENTS`` files already."""

    reason = _l("No more files can be sent in this conversation (%(most)s at most).", most=MAX_ATTACHMENTS)


# ---- hours and presence -----------------------------------------------------------------------------------


def hours() -> Hours:
    return Hours.from_config(current_app.config)


def mark_present(session: Session, user: User) -> None:
    """The advisor is at the desk now (one upsert)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    session.execute(
        dialect.insert(Presence)
        .values(user_id=user.id, seen_at=now)
        .on_conflict_do_update(index_elements=["user_id"], set_={"seen_at": now})
    )


def advisor_online(session: Session) -> bool:
    since = utcnow() - timedelta(seconds=current_app.config["CHAT_ADVISOR_ONLINE_SECONDS"])
    return bool(session.scalar(select(exists().where(Presence.seen_at >= since))))


def live_now(session: Session, now: datetime | None = None) -> bool:
    """Whether a conversation opened now is live: the chat is open and an advisor is online."""
    return hours().is_open(now) and advisor_online(session)


# ---- the customer's side ----------------------------------------------------------------------------------


def order_of_company(session: Session, tenant_id: int, order_id: int) -> int | None:
    """The order's id if it is the company's (the chat knows orders only by their table, not their code)."""
    return session.scalar(
        text("SELECT id FROM orders WHERE tenant_id = :tenant AND id = :id"),
        {"tenant": tenant_id, "id": order_id},
    )


def open_conversation(
    session: Session,
    tenant: Tenant,
    user: User,
    body: str,
    *,
    page: str | None,
    order_id: int | None,
    locale: str,
    now: datetime | None = None,
) -> Conversation:
    """A new conversation with its first message: live when the chat is open and an advisor is online, else
    a message answered by ``answer_by`` (``CHAT_ANSWER_HOURS`` of opening time)."""
    now = now or utcnow()
    live = live_now(session, now)
    conversation = Conversation(
        tenant_id=tenant.company.id,
        customer_id=user.id,
        mode="live" if live else "message",
        page=(page or None) and page[:300],
        order_id=order_id if order_id and order_of_company(session, tenant.company.id, order_id) else None,
        locale=locale,
        created_at=now,
        queued_at=now,
        answer_by=None if live else hours().answer_by(current_app.config["CHAT_ANSWER_HOURS"], now),
    )
    session.add(conversation)
    session.flush()
    _add(session, conversation, "customer", user, body)
    return conversation


def _visible(tenant: Tenant):
    """The company's conversations the member may read: all (administrators), else their own."""
    query = select(Conversation)
    if not tenant.can("view_transcripts"):
        query = query.where(Conversation.customer_id == tenant.membership.user_id)
    return query


def company_conversations(
    session: Session, tenant: Tenant, *, after: str | None = None, before: str | None = None
) -> KeysetPage:
    query = _visible(tenant).options(selectinload(Conversation.customer), selectinload(Conversation.advisor))
    return keyset_page(
        session,
        query,
        (Conversation.created_at, Conversation.id),
        descending=True,
        after=after,
        before=before,
    )


def find_conversation(session: Session, tenant: Tenant, conversation_id: int) -> Conversation | None:
    """One of the company's conversations that the member may read, or None (404)."""
    return session.scalar(_visible(tenant).where(Conversation.id == conversation_id))


def messages_after(session: Session, conversation: Conversation, after: int = 0) -> list[Message]:
    """The conversation's messages with an id above ``after``, oldest first."""
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id, Message.id > after)
            .options(selectinload(Message.user))
            .order_by(Message.id)
            .limit(POLL_LIMIT)
        )
    )


def _add(session: Session, conversation: Conversation, author: str, user: User | None, body: str) -> Message:
    """A message in the conversation, after locking the conversation's row: the messages of one conversation
    then commit in the order of their ids, so a reader that has seen id N never misses a smaller id committed
    later (``messages_after`` reads by id: two sides writing at once could otherwise lose one)."""
    session.execute(
        select(Conversation.id)
        .where(Conversation.tenant_id == conversation.tenant_id, Conversation.id == conversation.id)
        .with_for_update()
    )
    message = Message(
        tenant_id=conversation.tenant_id,
        conversation_id=conversation.id,
        author=author,
        user_id=user.id if user else None,
        body=body.strip()[:MAX_BODY],
    )
    session.add(message)
    session.flush()
    stream.announce(session, conversation.tenant_id, conversation.id)
    return message


def post_message(session: Session, conversation: Conversation, author: str, user: User, body: str) -> Message:
    """A message from the customer or the advisor who has the conversation. A closed conversation takes no
    more (``Closed``); an advisor's answer to a message left out of hours is emailed to the customer."""
    if conversation.state == "closed":
        raise Closed()
    message = _add(session, conversation, author, user, body)
    if author == "advisor" and conversation.mode == "message":
        _mail_answer(session, conversation, message)
    return message


def attach_file(
    session: Session, conversation: Conversation, author: str, user: User, stored: attachments.Stored
) -> Message:
    """A file sent in the conversation by the customer or the advisor, as a message of its own carrying it.
    The conversation's row is locked first, so two uploads at once count one after the other, and the file
    takes the next ``slot`` (unique per conversation, 1 to ``MAX_ATTACHMENTS`` by the table's check): never
    more than ``MAX_ATTACHMENTS`` (``TooManyAttachments``; the caller removes the bytes). A closed
    conversation takes none (``Closed``)."""
    state = session.scalar(
        select(Conversation.state)
        .where(Conversation.tenant_id == conversation.tenant_id, Conversation.id == conversation.id)
        .with_for_update()
    )
    if state == "closed":
        raise Closed()
    used = session.scalar(
        select(func.coalesce(func.max(ChatAttachment.slot), 0)).where(
            ChatAttachment.tenant_id == conversation.tenant_id,
            ChatAttachment.conversation_id == conversation.id,
        )
    )
    if used >= MAX_ATTACHMENTS:
        raise TooManyAttachments()
    message = _add(session, conversation, author, user, stored.filename)
    session.add(
        ChatAttachment(
            tenant_id=conversation.tenant_id,
            conversation_id=conversation.id,
            message_id=message.id,
            slot=used + 1,
            filename=stored.filename,
            content_type=stored.content_type,
            size=stored.size,
            storage_key=stored.key,
            uploaded_by_id=user.id,
        )
    )
    session.flush()
    if author == "advisor" and conversation.mode == "message":
        _mail_answer(session, conversation, message)
    return message


def conversation_files(session: Session, conversation: Conversation) -> dict[int, ChatAttachment]:
    """The conversation's files by the id of the message carrying each."""
    rows = session.scalars(
        select(ChatAttachment).where(
            ChatAttachment.tenant_id == conversation.tenant_id,
            ChatAttachment.conversation_id == conversation.id,
        )
    )
    return {row.message_id: row for row in rows}


def find_file(session: Session, conversation: Conversation, attachment_id: int) -> ChatAttachment | None:
    return session.scalar(
        select(ChatAttachment).where(
            ChatAttachment.tenant_id == conversation.tenant_id,
            ChatAttachment.conversation_id == conversation.id,
            ChatAttachment.id == attachment_id,
        )
    )


def _mail_answer(session: Session, conversation: Conversation, message: Message) -> None:
    customer = session.get(User, conversation.customer_id) if conversation.customer_id else None
    if customer is None:
        return
    company = session.get(Company, conversation.tenant_id)
    mail = templated_mail(
        customer.email,
        _l("An advisor has answered your message (conversation %(number)s)", number=conversation.id),
        "chat_answer",
        locale=customer.locale or conversation.locale,
        user=customer,
        conversation=conversation,
        message=message,
        company=company,
    )
    queue_mail(session, mail)


def submit_survey(session: Session, conversation: Conversation, score: int, comment: str | None) -> bool:
    """The customer's rating of a closed conversation; False when it was already rated (the unique key
    decides, even for two posts at once)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(Survey)
        .values(
            tenant_id=conversation.tenant_id,
            conversation_id=conversation.id,
            advisor_id=conversation.advisor_id,
            score=score,
            comment=(comment or "").strip()[:1000] or None,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "conversation_id"])
        .returning(Survey.id)
    )
    return session.execute(statement).scalar() is not None


def survey_of(session: Session, conversation: Conversation) -> Survey | None:
    return session.scalar(select(Survey).where(Survey.conversation_id == conversation.id))


# ---- moves (both sides) -----------------------------------------------------------------------------------


def _move(session: Session, conversation: Conversation, where: list, values: dict[str, Any]) -> None:
    moved = session.scalar(
        update(Conversation)
        .where(Conversation.tenant_id == conversation.tenant_id, Conversation.id == conversation.id, *where)
        .values(values)
        .returning(Conversation.id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(conversation)
    if moved is None:
        raise Stale(conversation.state)


def take(session: Session, conversation: Conversation, advisor: User) -> None:
    """The advisor takes a waiting conversation: ``UPDATE … WHERE state = 'waiting' RETURNING id``."""
    _move(
        session,
        conversation,
        [Conversation.state == "waiting"],
        {"state": "active", "advisor_id": advisor.id, "taken_at": utcnow()},
    )
    _add(session, conversation, "system", advisor, f"taken:{advisor.name}")


def transfer(session: Session, conversation: Conversation, advisor: User, to: User | None) -> None:
    """Hand a conversation the advisor has to another advisor, or (``to`` None) back to the queue."""
    where = [Conversation.state == "active", Conversation.advisor_id == advisor.id]
    if to is None:
        values = {"state": "waiting", "advisor_id": None, "queued_at": utcnow()}
    else:
        values = {"advisor_id": to.id}
    _move(session, conversation, where, values)
    _add(session, conversation, "system", advisor, f"transferred:{to.name if to else ''}")


def close(
    session: Session,
    conversation: Conversation,
    user: User,
    *,
    by: str,
    reason: str | None = None,
    note: str | None = None,
) -> None:
    """Close a conversation that is not closed yet (the customer: any time; an advisor: one they have, with
    a reason)."""
    where = [Conversation.state != "closed"]
    if by == "advisor":
        where.append(Conversation.advisor_id == user.id)
    _move(
        session,
        conversation,
        where,
        {"state": "closed", "closed_at": utcnow(), "close_reason": reason, "close_note": note or None},
    )
    _add(session, conversation, "system", user, f"closed:{by}")


def left_waiting(session: Session, conversation_id: int | None = None, now: datetime | None = None) -> int:
    """Live conversations still waiting ``CHAT_LIVE_WAIT_MINUTES`` after they were queued, or waiting while
    the chat is closed, become messages: ``answer_by`` set (``CHAT_ANSWER_HOURS`` of opening time) and the
    advisor's answers emailed. One conditional ``UPDATE … WHERE state = 'waiting' AND mode = 'live'
    RETURNING``, so running it again (at read time, or in two processes at once) changes nothing twice; each
    moved conversation gets one system message. ``conversation_id``: only that one (the session scoped to
    its company); else every company's. The number moved."""
    now = now or utcnow()
    where = [Conversation.state == "waiting", Conversation.mode == "live"]
    if hours().is_open(now):
        wait = timedelta(minutes=current_app.config["CHAT_LIVE_WAIT_MINUTES"])
        where.append(Conversation.queued_at <= now - wait)
    if conversation_id is not None:
        where.append(Conversation.id == conversation_id)
    statement = (
        update(Conversation)
        .where(*where)
        .values(mode="message", answer_by=hours().answer_by(current_app.config["CHAT_ANSWER_HOURS"], now))
        .returning(Conversation.tenant_id, Conversation.id)
        .execution_options(synchronize_session=False)
    )
    if conversation_id is not None:
        moved = session.execute(statement).all()
    else:
        with operator_scope(session, "chat: live conversations left waiting become messages"):
            moved = session.execute(statement).all()
            _to_message(session, moved)
        return len(moved)
    _to_message(session, moved)
    return len(moved)


def _to_message(session: Session, moved: list) -> None:
    for tenant_id, number in moved:
        session.add(Message(tenant_id=tenant_id, conversation_id=number, author="system", body="to_message:"))
        stream.announce(session, tenant_id, number)
    session.flush()


# ---- the desk ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Desk:
    waiting: list[tuple[Conversation, str]]
    mine: list[tuple[Conversation, str]]


def desk(session: Session, advisor: User) -> Desk:
    """The waiting conversations of every company (longest waiting first) and those the advisor has (live
    ones left waiting too long become messages first, ``left_waiting``)."""
    left_waiting(session)
    with operator_scope(session, "back office: chat queue"):
        waiting = session.execute(
            select(Conversation, Company.name)
            .join(Company, Company.id == Conversation.tenant_id)
            .where(Conversation.state == "waiting")
            .order_by(Conversation.queued_at, Conversation.id)
            .limit(200)
        ).all()
        mine = session.execute(
            select(Conversation, Company.name)
            .join(Company, Company.id == Conversation.tenant_id)
            .where(Conversation.state == "active", Conversation.advisor_id == advisor.id)
            .order_by(Conversation.taken_at, Conversation.id)
        ).all()
    return Desk([tuple(row) for row in waiting], [tuple(row) for row in mine])


def staff_conversation(session: Session, conversation_id: int) -> Conversation | None:
    """One conversation of any company, the session then scoped to that company (None: no such one)."""
    with operator_scope(session, "back office: a chat conversation"):
        tenant_id = session.scalar(select(Conversation.tenant_id).where(Conversation.id == conversation_id))
    if tenant_id is None:
        return None
    set_tenant(session, tenant_id)
    return session.scalar(select(Conversation).where(Conversation.id == conversation_id))


@dataclass(frozen=True)
class Context:
    company: Company
    lines: int
    open_orders: int
    refusals: list[AuditEvent]


def company_context(session: Session, conversation: Conversation) -> Context:
    """What the advisor sees beside a conversation (the session scoped to its company): the company, its
    lines in service, its open orders, and the registration refusals of its fiscal ID in the last 90 days."""
    company = session.get(Company, conversation.tenant_id)
    lines = session.scalar(select(func.count()).select_from(Line).where(Line.status != "cancelled"))
    orders = session.scalar(
        text(
            "SELECT count(*) FROM orders WHERE tenant_id = :tenant AND state IN ('submitted', 'in_progress')"
        ),
        {"tenant": conversation.tenant_id},
    )
    since = utcnow() - timedelta(days=REFUSALS_DAYS)
    refusals = list(
        session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action == "registration.refused",
                AuditEvent.fiscal_id == company.fiscal_id,
                AuditEvent.occurred_at >= since,
            )
            .order_by(AuditEvent.occurred_at.desc())
            .limit(5)
        )
    )
    return Context(company, lines or 0, orders or 0, refusals)


def advisors(session: Session, but: User) -> list[User]:
    """The operator's staff another advisor can hand a conversation to."""
    return list(
        session.scalars(
            select(User).where(User.staff_role.is_not(None), User.id != but.id).order_by(User.name).limit(100)
        )
    )


def search_transcripts(session: Session, words: str, limit: int = 50) -> list[tuple[Message, str]]:
    """Messages of every company containing ``words`` (case ignored), newest first, with their company."""
    like = "%" + words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with operator_scope(session, "back office: transcript search"):
        rows = session.execute(
            select(Message, Company.name)
            .join(Company, Company.id == Message.tenant_id)
            .where(func.lower(Message.body).like(like, escape="\\"), Message.author != "system")
            .order_by(Message.id.desc())
            .limit(limit)
        ).all()
    return [tuple(row) for row in rows]


def purge_transcripts(session: Session, closed_before: datetime, batch: int = 500) -> int:
    """Delete up to ``batch`` conversations closed before ``closed_before`` with their messages (the
    surveys' scores stay); the number deleted."""
    with operator_scope(session, "chat: transcript retention"):
        ids = list(
            session.scalars(
                select(Conversation.id)
                .where(Conversation.state == "closed", Conversation.closed_at < closed_before)
                .limit(batch)
            )
        )
        if ids:
            files = session.execute(
                select(ChatAttachment.tenant_id, ChatAttachment.storage_key).where(
                    ChatAttachment.conversation_id.in_(ids)
                )
            ).all()
            session.execute(delete(ChatAttachment).where(ChatAttachment.conversation_id.in_(ids)))
            for tenant_id, key in files:
                attachments.remove(ATTACHMENT_AREA, tenant_id, key)
            session.execute(delete(Message).where(Message.conversation_id.in_(ids)))
            session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
    return len(ids)

"""Conversations between a company's member and the operator's advisors, their messages and the survey after.

Every table is tenant-owned, with ``(tenant_id, id)`` unique and the keys between them pairing ``tenant_id``
(``tests/test_tenant_keys.py``): a message can only belong to a conversation of its own company. A
conversation's state only moves through conditional UPDATEs (``services``): of two advisors taking the same
one, the database decides who wins. ``chat_presence`` (not tenant data) says which advisors are at the desk.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mgd.db import Base, BigId, TenantOwned, UTCDateTime, utcnow

if TYPE_CHECKING:
    from mgd.security.models import User

#: ``waiting``: in the queue, nobody has it; ``active``: an advisor has it; ``closed``: over.
STATES = ("waiting", "active", "closed")
#: ``live``: opened while the chat was open and an advisor online; ``message``: left to be answered later
#: (the customer is emailed the answer).
MODES = ("live", "message")
AUTHORS = ("customer", "advisor", "system")
CLOSE_REASONS = ("solved", "no_answer", "redirected", "duplicate", "other")


def _choice(name: str, values: tuple[str, ...]) -> Enum:
    return Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


class Conversation(TenantOwned, Base):
    """One conversation, opened by a member of the company from a page (``page``), maybe about an order
    (``order_id``, checked against the company's orders when opened)."""

    __tablename__ = "chat_conversations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        Index("ix_chat_conversations_tenant_id_created_at", "tenant_id", "created_at", "id"),
        # The desk's queue across companies: waiting ones, longest waiting first.
        Index("ix_chat_conversations_state_queued_at", "state", "queued_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    state: Mapped[str] = mapped_column(_choice("chat_state", STATES), default="waiting")
    mode: Mapped[str] = mapped_column(_choice("chat_mode", MODES), default="live")
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    advisor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    page: Mapped[str | None] = mapped_column(String(300))
    order_id: Mapped[int | None] = mapped_column(BigId)
    locale: Mapped[str] = mapped_column(String(5), default="es")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(_choice("chat_close_reason", CLOSE_REASONS))
    close_note: Mapped[str | None] = mapped_column(String(500))

    customer: Mapped[User | None] = relationship(foreign_keys=[customer_id])
    advisor: Mapped[User | None] = relationship(foreign_keys=[advisor_id])


class Message(TenantOwned, Base):
    """One message of a conversation; read back by id (``id > :after``), so any app process can serve the
    news of a conversation."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        Index("ix_chat_messages_tenant_id_conversation_id", "tenant_id", "conversation_id", "id"),
        ForeignKeyConstraint(
            ["tenant_id", "conversation_id"],
            ["chat_conversations.tenant_id", "chat_conversations.id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)
    conversation_id: Mapped[int] = mapped_column(BigId)
    author: Mapped[str] = mapped_column(_choice("chat_author", AUTHORS))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship()


class Survey(TenantOwned, Base):
    """The customer's 1-5 after a closed conversation, once per conversation (the unique key). No key to the
    conversation: the results outlive the transcript's retention."""

    __tablename__ = "chat_surveys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "conversation_id"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        Index("ix_chat_surveys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(BigId)
    advisor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Presence(Base):
    """When an advisor's chat pages last asked for news: online while recent
    (``CHAT_ADVISOR_ONLINE_SECONDS``)."""

    __tablename__ = "chat_presence"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChatAttachment(TenantOwned, Base):
    """A file sent in a conversation (by the customer or the advisor): its bytes are stored by
    ``mgd.attachments`` (area ``chat``) under ``storage_key``; the row says whose it is and which message
    carries it. At most ``services.MAX_ATTACHMENTS`` per conversation: ``slot`` is 1 to that number and
    unique in the conversation, so the database refuses one more whatever the application does."""

    __tablename__ = "chat_attachments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "conversation_id", "slot"),
        CheckConstraint("slot BETWEEN 1 AND 10", name="slot_range"),
        ForeignKeyConstraint(
            ["tenant_id", "conversation_id"],
            ["chat_conversations.tenant_id", "chat_conversations.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "message_id"], ["chat_messages.tenant_id", "chat_messages.id"], ondelete="CASCADE"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)
    conversation_id: Mapped[int] = mapped_column(BigId)
    message_id: Mapped[int] = mapped_column(BigId)
    slot: Mapped[int] = mapped_column(SmallInteger)
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(80))
    uploaded_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

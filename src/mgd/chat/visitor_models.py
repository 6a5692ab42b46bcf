"""Conversations with visitors who are not signed in (on the registration pages), and their messages.

Operator data, not a company's: a visitor has no company yet, so these tables are not tenant-owned and have no
Row-Level Security policy (like ``registration_flows`` and ``access_requests``). A visitor reaches a
conversation only through the random key kept in their Flask session, stored here as its SHA-256
(``session_hash``). The database holds the bounds: at most ``MAX_OPEN`` open conversations per session (a
``slot`` 1 to ``MAX_OPEN``, unique among the session's open ones) and ``MAX_VISITOR_MESSAGES`` messages from
the visitor per conversation (``visitor_messages``, a check).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mgd.db import Base, BigId, UTCDateTime, utcnow

if TYPE_CHECKING:
    from mgd.security.models import User

MAX_OPEN = 3
MAX_VISITOR_MESSAGES = 20
MAX_VISITOR_BODY = 1000
STATES = ("waiting", "active", "closed")
MODES = ("live", "message")
AUTHORS = ("visitor", "advisor", "system")


def _choice(name: str, values: tuple[str, ...]) -> Enum:
    return Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


class VisitorChat(Base):
    """One visitor's conversation with its context: the page, and the registration's step and fiscal ID when
    one is in progress in the same session (read from the registration's own row)."""

    __tablename__ = "visitor_chats"
    __table_args__ = (
        CheckConstraint(f"slot BETWEEN 1 AND {MAX_OPEN}", name="slot_range"),
        CheckConstraint(f"visitor_messages <= {MAX_VISITOR_MESSAGES}", name="visitor_messages_most"),
        Index(
            "uq_visitor_chats_open_slot",
            "session_hash",
            "slot",
            unique=True,
            postgresql_where=text("state <> 'closed'"),
            sqlite_where=text("state <> 'closed'"),
        ),
        Index("ix_visitor_chats_session_hash", "session_hash", "id"),
        Index("ix_visitor_chats_state_queued_at", "state", "queued_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64))
    slot: Mapped[int] = mapped_column(SmallInteger)
    state: Mapped[str] = mapped_column(_choice("visitor_chat_state", STATES), default="waiting")
    mode: Mapped[str] = mapped_column(_choice("visitor_chat_mode", MODES), default="live")
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    page: Mapped[str | None] = mapped_column(String(300))
    step: Mapped[str | None] = mapped_column(String(20))
    fiscal_id: Mapped[str | None] = mapped_column(String(12))
    locale: Mapped[str] = mapped_column(String(5), default="es")
    ip: Mapped[str | None] = mapped_column(String(45))
    visitor_messages: Mapped[int] = mapped_column(SmallInteger, default=1)
    advisor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    advisor: Mapped[User | None] = relationship(foreign_keys=[advisor_id])


class VisitorMessage(Base):
    """One message of a visitor's conversation, read back by id like the companies' chat messages."""

    __tablename__ = "visitor_chat_messages"
    __table_args__ = (Index("ix_visitor_chat_messages_chat_id", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigId, ForeignKey("visitor_chats.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(_choice("visitor_chat_author", AUTHORS))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship()

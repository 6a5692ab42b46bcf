"""The outbox: every SMS and email, written in the transaction of the change that causes it (bodies carry
codes and temporary passwords: stored encrypted, erased some days after sending); and the counters that limit
how many are sent per user, destination and company (``throttle.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mgd.crypto import EncryptedText
from mgd.db import Base, BigId, Timestamped, UTCDateTime

CHANNELS = ("sms", "email")
STATUSES = ("pending", "sending", "sent", "failed")


class OutboxMessage(Timestamped, Base):
    """One SMS or email. ``pending`` → ``sending`` (claimed by a worker) → ``sent`` or ``failed``."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(
        Enum(*CHANNELS, name="channel", native_enum=False, create_constraint=True)
    )
    recipient: Mapped[str] = mapped_column(String(254))
    # An SMS sent in a company line's name (``mgd.orders.sms``): that number; None: the portal's sender.
    sender: Mapped[str | None] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(EncryptedText)  # "" once purged
    body_html: Mapped[str | None] = mapped_column(EncryptedText)
    status: Mapped[str] = mapped_column(
        Enum(*STATUSES, name="outbox_status", native_enum=False, create_constraint=True), default="pending"
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_ref: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SendCount(Base):
    """How many messages one key (``user:42``, ``destination:+34612345678``, ``company:7``) was sent in one
    window of ``window_seconds`` starting at ``window_start``. Not tenant-owned: it holds no company data."""

    __tablename__ = "send_counts"
    __table_args__ = (Index("ix_send_counts_window_start", "window_start"),)

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_seconds: Mapped[int] = mapped_column(Integer, primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)

"""Orders (one customer request each), the lines they concern and their timeline of events.

Every table is tenant-owned, with ``(tenant_id, id)`` unique and keys to other tenant tables that pair
``tenant_id`` (Citus; ``tests/test_tenant_keys.py``). An order's state only moves through one conditional
UPDATE (``services.move_order``): the database, not the page, decides which of two advisors wins.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mgd.db import Base, BigId, TenantOwned, Timestamped, UTCDateTime, utcnow
from mgd.tenants.models import Line

if TYPE_CHECKING:
    from mgd.security.models import User

#: What a customer can ask for (the forms of ``forms.py``; names and SLA targets in ``kinds.py``).
ORDER_KINDS = (
    "tariff_change",
    "voicemail_reset",
    "premium_block",
    "roaming",
    "enquiry",
    "sim_duplicate",
    "suspension",
    "bundle",
)
#: The machine's states (``machine.py``): completed, rejected and cancelled are final; an order above the
#: company's approval threshold starts in ``awaiting_approval`` (added last: the stored check lists them so).
STATES = ("submitted", "in_progress", "completed", "rejected", "cancelled", "awaiting_approval")
#: Who moved an order or wrote a note: the customer, an advisor, or the provisioning job.
ACTORS = ("customer", "advisor", "system")


def _choice(name: str, values: tuple[str, ...]) -> Enum:
    return Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


class Order(TenantOwned, Timestamped, Base):
    """One customer request: its kind and data (``payload``), its state and the advisor who has it.
    ``idempotency_key`` comes from the form: a form posted twice makes one order."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_orders_tenant_id_created_at", "tenant_id", "created_at", "id"),
        # The back office's queue across companies: a state (and kind), oldest in it first.
        Index("ix_orders_state_state_changed_at", "state", "kind", "state_changed_at", "id"),
        # … and a state of every kind: without it each page sorts the state's orders (bench/orders_queue.py).
        Index("ix_orders_state_changed_at_all_kinds", "state", "state_changed_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(_choice("order_kind", ORDER_KINDS))
    state: Mapped[str] = mapped_column(_choice("order_state", STATES), default="submitted")
    sub_state: Mapped[str | None] = mapped_column(String(30))
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requester_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    assigned_to_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    customer_reference: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    # What the order adds to the company's monthly bill (``services.monthly_cost``): above the company's
    # approval threshold it waits for another administrator. None: an order from before approvals existed.
    monthly_cost_eur: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))

    requester: Mapped[User | None] = relationship(foreign_keys=[requester_id])
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    lines: Mapped[list[OrderLine]] = relationship(
        primaryjoin="and_(Order.tenant_id == OrderLine.tenant_id, Order.id == OrderLine.order_id)",
        foreign_keys="[OrderLine.tenant_id, OrderLine.order_id]",
        viewonly=True,
        order_by="OrderLine.id",
    )
    events: Mapped[list[OrderEvent]] = relationship(
        primaryjoin="and_(Order.tenant_id == OrderEvent.tenant_id, Order.id == OrderEvent.order_id)",
        foreign_keys="[OrderEvent.tenant_id, OrderEvent.order_id]",
        viewonly=True,
        order_by="OrderEvent.id",
    )


class OrderLine(TenantOwned, Base):
    """A line an order concerns (an enquiry may concern none)."""

    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "order_id", "line_id"),
        Index("ix_order_lines_tenant_id_line_id", "tenant_id", "line_id"),
        ForeignKeyConstraint(
            ["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "line_id"], ["lines.tenant_id", "lines.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)  # the company's key is in the order's and line's keys
    order_id: Mapped[int] = mapped_column(BigId)
    line_id: Mapped[int] = mapped_column(BigId)

    line: Mapped[Line] = relationship(
        primaryjoin="and_(OrderLine.tenant_id == Line.tenant_id, OrderLine.line_id == Line.id)",
        foreign_keys="[OrderLine.tenant_id, OrderLine.line_id]",
        viewonly=True,
    )


class OrderEvent(TenantOwned, Base):
    """A step of an order's timeline: a transition (``from_state`` → ``to_state``), a sub-state, or a note
    (``note``; ``visible``: the customer sees it, else it is internal to the back office)."""

    __tablename__ = "order_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        Index("ix_order_events_tenant_id_order_id", "tenant_id", "order_id"),
        ForeignKeyConstraint(
            ["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"], ondelete="CASCADE"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)
    order_id: Mapped[int] = mapped_column(BigId)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    sub_state: Mapped[str | None] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(_choice("order_actor", ACTORS))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    visible: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship()


class OrderAttachment(TenantOwned, Base):
    """A file the customer attached to an order (an enquiry): its bytes are stored outside the web root by
    ``mgd.attachments`` under ``storage_key``; the row says whose it is, its name, type (sniffed from the
    bytes) and size."""

    __tablename__ = "order_attachments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        Index("ix_order_attachments_tenant_id_order_id", "tenant_id", "order_id"),
        ForeignKeyConstraint(
            ["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"], ondelete="CASCADE"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)
    order_id: Mapped[int] = mapped_column(BigId)
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(80))
    uploaded_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderSurvey(TenantOwned, Base):
    """The requester's 1-5 (and optional comment) after a completed order, once per order (the unique key
    decides, ``services.submit_survey``). ``advisor_id``: who completed it (the back office's results per
    advisor). No key to the order, as for the chat's surveys: the scores are the operator's record."""

    __tablename__ = "order_surveys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "order_id"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        Index("ix_order_surveys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigId)
    advisor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsQuota(TenantOwned, Base):
    """How many SMS the company sent from the web on one day (Madrid): taken by one conditional upsert
    (``sms.take_quota``), so parallel sends never pass ``SMS_DAILY_QUOTA`` together."""

    __tablename__ = "sms_quotas"
    __table_args__ = (CheckConstraint("sent >= 0", name="sent_not_negative"),)

    tenant_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sent: Mapped[int] = mapped_column(Integer, default=0)


class SmsBatch(TenantOwned, Base):
    """One send of SMS from the web: who sent it, from which of the company's lines, to how many numbers (the
    text is not kept here: the outbox holds it, encrypted, until it is purged)."""

    __tablename__ = "sms_batches"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        Index("ix_sms_batches_tenant_id_created_at", "tenant_id", "created_at", "id"),
        ForeignKeyConstraint(["tenant_id", "line_id"], ["lines.tenant_id", "lines.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)
    line_id: Mapped[int] = mapped_column(BigId)
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    recipients: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    line: Mapped[Line] = relationship(
        primaryjoin="and_(SmsBatch.tenant_id == Line.tenant_id, SmsBatch.line_id == Line.id)",
        foreign_keys="[SmsBatch.tenant_id, SmsBatch.line_id]",
        viewonly=True,
    )
    user: Mapped[User | None] = relationship()

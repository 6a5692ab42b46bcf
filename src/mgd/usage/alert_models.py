"""Consumption alerts and spend caps: the thresholds an administrator sets (``usage_alerts``) and who they
notify (``usage_alert_recipients``); each threshold crossed once per cycle (``usage_alert_firings``, unique
per alert and cycle: the database, not the job, makes it once); the bars of premium and roaming usage a spend
cap asks for (``usage_cap_requests``, ``recorded`` until the orders feature handles them).

Every table is tenant-owned, with ``(tenant_id, id)`` unique and keys to other tenant tables that pair
``tenant_id`` (Citus; ``tests/test_tenant_keys.py``). Money is integer euro cents."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Enum,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mgd.db import Base, BigId, TenantOwned, Timestamped, UTCDateTime, utcnow
from mgd.tenants.models import Line, Membership

#: Whose consumption a threshold watches: one line, the lines of a cost centre, or the whole company.
SCOPES = ("line", "cost_centre", "company")
#: What it measures: the share of the data or voice allowance used, or the unbilled spend of the cycle.
METRICS = ("data_percent", "voice_percent", "spend")
CAP_STATUSES = ("recorded",)


def _choice(name: str, values: tuple[str, ...]) -> Enum:
    return Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


class UsageAlert(TenantOwned, Timestamped, Base):
    """A threshold: ``percent`` of an allowance (data or voice) or ``amount_cents`` of unbilled spend in the
    current cycle, for a line, a cost centre or the company. ``cap`` (spend of one line only): reaching it
    records a request to bar the line's premium and roaming usage."""

    __tablename__ = "usage_alerts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        Index("ix_usage_alerts_tenant_id_line_id", "tenant_id", "line_id"),
        ForeignKeyConstraint(["tenant_id", "line_id"], ["lines.tenant_id", "lines.id"], ondelete="CASCADE"),
        CheckConstraint(
            "(scope = 'line' AND line_id IS NOT NULL AND cost_centre IS NULL)"
            " OR (scope = 'cost_centre' AND line_id IS NULL AND cost_centre IS NOT NULL)"
            " OR (scope = 'company' AND line_id IS NULL AND cost_centre IS NULL)",
            name="scope_target",
        ),
        CheckConstraint(
            "(metric = 'spend' AND amount_cents > 0 AND percent IS NULL)"
            " OR (metric <> 'spend' AND percent BETWEEN 1 AND 1000 AND amount_cents IS NULL)",
            name="threshold",
        ),
        CheckConstraint("NOT cap OR (metric = 'spend' AND scope = 'line')", name="cap_on_line_spend"),
        CheckConstraint("by_email OR by_sms", name="some_channel"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)  # the company's key is in the recipients' and line's keys
    scope: Mapped[str] = mapped_column(_choice("usage_alert_scope", SCOPES))
    line_id: Mapped[int | None] = mapped_column(BigId)
    cost_centre: Mapped[str | None] = mapped_column(String(40))
    metric: Mapped[str] = mapped_column(_choice("usage_alert_metric", METRICS))
    percent: Mapped[int | None]
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    cap: Mapped[bool] = mapped_column(default=False)
    by_email: Mapped[bool] = mapped_column(default=True)
    by_sms: Mapped[bool] = mapped_column(default=False)

    line: Mapped[Line | None] = relationship(
        primaryjoin="and_(UsageAlert.tenant_id == Line.tenant_id, UsageAlert.line_id == Line.id)",
        foreign_keys="[UsageAlert.tenant_id, UsageAlert.line_id]",
        viewonly=True,
    )
    recipients: Mapped[list[UsageAlertRecipient]] = relationship(
        primaryjoin="and_(UsageAlert.tenant_id == UsageAlertRecipient.tenant_id, "
        "UsageAlert.id == UsageAlertRecipient.alert_id)",
        foreign_keys="[UsageAlertRecipient.tenant_id, UsageAlertRecipient.alert_id]",
        viewonly=True,
    )


class UsageAlertRecipient(TenantOwned, Base):
    """A member of the company notified when the alert fires (by the alert's channels)."""

    __tablename__ = "usage_alert_recipients"
    __table_args__ = (
        UniqueConstraint("tenant_id", "alert_id", "membership_id"),
        UniqueConstraint("tenant_id", "id"),
        Index("ix_usage_alert_recipients_tenant_id_membership_id", "tenant_id", "membership_id"),
        ForeignKeyConstraint(
            ["tenant_id", "alert_id"], ["usage_alerts.tenant_id", "usage_alerts.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "membership_id"], ["memberships.tenant_id", "memberships.id"], ondelete="CASCADE"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)
    alert_id: Mapped[int] = mapped_column(BigId)
    membership_id: Mapped[int] = mapped_column(BigId)

    membership: Mapped[Membership] = relationship(
        primaryjoin="and_(UsageAlertRecipient.tenant_id == Membership.tenant_id, "
        "UsageAlertRecipient.membership_id == Membership.id)",
        foreign_keys="[UsageAlertRecipient.tenant_id, UsageAlertRecipient.membership_id]",
        viewonly=True,
    )


class UsageAlertFiring(TenantOwned, Base):
    """An alert crossed its threshold in the cycle starting ``cycle_start``: at most one row per alert and
    cycle, inserted with ``ON CONFLICT DO NOTHING`` so that only the run that inserts it notifies."""

    __tablename__ = "usage_alert_firings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "alert_id", "cycle_start"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(
            ["tenant_id", "alert_id"], ["usage_alerts.tenant_id", "usage_alerts.id"], ondelete="CASCADE"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)
    alert_id: Mapped[int] = mapped_column(BigId)
    cycle_start: Mapped[date] = mapped_column(Date)
    value: Mapped[int] = mapped_column(BigInteger)  # the percent or the cents measured when it fired
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsageCapRequest(TenantOwned, Base):
    """A request to bar premium and roaming usage of a line whose spend reached its cap: one per line and
    cycle. ``recorded`` until the orders feature exists to carry it out."""

    __tablename__ = "usage_cap_requests"
    __table_args__ = (
        UniqueConstraint("tenant_id", "line_id", "cycle_start"),
        UniqueConstraint("tenant_id", "id"),
        Index("ix_usage_cap_requests_tenant_id_created_at", "tenant_id", "created_at"),
        ForeignKeyConstraint(["tenant_id", "line_id"], ["lines.tenant_id", "lines.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)
    line_id: Mapped[int] = mapped_column(BigId)
    cycle_start: Mapped[date] = mapped_column(Date)
    cap_cents: Mapped[int] = mapped_column(BigInteger)
    spend_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(_choice("usage_cap_status", CAP_STATUSES), default="recorded")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    line: Mapped[Line] = relationship(
        primaryjoin="and_(UsageCapRequest.tenant_id == Line.tenant_id, UsageCapRequest.line_id == Line.id)",
        foreign_keys="[UsageCapRequest.tenant_id, UsageCapRequest.line_id]",
        viewonly=True,
    )

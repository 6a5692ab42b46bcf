"""Usage records (CDRs) of the company's lines, their exact daily sums, and the allowances they draw from.

``usage_records`` holds one row per call, message, data session or premium service, as the operator's
mediation system sent it (records import, ``docs/usage.md``). On PostgreSQL it is range-partitioned by month
on ``started_at`` (``mgd.usage.partitions``), so its primary key is ``(id, started_at)`` there and its unique
keys carry ``started_at``; SQLite has a plain table with ``id`` alone as the primary key.
``usage_daily`` holds the same records summed per line, Madrid day, kind, direction, billed and roaming, kept
exact by the import in the same transaction: totals, charts and allowance bars read it instead of millions of
records.

Allowances: a line's tariff (``tariffs.data_gb``, ``voice_minutes``) plus the add-on ``bundles`` active for it
(``line_bundles``); a line in a pool (``lines.pool_id``, ``UsagePool`` in ``mgd.tenants.models``) draws from
the pool's allowance instead. The cycle comes from ``billing_accounts.cycle_day`` (``mgd.usage.services``).

Records name their line by ``(tenant_id, line_id)`` without a database key, like invoice charges
(``docs/billing.md``): the import, the only writer, resolves every line among the company's own, and lines and
companies are never deleted. A key checked per record would halve the import's speed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mgd.db import Base, BigId, TenantOwned, Timestamped, UTCDateTime
from mgd.tenants.models import Line, UsagePool

__all__ = [
    "DIRECTIONS",
    "KINDS",
    "ROAMING_ZONES",
    "Bundle",
    "LineBundle",
    "UsageDaily",
    "UsagePool",
    "UsageRecord",
]

#: What a record is: a call, an SMS, an MMS, a data session, a premium-rate service.
KINDS = ("voice", "sms", "mms", "data", "premium")
#: Made by the line (``out``) or received (``in``); data and premium records are ``out``.
DIRECTIONS = ("out", "in")
#: Where the line was when roaming (NULL: at home): the EU (regulated roaming), the operator's zones 1 and 2.
ROAMING_ZONES = ("eu", "world1", "world2")


def _choice(name: str, values: tuple[str, ...]) -> Enum:
    return Enum(*values, name=name, native_enum=False, create_constraint=True, length=10)


class UsageRecord(TenantOwned, Base):
    """One usage record. ``record_id`` is the operator's id: with ``started_at`` (which every unique key of a
    partitioned table must include) it is the import's idempotency key."""

    __tablename__ = "usage_records"
    __table_args__ = (
        # The import's idempotency key (ON CONFLICT DO NOTHING); the partition key is part of it.
        UniqueConstraint("tenant_id", "record_id", "started_at"),
        # Keyset pages, newest first: a line's records, and the company's.
        Index("ix_usage_records_tenant_id_line_id", "tenant_id", "line_id", "started_at", "id"),
        Index("ix_usage_records_tenant_id_started_at", "tenant_id", "started_at", "id"),
        CheckConstraint("duration_s >= 0 AND bytes >= 0 AND units >= 0", name="measures"),
        CheckConstraint("cost_cents >= 0", name="cost"),
        CheckConstraint("invoice_number IS NULL OR billed", name="invoice_when_billed"),
        # PostgreSQL: PARTITION BY RANGE (started_at), primary key (id, started_at): the migration and
        # docs/usage.md. On Citus the primary key becomes (tenant_id, id, started_at).
        {"info": {"partitioned_by": "started_at"}},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)  # no key to companies: see the module's docstring
    line_id: Mapped[int] = mapped_column(BigId)
    record_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(_choice("usage_kind", KINDS))
    direction: Mapped[str] = mapped_column(_choice("usage_direction", DIRECTIONS))
    # The number called or calling, or the service; already masked when the operator masks it.
    destination: Mapped[str | None] = mapped_column(String(40))
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166 alpha-2 of the other end, if known
    roaming_zone: Mapped[str | None] = mapped_column(_choice("roaming_zone", ROAMING_ZONES))
    duration_s: Mapped[int] = mapped_column(Integer, default=0)  # voice
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # data
    units: Mapped[int] = mapped_column(Integer, default=0)  # sms, mms, premium
    cost_cents: Mapped[int] = mapped_column(Integer, default=0)
    billed: Mapped[bool] = mapped_column(default=False)
    invoice_number: Mapped[str | None] = mapped_column(String(40))  # the invoice that billed it

    line: Mapped[Line] = relationship(
        primaryjoin="and_(UsageRecord.tenant_id == Line.tenant_id, UsageRecord.line_id == Line.id)",
        foreign_keys="[UsageRecord.tenant_id, UsageRecord.line_id]",
        viewonly=True,
    )


class UsageDaily(TenantOwned, Base):
    """The records of one line on one day (Europe/Madrid) of one kind, direction, billed state and roaming
    state (``roaming``: ``roaming_zone`` not NULL), summed. The import keeps it exact."""

    __tablename__ = "usage_daily"
    __table_args__ = (
        UniqueConstraint("tenant_id", "line_id", "day", "kind", "direction", "billed", "roaming"),
        UniqueConstraint("tenant_id", "id"),
        # The company's totals for a period and the allowance bars of every line: index-only on PostgreSQL.
        Index(
            "ix_usage_daily_tenant_id_day",
            "tenant_id",
            "day",
            postgresql_include=[
                "line_id",
                "kind",
                "direction",
                "billed",
                "roaming",
                "records",
                "duration_s",
                "bytes",
                "units",
                "cost_cents",
            ],
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)  # no key to companies, as usage_records
    line_id: Mapped[int] = mapped_column(BigId)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(_choice("usage_kind", KINDS))
    direction: Mapped[str] = mapped_column(_choice("usage_direction", DIRECTIONS))
    billed: Mapped[bool]
    roaming: Mapped[bool]
    records: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    units: Mapped[int] = mapped_column(BigInteger)
    cost_cents: Mapped[int] = mapped_column(BigInteger)


class Bundle(Timestamped, Base):
    """An add-on bundle of the operator's catalogue (shared by every company, like tariffs): GB and minutes
    added to a line's allowance each cycle it is active."""

    __tablename__ = "bundles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    data_gb: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    voice_minutes: Mapped[int | None]
    monthly_fee_eur: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class LineBundle(TenantOwned, Timestamped, Base):
    """A bundle on a line from ``starts_on`` to ``ends_on`` (inclusive; NULL: until further notice). It counts
    in every cycle its period overlaps."""

    __tablename__ = "line_bundles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "line_id", "bundle_id", "starts_on"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "line_id"], ["lines.tenant_id", "lines.id"], ondelete="CASCADE"),
        CheckConstraint("ends_on IS NULL OR starts_on <= ends_on", name="period"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    line_id: Mapped[int] = mapped_column(BigId)
    bundle_id: Mapped[int] = mapped_column(BigId, ForeignKey("bundles.id", ondelete="RESTRICT"))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]

    bundle: Mapped[Bundle] = relationship()
    line: Mapped[Line] = relationship(
        primaryjoin="and_(LineBundle.tenant_id == Line.tenant_id, LineBundle.line_id == Line.id)",
        foreign_keys="[LineBundle.tenant_id, LineBundle.line_id]",
        viewonly=True,
    )

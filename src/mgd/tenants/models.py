"""Operator records: companies (the tenants), their interlocutors, billing accounts and lines, and tariffs.

Companies are the tenants; every other table here but ``tariffs`` (a shared catalogue) is tenant-owned, with
unique keys that lead with ``tenant_id`` so they can become distribution keys.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mgd.crypto import EncryptedText
from mgd.db import Base, BigId, TenantOwned, Timestamped, UTCDateTime

if TYPE_CHECKING:
    from mgd.security.models import User

SEGMENTS = ("pyme", "mediana", "grandes_clientes")
LINE_KINDS = ("fixed", "mobile")
PRODUCTS = ("fixed", "mobile", "convergent")
LINE_STATUSES = ("active", "suspended", "cancelled")
#: Why a line is suspended by an order of the customer.
SUSPENSION_REASONS = ("lost", "stolen")
#: A membership's role: admin (everything, users included), manager (lines and service requests), billing
#: (invoices and payments), viewer (read only).
ROLES = ("admin", "manager", "billing", "viewer")
#: How a billing account's invoices are delivered: on paper by post, or electronically by email.
INVOICE_DELIVERIES = ("paper", "email")


def _choice(name: str, values: tuple[str, ...]) -> Enum:
    return Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def new_public_ref() -> str:
    """An opaque, unguessable reference for URLs (the fiscal ID never appears in one)."""
    return secrets.token_urlsafe(12)


class Tariff(Timestamped, Base):
    __tablename__ = "tariffs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    family: Mapped[str] = mapped_column(_choice("family", PRODUCTS))
    monthly_fee_eur: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    data_gb: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    voice_minutes: Mapped[int | None]


class Company(Timestamped, Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_ref: Mapped[str] = mapped_column(String(24), unique=True, default=new_public_ref)
    fiscal_id: Mapped[str] = mapped_column(String(12), unique=True)
    fiscal_id_kind: Mapped[str] = mapped_column(_choice("fiscal_id_kind", ("cif", "nif", "nie")))
    name: Mapped[str] = mapped_column(String(200))
    segment: Mapped[str] = mapped_column(_choice("segment", SEGMENTS))
    invite_domains: Mapped[str | None] = mapped_column(String(500))  # space-separated; empty: any domain
    # Orders whose monthly cost is above this wait for another administrator's approval (None: none wait).
    order_approval_threshold_eur: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))

    interlocutors: Mapped[list[Interlocutor]] = relationship(back_populates="company", passive_deletes=True)
    billing_accounts: Mapped[list[BillingAccount]] = relationship(
        back_populates="company", passive_deletes=True
    )
    lines: Mapped[list[Line]] = relationship(
        primaryjoin="Company.id == foreign(Line.tenant_id)", viewonly=True
    )


class Interlocutor(TenantOwned, Timestamped, Base):
    """A person the operator knows as a contact of the company; registration checks emails against these."""

    __tablename__ = "interlocutors"
    __table_args__ = (UniqueConstraint("tenant_id", "email"), UniqueConstraint("tenant_id", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(16))

    company: Mapped[Company] = relationship(back_populates="interlocutors")


class BillingAccount(TenantOwned, Timestamped, Base):
    """Where the company's fixed or mobile lines are paid: the IBAN registration asks for, the direct-debit
    mandate, the billing address on the invoices and how the invoices are delivered."""

    __tablename__ = "billing_accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "ref"),
        UniqueConstraint("tenant_id", "id"),  # the Citus key; target of the lines' tenant-checked foreign key
        CheckConstraint("cycle_day BETWEEN 1 AND 28", name="cycle_day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ref: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(_choice("billing_kind", LINE_KINDS))
    iban: Mapped[str] = mapped_column(String(34))
    # The SEPA direct-debit mandate under which the IBAN is charged (a reference of up to 35 characters).
    mandate_reference: Mapped[str | None] = mapped_column(String(35))
    mandate_signed_on: Mapped[date | None]
    # The billing address printed on the invoices; the province is the one its Spanish postcode names.
    billing_address: Mapped[str | None] = mapped_column(String(200))
    billing_postcode: Mapped[str | None] = mapped_column(String(5))
    billing_city: Mapped[str | None] = mapped_column(String(100))
    billing_province: Mapped[str | None] = mapped_column(String(40))
    invoice_delivery: Mapped[str] = mapped_column(
        _choice("invoice_delivery", INVOICE_DELIVERIES), default="paper", server_default="paper"
    )
    einvoice_emails: Mapped[str | None] = mapped_column(String(1000))  # space-separated, when by email
    # The day of the month (1-28) on which the account's billing cycle, and its lines' allowances, start
    # (Europe/Madrid; mgd.usage.services.cycle_for).
    cycle_day: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")

    company: Mapped[Company] = relationship(back_populates="billing_accounts")


class UsagePool(TenantOwned, Timestamped, Base):
    """A pool of GB and minutes that the company's lines in it (``lines.pool_id``) share each cycle, instead
    of their own tariff's and bundles' allowances (consumption, ``mgd.usage``)."""

    __tablename__ = "usage_pools"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        UniqueConstraint("tenant_id", "id"),  # target of the lines' tenant-checked key
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    data_gb: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    voice_minutes: Mapped[int | None]


class Line(TenantOwned, Timestamped, Base):
    """A fixed or mobile line. Its billing account is referenced with the tenant in the key, so a line can
    never point at another company's account; that key also ties the line to its company."""

    __tablename__ = "lines"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "id"),  # the Citus key; target of the membership scopes' foreign key
        Index("ix_lines_number", "number"),
        ForeignKeyConstraint(
            ["tenant_id", "billing_account_id"],
            ["billing_accounts.tenant_id", "billing_accounts.id"],
            ondelete="CASCADE",
        ),
        # A pool is removed only once no line is in it.
        ForeignKeyConstraint(["tenant_id", "pool_id"], ["usage_pools.tenant_id", "usage_pools.id"]),
        Index("ix_lines_tenant_id_pool_id", "tenant_id", "pool_id"),
        # The lines page's sorts (``lines.services.sort_keys``), so that any page of a large company, however
        # deep, walks an index from its key instead of sorting the company's lines: empty labels sort as ''.
        Index("ix_lines_tenant_id_alias_id", "tenant_id", text("coalesce(alias, '')"), "id"),
        Index("ix_lines_tenant_id_cost_centre_id", "tenant_id", text("coalesce(cost_centre, '')"), "id"),
        Index("ix_lines_tenant_id_kind_id", "tenant_id", "kind", "id"),
        Index("ix_lines_tenant_id_status_id", "tenant_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)  # no separate key to companies: the one above covers it
    number: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(_choice("line_kind", LINE_KINDS))
    product: Mapped[str] = mapped_column(_choice("product", PRODUCTS))
    status: Mapped[str] = mapped_column(_choice("line_status", LINE_STATUSES), default="active")
    tariff_id: Mapped[int] = mapped_column(BigId, ForeignKey("tariffs.id", ondelete="RESTRICT"))
    billing_account_id: Mapped[int] = mapped_column(BigId)
    # The company's own labels, set in the portal (the records import never touches them).
    alias: Mapped[str | None] = mapped_column(String(60))
    cost_centre: Mapped[str | None] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    # The shared pool whose allowance the line draws from (NULL: its own tariff and bundles).
    pool_id: Mapped[int | None] = mapped_column(BigId)
    # The line's services as orders leave them (``mgd.orders``: completion applies them here).
    premium_calls_blocked: Mapped[bool] = mapped_column(default=False, server_default=false())
    premium_sms_blocked: Mapped[bool] = mapped_column(default=False, server_default=false())
    roaming_enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    voicemail_reset_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why a suspended line is (``status`` 'suspended'): lost or stolen (``SUSPENSION_REASONS``), by an order.
    suspension_reason: Mapped[str | None] = mapped_column(String(10))
    # The SIM card in the line (mobile lines): its ICCID, set when a duplicate SIM is activated; and its PUK,
    # stored encrypted (``mgd.crypto``), shown only after a fresh sign-in (``orders.puk``).
    iccid: Mapped[str | None] = mapped_column(String(22))
    puk: Mapped[str | None] = mapped_column(EncryptedText)

    company: Mapped[Company] = relationship(
        primaryjoin="foreign(Line.tenant_id) == Company.id", viewonly=True
    )
    tariff: Mapped[Tariff] = relationship()
    user: Mapped[User | None] = relationship()
    billing_account: Mapped[BillingAccount] = relationship(
        primaryjoin="and_(Line.tenant_id == BillingAccount.tenant_id, "
        "Line.billing_account_id == BillingAccount.id)",
        foreign_keys="[Line.tenant_id, Line.billing_account_id]",
        viewonly=True,
    )


class Membership(TenantOwned, Timestamped, Base):
    """A user's place in one company: a role, whether it is active there, and whether it sees only the lines
    (or cost centres) in its scopes."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        UniqueConstraint("tenant_id", "id"),  # the Citus key; target of the membership scopes' foreign key
        Index("ix_memberships_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(
        Enum(*ROLES, name="role", native_enum=False, create_constraint=True, length=20)
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    limited: Mapped[bool] = mapped_column(default=False)  # sees only the lines its scopes name

    user: Mapped[User] = relationship(back_populates="memberships")


class MembershipScope(TenantOwned, Base):
    """One line, or one cost centre, that a limited membership may see."""

    __tablename__ = "membership_scopes"
    __table_args__ = (
        CheckConstraint("(line_id IS NULL) <> (cost_centre IS NULL)", name="line_or_cost_centre"),
        Index("ix_membership_scopes_tenant_id_membership_id", "tenant_id", "membership_id"),
        UniqueConstraint("tenant_id", "id"),
        # Keys to the company's own membership and line, with the tenant in them (as Citus requires between
        # distributed tables): a scope can never name another company's line.
        ForeignKeyConstraint(
            ["tenant_id", "membership_id"], ["memberships.tenant_id", "memberships.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "line_id"], ["lines.tenant_id", "lines.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    membership_id: Mapped[int] = mapped_column(BigId)
    line_id: Mapped[int | None] = mapped_column(BigId)
    cost_centre: Mapped[str | None] = mapped_column(String(40))

    membership: Mapped[Membership] = relationship(
        primaryjoin="and_(MembershipScope.tenant_id == Membership.tenant_id, "
        "MembershipScope.membership_id == Membership.id)",
        foreign_keys="[MembershipScope.tenant_id, MembershipScope.membership_id]",
        viewonly=True,
    )

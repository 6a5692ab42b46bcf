"""Invitations to join a company."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Enum,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mgd.db import Base, BigId, TenantOwned, Timestamped, UTCDateTime
from mgd.tenants.models import ROLES, Company

#: ``draft``: prepared (from a Grandes Clientes request's list of users), not sent; an administrator edits
#: and sends it (then ``pending``).
INVITATION_STATUSES = ("pending", "accepted", "revoked", "draft")


class Invitation(TenantOwned, Timestamped, Base):
    """An emailed, single-use link to join the company with a role; only a hash of its token is stored."""

    __tablename__ = "invitations"
    __table_args__ = (
        # One pending invitation per company and email; accepted and revoked ones stay as history.
        Index(
            "uq_invitations_pending",
            "tenant_id",
            "email",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_invitations_tenant_id_status", "tenant_id", "status"),
        UniqueConstraint("tenant_id", "id"),  # the key Citus distributes by (docs/deployment.md)
        # Unique within the company (a distributed table can only enforce that); the link has no company, so
        # it is found by the hash alone. A 256-bit random token does not repeat.
        UniqueConstraint("tenant_id", "token_hash"),
        Index("ix_invitations_token_hash", "token_hash"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(
        Enum(*ROLES, name="invitation_role", native_enum=False, create_constraint=True, length=20)
    )
    token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(
        Enum(*INVITATION_STATUSES, name="invitation_status", native_enum=False, create_constraint=True),
        default="pending",
    )
    invited_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    sent_count: Mapped[int] = mapped_column(default=1)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    company: Mapped[Company] = relationship()

"""Users, their signed-in sessions, one-time codes and the audit log (memberships of companies live with the
companies, in ``mgd.tenants.models``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mgd.crypto import EncryptedText
from mgd.db import Base, BigId, Timestamped, UTCDateTime, utcnow

if TYPE_CHECKING:
    from mgd.tenants.models import Membership

STAFF_ROLES = ("advisor", "supervisor")  # the operator's own people: back office only, no company
CHANNELS = ("sms", "email")


class User(Timestamped, Base):
    """A person who signs in with their email or their verified mobile, which also receives one-time codes."""

    __tablename__ = "users"
    __table_args__ = (Index("ix_users_mobile", "mobile"),)  # signing in by mobile finds the user by it

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    password_is_temporary: Mapped[bool] = mapped_column(default=True)
    password_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mobile: Mapped[str | None] = mapped_column(String(16))  # verified, E.164
    terms_version: Mapped[str | None] = mapped_column(String(20))
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    access_data_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)  # consecutive wrong passwords and codes
    lockouts: Mapped[int] = mapped_column(default=0)  # each lockout lasts twice the previous one
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)  # authenticator app, base32
    totp_pending_secret: Mapped[str | None] = mapped_column(EncryptedText)  # shown, not yet confirmed
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # a TOTP code is accepted at most once
    staff_role: Mapped[str | None] = mapped_column(
        Enum(*STAFF_ROLES, name="staff_role", native_enum=False, create_constraint=True, length=20)
    )
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_sms: Mapped[bool] = mapped_column(default=False)  # also tell them of their orders' steps by SMS
    locale: Mapped[str | None] = mapped_column(String(5))  # the portal's language chosen; emails go in it too
    last_company_id: Mapped[int | None] = mapped_column(  # the company chosen last, offered first
        BigId, ForeignKey("companies.id", ondelete="SET NULL")
    )

    @property
    def is_staff(self) -> bool:
        return self.staff_role is not None

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")

    # Flask-Login's user protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class UserSession(Base):
    """One signed-in session of a user (a browser). The cookie holds a random token; only its hash is kept.

    Not tenant-owned: a person signs in once and may then act for several companies.
    """

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the cookie's token
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # to the minute
    reauthenticated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # sign-in counts
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class CodeChallenge(Timestamped, Base):
    """One one-time code: stored hashed, single use, valid until ``expires_at``, a bounded number of tries."""

    __tablename__ = "code_challenges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(
        Enum(*CHANNELS, name="code_channel", native_enum=False, create_constraint=True)
    )
    destination: Mapped[str] = mapped_column(String(254))
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """A security event: who, from where, when, what, and for which company or fiscal ID."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_tenant_id_occurred_at", "tenant_id", "occurred_at"),
        Index("ix_audit_events_action_occurred_at", "action", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(60))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    tenant_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("companies.id", ondelete="SET NULL"))
    fiscal_id: Mapped[str | None] = mapped_column(String(12))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

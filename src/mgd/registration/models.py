"""A registration attempt, and a large account's access request."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from mgd.db import Base, BigId, Timestamped, UTCDateTime
from mgd.registration.steps import STEP_NAMES

REQUEST_STATUSES = ("pending", "approved", "rejected")


def new_token() -> str:
    return secrets.token_urlsafe(32)


class RegistrationFlow(Timestamped, Base):
    """One attempt to register, from the fiscal ID to the account; its ``state`` is the machine's.

    Only ``token`` is kept in the visitor's session. ``updated_at`` tells the last step taken: a flow idle for
    longer than its lifetime is expired.
    """

    __tablename__ = "registration_flows"
    __table_args__ = (
        Index("ix_registration_flows_fiscal_id_created_at", "fiscal_id", "created_at"),
        Index("ix_registration_flows_state_updated_at", "state", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    state: Mapped[str] = mapped_column(
        Enum(*STEP_NAMES, name="registration_state", native_enum=False, create_constraint=True, length=20)
    )
    fiscal_id: Mapped[str] = mapped_column(String(12))
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str | None] = mapped_column(String(45))
    company_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"))
    phone: Mapped[str | None] = mapped_column(String(16))
    code_mobile: Mapped[str | None] = mapped_column(String(16))  # None: the code goes by email
    needs_fixed_iban: Mapped[bool] = mapped_column(default=False)
    needs_mobile_iban: Mapped[bool] = mapped_column(default=False)
    wrong_phones: Mapped[int] = mapped_column(default=0)
    wrong_ibans: Mapped[int] = mapped_column(default=0)
    resends: Mapped[int] = mapped_column(default=0)
    code_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    challenge_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("code_challenges.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    end_reason: Mapped[str | None] = mapped_column(String(40))


class AccessRequest(Timestamped, Base):
    """A Grandes Clientes interlocutor asking for access; an advisor decides."""

    __tablename__ = "access_requests"
    __table_args__ = (
        # One pending request per fiscal ID and email; decided ones may repeat.
        Index(
            "uq_access_requests_pending",
            "fiscal_id",
            "email",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(
        Enum(*REQUEST_STATUSES, name="request_status", native_enum=False, create_constraint=True, length=20),
        default="pending",
    )
    fiscal_id: Mapped[str] = mapped_column(String(12))
    company_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("companies.id", ondelete="SET NULL"))
    requester_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(120))
    locale: Mapped[str | None] = mapped_column(String(5))  # the requester's language, for the answer
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(16))
    users_needed: Mapped[int]
    comments: Mapped[str | None] = mapped_column(Text)
    # The users the company needs, as the requester listed them: [{"name", "email", "role"}]; approval
    # prepares their invitations (drafts the new administrator edits and sends).
    users: Mapped[list[dict] | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(45))
    decided_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)

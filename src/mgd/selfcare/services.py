"""Mi Área onboarding: terms of use, access data and a verified mobile, before anything else."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mgd.db import operator_scope, utcnow
from mgd.identifiers import Phone
from mgd.security.audit import Origin, record_event
from mgd.security.models import CodeChallenge, User
from mgd.security.profile import request_mobile_change
from mgd.tenants.models import Company, Membership


def onboarding_pending(user: User, terms_version: str) -> bool:
    """Whether the user still has to accept the current terms, confirm their data or give a mobile."""
    return user.terms_version != terms_version or user.access_data_confirmed_at is None or user.mobile is None


def save_onboarding(
    session: Session, user: User, *, name: str, mobile: Phone, terms_version: str, origin: Origin
) -> CodeChallenge | None:
    """Record the accepted terms and confirmed data; a new mobile gets a code (returned) before it counts.
    Raises ``SendLimited``, and then nothing is kept."""
    now = utcnow()
    with session.begin_nested():
        if user.terms_version != terms_version:
            user.terms_version, user.terms_accepted_at = terms_version, now
            record_event(session, "terms.accepted", origin, user_id=user.id, version=terms_version)
        user.name = name
        user.access_data_confirmed_at = now
        session.flush()
        return request_mobile_change(session, user, mobile, origin)


def companies_of(session: Session, user: User) -> list[Company]:
    """The companies where the user's membership is active, by name (a read across tenants, limited to the
    user's own rows)."""
    query = (
        select(Company)
        .join(Membership, Membership.tenant_id == Company.id)
        .where(Membership.user_id == user.id, Membership.is_active.is_(True))
        .order_by(Company.name)
    )
    with operator_scope(session, "the signed-in user's own memberships"):
        return list(session.scalars(query))


def company_to_open(companies: list[Company]) -> Company | None:
    """The company to open straight after sign-in: the only one (None: none, or a choice between several)."""
    return companies[0] if len(companies) == 1 else None


def last_used_first(companies: list[Company], user: User) -> list[Company]:
    """The companies to choose from, the one chosen last at the top (the rest by name)."""
    return sorted(companies, key=lambda company: company.id != user.last_company_id)

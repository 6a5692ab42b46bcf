"""Mi Área onboarding: terms of use, access data and a verified mobile, before anything else."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from mgd.db import operator_scope, utcnow
from mgd.notify.senders import templated_mail
from mgd.notify.services import queue_mail
from mgd.security.audit import Origin, record_event
from mgd.security.codes import CodeCheck, CodeMessage, check_code, issue_code, signed_in_requester
from mgd.security.models import CodeChallenge, Membership, User
from mgd.tenants.identifiers import Phone
from mgd.tenants.models import Company

VERIFY_MOBILE = "verify_mobile"


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


def request_mobile_change(
    session: Session, user: User, mobile: Phone, origin: Origin
) -> CodeChallenge | None:
    """A code to a new mobile (returned); the number becomes the user's once the code comes back. Raises
    ``SendLimited``."""
    if mobile.e164 == user.mobile:
        return None
    message = CodeMessage("mobile_code", _("Confirm your mobile"))
    challenge = issue_code(
        session,
        purpose=VERIFY_MOBILE,
        channel="sms",
        destination=mobile.e164,
        message=message,
        requester=signed_in_requester(session, user.id),
        user_id=user.id,
    )
    record_event(session, "mobile.code_sent", origin, user_id=user.id, mobile=mobile.e164)
    return challenge


def verify_mobile(session: Session, user: User, challenge_id: int, code: str, origin: Origin) -> CodeCheck:
    """Check a mobile-verification code of this user; when right, the mobile becomes theirs (and a change of
    an earlier mobile is emailed to the account)."""
    challenge = session.get(CodeChallenge, challenge_id)
    if challenge is None or challenge.user_id != user.id or challenge.purpose != VERIFY_MOBILE:
        return CodeCheck.DEAD
    result = check_code(session, challenge, code)
    if result is CodeCheck.ACCEPTED:
        if user.mobile is not None and user.mobile != challenge.destination:
            # A changed mobile (not the first one) is told to the account's email, in case it was not them.
            subject = _("The mobile of your MGD access was changed")
            digits = challenge.destination[-3:]
            mail = templated_mail(user.email, subject, "mobile_changed", user=user, digits=digits)
            queue_mail(session, mail)
        user.mobile = challenge.destination
        session.flush()
    record_event(session, f"mobile.code_{result}", origin, user_id=user.id, mobile=challenge.destination)
    return result


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


def company_to_open(companies: list[Company], user: User) -> Company | None:
    """The company to open straight after sign-in: the one chosen last, or the only one (None: a choice)."""
    remembered = [company for company in companies if company.id == user.last_company_id]
    if remembered:
        return remembered[0]
    return companies[0] if len(companies) == 1 else None

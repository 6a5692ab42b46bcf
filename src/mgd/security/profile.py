"""Mi perfil: the signed-in user's own access data — password, email, recent sign-ins."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from mgd.security.audit import Origin, record_event
from mgd.security.codes import CodeCheck, CodeMessage, check_code, issue_code, signed_in_requester
from mgd.security.models import AuditEvent, CodeChallenge, User
from mgd.security.passwords import Policy, verify_password
from mgd.security.services import change_password

VERIFY_EMAIL = "verify_email"


class EmailTaken(Exception):
    """Another user already signs in with this email."""


def recent_sign_ins(session: Session, user: User, limit: int = 10) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.user_id == user.id, AuditEvent.action == "login.succeeded")
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def change_own_password(
    session: Session, user: User, current: str, new: str, *, policy: Policy, origin: Origin
) -> list[str]:
    """Like ``change_password``, but the current password must be given first (rule ``current``)."""
    if not verify_password(user.password_hash, current):
        record_event(session, "password.change_refused", origin, user_id=user.id)
        return ["current"]
    return change_password(session, user, new, policy, origin)


def request_email_change(session: Session, user: User, new_email: str, origin: Origin) -> CodeChallenge:
    """A code to the new address, which becomes the user's once the code comes back. Raises ``EmailTaken`` or
    ``SendLimited``."""
    new_email = new_email.strip().lower()
    if session.scalar(select(User.id).where(User.email == new_email, User.id != user.id)) is not None:
        raise EmailTaken(new_email)
    message = CodeMessage("email_code", _("Confirm your new email"))
    challenge = issue_code(
        session,
        purpose=VERIFY_EMAIL,
        channel="email",
        destination=new_email,
        message=message,
        requester=signed_in_requester(session, user.id),
        user_id=user.id,
    )
    record_event(session, "email.code_sent", origin, user_id=user.id)
    return challenge


def confirm_email_change(
    session: Session, user: User, challenge_id: int, code: str, origin: Origin
) -> CodeCheck:
    challenge = session.get(CodeChallenge, challenge_id)
    if challenge is None or challenge.user_id != user.id or challenge.purpose != VERIFY_EMAIL:
        return CodeCheck.DEAD
    result = check_code(session, challenge, code)
    if result is CodeCheck.ACCEPTED:
        if session.scalar(select(User.id).where(User.email == challenge.destination)) is not None:
            return CodeCheck.DEAD
        record_event(
            session,
            "email.changed",
            origin,
            user_id=user.id,
            previous=user.email,
            email=challenge.destination,
        )
        user.email = challenge.destination
        session.flush()
    return result

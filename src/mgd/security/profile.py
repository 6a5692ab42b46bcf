"""Mi perfil: the signed-in user's own access data — password, email, recent sign-ins, sessions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from mgd.identifiers import Phone, masked_email
from mgd.notify.senders import Mail, templated_mail
from mgd.notify.services import queue_mail
from mgd.security.audit import Origin, record_event
from mgd.security.codes import CodeCheck, CodeMessage, check_code, issue_code, signed_in_requester
from mgd.security.models import AuditEvent, CodeChallenge, User, UserSession
from mgd.security.passwords import Policy, verify_password
from mgd.security.services import change_password
from mgd.security.sessions import end_sessions

VERIFY_EMAIL = "verify_email"


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


class _TakenNotice(CodeMessage):
    """A code message that leaves the code out: the owner of a taken address learns of the attempt only."""

    def mail(self, to: str, code: str, locale: str | None = None) -> Mail:
        return templated_mail(to, self.subject, self.template, locale=locale, email=to)


_TAKEN_MESSAGE = _TakenNotice("email_taken", _l("Your email on MGD"))


def request_email_change(session: Session, user: User, new_email: str, origin: Origin) -> CodeChallenge:
    """A code to the new address, which becomes the user's once the code comes back.

    An address that already has an account gets a notice instead of the code, and the challenge can never be
    confirmed: the requester sees the same pages either way, so the form does not tell who has an account.
    Raises ``SendLimited``.
    """
    new_email = new_email.strip().lower()
    taken = session.scalar(select(User.id).where(User.email == new_email, User.id != user.id)) is not None
    message = _TAKEN_MESSAGE if taken else CodeMessage("email_code", _l("Confirm your new email"))
    challenge = issue_code(
        session,
        purpose=VERIFY_EMAIL,
        channel="email",
        destination=new_email,
        message=message,
        requester=signed_in_requester(session, user.id),
        user_id=user.id,
        locale=user.locale,
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
        # The old address hears of it: if someone else made the change, its owner can react.
        mail = templated_mail(
            user.email,
            _l("The email of your MGD access was changed"),
            "email_changed",
            locale=user.locale,
            user=user,
            new_email=masked_email(challenge.destination),
        )
        queue_mail(session, mail)
        user.email = challenge.destination
        session.flush()
    return result


def code_destination(session: Session, user: User, challenge_id: int | None) -> str | None:
    """Where the code of one of the user's own challenges went (for its page to say), else None."""
    challenge = session.get(CodeChallenge, challenge_id) if challenge_id else None
    return challenge.destination if challenge is not None and challenge.user_id == user.id else None


def record_session_ended(session: Session, user: User, session_id: int, origin: Origin) -> None:
    record_event(session, "session.ended", origin, user_id=user.id, session_id=session_id)


def end_other_sessions(session: Session, user: User, keep: UserSession | None, origin: Origin) -> int:
    """End every session of the user but ``keep`` (this browser's); returns how many ended."""
    ended = end_sessions(session, user.id, keep=keep.id if keep else None)
    record_event(session, "session.ended_others", origin, user_id=user.id, sessions=ended)
    return ended


VERIFY_MOBILE = "verify_mobile"


def request_mobile_change(
    session: Session, user: User, mobile: Phone, origin: Origin
) -> CodeChallenge | None:
    """A code to a new mobile (returned); the number becomes the user's once the code comes back. Raises
    ``SendLimited``."""
    if mobile.e164 == user.mobile:
        return None
    message = CodeMessage("mobile_code", _l("Confirm your mobile"))
    challenge = issue_code(
        session,
        purpose=VERIFY_MOBILE,
        channel="sms",
        destination=mobile.e164,
        message=message,
        requester=signed_in_requester(session, user.id),
        user_id=user.id,
        locale=user.locale,
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
            subject = _l("The mobile of your MGD access was changed")
            digits = challenge.destination[-3:]
            mail = templated_mail(
                user.email, subject, "mobile_changed", locale=user.locale, user=user, digits=digits
            )
            queue_mail(session, mail)
        user.mobile = challenge.destination
        session.flush()
    record_event(session, f"mobile.code_{result}", origin, user_id=user.id, mobile=challenge.destination)
    return result

"""Signing in: password, then a one-time code to the channel the user picks, then a temporary password change.

Wrong passwords and wrong codes count as consecutive failures of an account; at ``LOCKOUT_THRESHOLD`` the
account is locked for ``LOCKOUT_MINUTES`` (twice as long at each further lockout, back to the first length
after a successful sign-in or password reset) and its owner is emailed. The counters change in the database.
Refusals raise ``SignInRefused`` after flushing their counters and audit event: the view shows them as a page
(a response, which the edge commits, never an error), so that they are always counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mgd.db import increment, utcnow
from mgd.identifiers import MOBILE, InvalidIdentifier, normalize_phone
from mgd.notify.senders import templated_mail
from mgd.notify.services import queue_mail
from mgd.security.audit import Origin, record_event
from mgd.security.codes import (
    CodeCheck,
    CodeMessage,
    check_code,
    issue_code,
    retire,
    seconds_until_resend,
    signed_in_requester,
)
from mgd.security.models import CodeChallenge, User, UserSession
from mgd.security.passwords import Policy, hash_password, needs_rehash, temporary_password, verify_password
from mgd.security.sessions import end_sessions, mark_reauthenticated
from mgd.security.totp import check_totp

SIGN_IN_CODE = "sign_in"
# Verified against when the email is unknown, so that the answer takes as long as for a real account.
_DUMMY_HASH = hash_password("not-a-real-password-0")


class SignInRefused(Exception):
    """``reason``: ``bad_credentials``, ``locked``, ``expired_password``, ``wrong_code``, ``code_dead``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Lockout:
    threshold: int
    minutes: int

    @classmethod
    def from_config(cls, config) -> Lockout:
        return cls(config["LOCKOUT_THRESHOLD"], config["LOCKOUT_MINUTES"])


def _is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def _count_failure(session: Session, user: User, lockout: Lockout, origin: Origin, what: str) -> bool:
    """Count a wrong password or code of an unlocked account, and lock it at the threshold.

    False when a parallel request locked the account meanwhile: nothing is counted then. The count is a
    conditional UPDATE that keeps the row locked until commit, so exactly one request reaches the threshold.
    """
    now = utcnow()
    unlocked = or_(User.locked_until.is_(None), User.locked_until <= now)
    failed = increment(session, user, "failed_logins", unlocked)
    if failed is None:
        session.refresh(user, ["locked_until", "failed_logins"])
        return False
    if failed >= lockout.threshold:
        lockouts = increment(session, user, "lockouts")
        minutes = lockout.minutes * 2 ** min(lockouts - 1, 10)
        user.locked_until = now + timedelta(minutes=minutes)
        user.failed_logins = 0
        subject = _l("Your MGD account has been locked for a while")
        mail = templated_mail(user.email, subject, "locked", locale=user.locale, user=user, minutes=minutes)
        queue_mail(session, mail)
        record_event(session, "login.locked", origin, user_id=user.id, minutes=minutes, after=what)
    session.flush()
    return True


def _signed_in(session: Session, user: User, origin: Origin, channel: str) -> None:
    """A complete sign-in: the failures are forgotten and the next lockout is the first again."""
    user.failed_logins, user.lockouts, user.last_sign_in_at = 0, 0, utcnow()
    session.flush()
    record_event(session, "login.succeeded", origin, user_id=user.id, channel=channel)


def find_sign_in_user(session: Session, identifier: str) -> tuple[User | None, str]:
    """The user an identifier typed at sign-in names, and why none when none: an email address, or a Spanish
    mobile number (any spelling ``normalize_phone`` reads) that exactly one user has as their verified mobile.

    A mobile shared by several users names nobody (``shared_mobile``): signing in with it would have to pick
    one of them, so each of them signs in with their email instead.
    """
    if "@" in identifier:
        user = session.scalar(select(User).where(User.email == identifier.strip().lower()))
        return user, "unknown_email"
    try:
        phone = normalize_phone(identifier)
    except InvalidIdentifier:
        return None, "unknown_mobile"
    if phone.kind != MOBILE:
        return None, "unknown_mobile"
    users = list(session.scalars(select(User).where(User.mobile == phone.e164).order_by(User.id).limit(2)))
    if len(users) > 1:
        return None, "shared_mobile"
    return (users[0] if users else None), "unknown_mobile"


def check_password(
    session: Session, identifier: str, password: str, lockout: Lockout, origin: Origin
) -> User:
    """The user with this email (or mobile, ``find_sign_in_user``) and password; ``SignInRefused`` never tells
    which of the two was wrong, nor whether the identifier names anybody.

    Every answer costs one password verification (against a dummy hash for an unknown, ambiguous, disabled or
    locked account), so that its time does not tell either. Failures count against the account found, by
    whichever identifier it was found: the lockout is the account's, the rate limit the address's.
    """
    user, unknown = find_sign_in_user(session, identifier)
    if user is None or not user.is_active:
        verify_password(_DUMMY_HASH, password)
        record_event(session, "login.failed", origin, user_id=user.id if user else None, reason=unknown)
        raise SignInRefused("bad_credentials")
    if _is_locked(user):
        verify_password(_DUMMY_HASH, password)
        record_event(session, "login.refused_locked", origin, user_id=user.id)
        raise SignInRefused("locked")
    if not verify_password(user.password_hash, password):
        if _count_failure(session, user, lockout, origin, "password"):
            record_event(session, "login.failed", origin, user_id=user.id, reason="wrong_password")
        else:
            record_event(session, "login.refused_locked", origin, user_id=user.id)
        raise SignInRefused("locked" if _is_locked(user) else "bad_credentials")
    session.refresh(user, with_for_update=True)  # a parallel wrong password may have locked it since
    if _is_locked(user):
        record_event(session, "login.refused_locked", origin, user_id=user.id)
        raise SignInRefused("locked")
    if (
        user.password_is_temporary
        and user.password_expires_at is not None
        and user.password_expires_at < utcnow()
    ):
        record_event(session, "login.failed", origin, user_id=user.id, reason="temporary_password_expired")
        raise SignInRefused("expired_password")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return user


def channels(user: User) -> list[str]:
    """Where this user's one-time codes can come from: the mobile, the email, the authenticator app."""
    return (["sms"] if user.mobile else []) + ["email"] + (["app"] if user.totp_secret else [])


class ResendTooSoon(Exception):
    def __init__(self, wait: int) -> None:
        super().__init__(wait)
        self.wait = wait


def send_sign_in_code(
    session: Session, user: User, channel: str, origin: Origin, replacing: int | None = None
) -> CodeChallenge:
    """A sign-in code by SMS to the verified mobile or by email; raises ``SendLimited``.

    ``replacing``: the challenge of a code sent earlier in this sign-in, which dies; ``ResendTooSoon`` if it
    was sent less than ``codes.RESEND_AFTER`` ago (nothing is sent).
    """
    if channel not in channels(user) or channel == "app":
        raise ValueError(f"no code can be sent by {channel!r} to this user")
    earlier = session.get(CodeChallenge, replacing) if replacing else None
    if earlier is not None and earlier.user_id == user.id:
        if wait := seconds_until_resend(earlier):
            raise ResendTooSoon(wait)
        retire(session, earlier)
    destination = user.mobile if channel == "sms" else user.email
    message = CodeMessage(SIGN_IN_CODE, _l("Your MGD sign-in code"))
    challenge = issue_code(
        session,
        purpose=SIGN_IN_CODE,
        channel=channel,
        destination=destination,
        message=message,
        requester=signed_in_requester(session, user.id),
        user_id=user.id,
        locale=user.locale,
    )
    record_event(session, "login.code_sent", origin, user_id=user.id, channel=channel)
    return challenge


def check_sign_in_code(
    session: Session, user: User, challenge_id: int, code: str, *, lockout: Lockout, origin: Origin
) -> None:
    """Accept the code of this user's sign-in; a wrong one counts as a failure of the account.

    The user's row is locked first: the codes of one account are checked one at a time, and one accepted code
    makes one sign-in (the same code sent again meanwhile is dead, and not a failure).
    """
    session.refresh(user, with_for_update=True)
    challenge = session.get(CodeChallenge, challenge_id)
    if (
        challenge is None
        or challenge.user_id != user.id
        or challenge.purpose != SIGN_IN_CODE
        or _is_locked(user)
    ):
        raise SignInRefused("code_dead")
    result = check_code(session, challenge, code)
    if result is CodeCheck.ACCEPTED:
        _signed_in(session, user, origin, challenge.channel)
        return
    if challenge.used_at is not None:  # the right code again (a double submit): no guess, no failure
        raise SignInRefused("code_dead")
    record_event(session, "login.code_refused", origin, user_id=user.id, result=str(result))
    _count_failure(session, user, lockout, origin, "code")
    if _is_locked(user):
        raise SignInRefused("locked")
    raise SignInRefused("wrong_code" if result is CodeCheck.WRONG else "code_dead")


def check_app_code(session: Session, user: User, code: str, *, lockout: Lockout, origin: Origin) -> None:
    """Accept a code of the user's authenticator app, once; a wrong or replayed one counts as a failure."""
    session.refresh(user, with_for_update=True)
    if not _is_locked(user) and check_totp(session, user, code):
        _signed_in(session, user, origin, "app")
        return
    record_event(session, "login.code_refused", origin, user_id=user.id, channel="app")
    _count_failure(session, user, lockout, origin, "code")
    raise SignInRefused("locked" if _is_locked(user) else "wrong_code")


def reauthenticate(
    session: Session,
    user: User,
    user_session: UserSession | None,
    password: str,
    *,
    lockout: Lockout,
    origin: Origin,
) -> None:
    """Confirm the signed-in user's password: their session counts as freshly signed in again.

    A wrong password is a failed sign-in (counted, and it can lock the account): ``SignInRefused``.
    """
    if user_session is None or user_session.user_id != user.id:
        raise SignInRefused("bad_credentials")
    check_password(session, user.email, password, lockout, origin)
    mark_reauthenticated(session, user_session)
    record_event(session, "reauth.succeeded", origin, user_id=user.id)


def change_password(
    session: Session, user: User, new_password: str, policy: Policy, origin: Origin
) -> list[str]:
    """Set a new password if it meets the policy, else return the rules it breaks; ends every session of the
    user (a signed-in caller starts a new one)."""
    problems = policy.problems(new_password, email=user.email, name=user.name)
    if verify_password(user.password_hash, new_password):
        problems.append("same")
    if problems:
        return problems
    user.password_hash = hash_password(new_password)
    user.password_is_temporary = False
    user.password_expires_at = None
    end_sessions(session, user.id)
    session.flush()
    record_event(session, "password.changed", origin, user_id=user.id)
    return []


TEMPORARY_PASSWORD_LIFETIME = timedelta(days=7)


def issue_temporary_password(user: User) -> str:
    """Give the user a new temporary password, valid for ``TEMPORARY_PASSWORD_LIFETIME`` and to be changed at
    the next sign-in; returned, for the one message that carries it. Nothing is flushed."""
    password = temporary_password()
    user.password_hash = hash_password(password)
    user.password_is_temporary = True
    user.password_expires_at = utcnow() + TEMPORARY_PASSWORD_LIFETIME
    return password


def create_user(
    session: Session, *, email: str, name: str, password: str | None = None, **fields: object
) -> tuple[User, str]:
    """A new user with the ``password`` they chose (already checked against the policy) or, without one, a
    temporary password; the password is returned, for the one message that may carry it."""
    user = User(email=email, name=name, **fields)
    if password is None:
        password = issue_temporary_password(user)
    else:
        user.password_hash, user.password_is_temporary = hash_password(password), False
    session.add(user)
    session.flush()
    return user, password


class StaffExists(Exception):
    """The email already belongs to a user."""


def create_staff(session: Session, email: str, name: str, role: str) -> tuple[User, str]:
    """A new operator staff member with a temporary password (returned, to be shown once)."""
    email = email.strip().lower()
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise StaffExists(email)
    return create_user(session, email=email, name=name, staff_role=role, access_data_confirmed_at=utcnow())

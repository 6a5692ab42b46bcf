"""One-time codes: six random digits, stored as a keyed hash, single use, short-lived, a few tries.

A challenge is created with ``issue_code`` (which counts the send against its limits and queues the SMS or
email) and checked with ``check_code``. Every comparison spends one of the challenge's ``MAX_ATTEMPTS`` tries,
counted by the database; after the last one the code is dead.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, render_template
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mgd.db import increment, operator_scope, utcnow
from mgd.notify.senders import Mail, in_language, templated_mail
from mgd.notify.services import queue_mail, queue_sms
from mgd.notify.throttle import Requester, count_send
from mgd.security.models import CodeChallenge
from mgd.tenants.models import Membership

CODE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)  # before a person may ask for another code of the same kind


class CodeCheck(enum.StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"  # tries are left
    DEAD = "dead"  # expired, used, or out of tries: a new code is needed


def _digest(challenge_id: int, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{challenge_id}:{code}".encode(), hashlib.sha256).hexdigest()


def issue_code(
    session: Session,
    *,
    purpose: str,
    channel: str,
    destination: str,
    message: CodeMessage,
    requester: Requester,
    user_id: int | None = None,
    locale: str | None = None,
) -> CodeChallenge:
    """Create a challenge and queue its code by SMS or email; the code itself is never stored.

    The message is in ``locale``, the recipient's language (None: the current one). Raises ``SendLimited``
    (nothing created or queued) when a send limit of ``requester`` or of the destination is spent.
    """
    count_send(session, destination, requester)
    code = f"{secrets.randbelow(10**6):06d}"
    challenge = CodeChallenge(
        purpose=purpose,
        channel=channel,
        destination=destination,
        code_hash="",
        user_id=user_id,
        expires_at=utcnow() + CODE_LIFETIME,
    )
    session.add(challenge)
    session.flush()
    challenge.code_hash = _digest(challenge.id, code)
    if channel == "sms":
        queue_sms(session, destination, message.sms(code, locale))
    else:
        queue_mail(session, message.mail(destination, code, locale))
    session.flush()
    return challenge


def signed_in_requester(session: Session, user_id: int) -> Requester:
    """Sends for a signed-in user: their own limit, and the caps of every company where they are active."""
    query = select(Membership.tenant_id).where(Membership.user_id == user_id, Membership.is_active.is_(True))
    with operator_scope(session, "the companies whose send caps count a user's message"):
        return Requester(user_id, tuple(session.scalars(query)))


def check_code(session: Session, challenge: CodeChallenge, code: str) -> CodeCheck:
    """Compare ``code`` with the challenge; a right code is used up, a wrong one spends a try.

    The try is spent in the database *before* the comparison, by a conditional UPDATE: however many requests
    arrive at once, at most ``MAX_ATTEMPTS`` codes are ever compared. Using up the right code is conditional
    too, so the same code sent twice at once is accepted once (the other gets DEAD).
    """
    now = utcnow()
    live = (CodeChallenge.used_at.is_(None), CodeChallenge.expires_at > now)
    attempts = increment(session, challenge, "attempts", *live, below=MAX_ATTEMPTS)
    if attempts is None:
        result = CodeCheck.DEAD
    elif hmac.compare_digest(challenge.code_hash, _digest(challenge.id, code.strip())):
        used = session.scalar(
            update(CodeChallenge)
            .where(CodeChallenge.id == challenge.id, CodeChallenge.used_at.is_(None))
            .values(used_at=now)
            .returning(CodeChallenge.id)
            .execution_options(synchronize_session=False)
        )
        result = CodeCheck.ACCEPTED if used else CodeCheck.DEAD
    else:
        result = CodeCheck.WRONG if attempts < MAX_ATTEMPTS else CodeCheck.DEAD
    session.expire(challenge, ["used_at", "expires_at"])  # read again from the database when next needed
    return result


def seconds_until_resend(challenge: CodeChallenge) -> int:
    """How long before another code may replace ``challenge`` (0: now)."""
    left = (challenge.created_at + RESEND_AFTER - utcnow()).total_seconds()
    return max(0, int(left + 0.999))


def retire(session: Session, challenge: CodeChallenge | None) -> None:
    """Make an outstanding code unusable (a new one replaces it)."""
    if challenge is not None and challenge.used_at is None:
        challenge.expires_at = min(challenge.expires_at, utcnow())
        session.flush()


@dataclass(frozen=True)
class CodeMessage:
    """The texts that carry a code, from ``templates/mail/<template>.{sms,txt,html}``."""

    template: str
    subject: str  # lazy (``_l``), translated in the recipient's language

    def sms(self, code: str, locale: str | None = None) -> str:
        with in_language(locale):
            return render_template(f"mail/{self.template}.sms", code=code).strip()

    def mail(self, to: str, code: str, locale: str | None = None) -> Mail:
        return templated_mail(to, self.subject, self.template, locale=locale, code=code)

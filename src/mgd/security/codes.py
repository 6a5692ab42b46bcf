"""One-time codes: six random digits, stored as a keyed hash, single use, short-lived, a few tries.

A challenge is created with ``issue_code`` (which counts the send against its limits and queues the SMS or
email) and checked with ``check_code``. Wrong tries are counted on the challenge; past ``MAX_ATTEMPTS`` the
code is dead.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from mgd.db import operator_scope, utcnow
from mgd.notify.senders import Mail, templated_mail
from mgd.notify.services import queue_mail, queue_sms
from mgd.notify.throttle import Requester, count_send
from mgd.security.models import CodeChallenge, Membership

CODE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5


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
) -> CodeChallenge:
    """Create a challenge and queue its code by SMS or email; the code itself is never stored.

    Raises ``SendLimited`` (nothing created or queued) when a send limit of ``requester`` or of the
    destination is spent.
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
        queue_sms(session, destination, message.sms(code))
    else:
        queue_mail(session, message.mail(destination, code))
    session.flush()
    return challenge


def signed_in_requester(session: Session, user_id: int) -> Requester:
    """Sends for a signed-in user: their own limit, and the caps of every company where they are active."""
    query = select(Membership.tenant_id).where(Membership.user_id == user_id, Membership.is_active.is_(True))
    with operator_scope(session, "the companies whose send caps count a user's message"):
        return Requester(user_id, tuple(session.scalars(query)))


def check_code(session: Session, challenge: CodeChallenge, code: str) -> CodeCheck:
    """Compare ``code`` with the challenge; a right code is used up, a wrong one spends a try."""
    if (
        challenge.used_at is not None
        or challenge.expires_at <= utcnow()
        or challenge.attempts >= MAX_ATTEMPTS
    ):
        return CodeCheck.DEAD
    if hmac.compare_digest(challenge.code_hash, _digest(challenge.id, code.strip())):
        challenge.used_at = utcnow()
        session.flush()
        return CodeCheck.ACCEPTED
    challenge.attempts += 1
    session.flush()
    return CodeCheck.DEAD if challenge.attempts >= MAX_ATTEMPTS else CodeCheck.WRONG


def retire(session: Session, challenge: CodeChallenge | None) -> None:
    """Make an outstanding code unusable (a new one replaces it)."""
    if challenge is not None and challenge.used_at is None:
        challenge.expires_at = min(challenge.expires_at, utcnow())
        session.flush()


@dataclass(frozen=True)
class CodeMessage:
    """The texts that carry a code, from ``templates/mail/<template>.{sms,txt,html}``."""

    template: str
    subject: str

    def sms(self, code: str) -> str:
        return render_template(f"mail/{self.template}.sms", code=code).strip()

    def mail(self, to: str, code: str) -> Mail:
        return templated_mail(to, self.subject, self.template, code=code)

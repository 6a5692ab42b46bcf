"""A forgotten password: a code to the account's email or mobile, then a new password.

Nothing here reveals whether an email has an account: every request queues exactly one message (a code, or to
an unknown address a note that there is no account), and every page and status is the same either way.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from mgd.notify.senders import templated_mail
from mgd.notify.services import queue_mail
from mgd.notify.throttle import Requester, count_send
from mgd.security.audit import Origin, record_event
from mgd.security.codes import CodeCheck, CodeMessage, check_code, issue_code
from mgd.security.models import CodeChallenge, User
from mgd.security.passwords import Policy
from mgd.security.services import change_password

RESET_CODE = "password_reset"


def request_reset(session: Session, email: str, channel: str, origin: Origin) -> int | None:
    """Send a reset code by ``channel`` ("sms" or "email"); returns the challenge id, None for unknown emails.

    An account without a mobile gets its code by email. An unknown email gets a note instead of a code.
    Raises ``SendLimited`` when the destination has been sent too many messages lately.
    """
    email = email.strip().lower()
    user = session.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
    if user is None:
        count_send(session, email, Requester())
        queue_mail(session, templated_mail(email, _("Your MGD password"), "reset_unknown", email=email))
        record_event(session, "password.reset_requested", origin, known=False)
        return None
    sms = channel == "sms" and user.mobile is not None
    message = CodeMessage(RESET_CODE, _l("Your code to choose a new MGD password"))
    challenge = issue_code(
        session,
        purpose=RESET_CODE,
        channel="sms" if sms else "email",
        destination=user.mobile if sms else user.email,
        message=message,
        requester=Requester(),  # anonymous: a stranger must not spend the user's or the company's limits
        user_id=user.id,
        locale=user.locale,
    )
    record_event(session, "password.reset_requested", origin, user_id=user.id, known=True)
    return challenge.id


def check_reset_code(session: Session, challenge_id: int | None, code: str) -> CodeCheck:
    """Check a reset code; with no challenge (unknown email) every code is wrong, as it would look."""
    challenge = session.get(CodeChallenge, challenge_id) if challenge_id else None
    if challenge is None or challenge.purpose != RESET_CODE:
        return CodeCheck.WRONG
    return check_code(session, challenge, code)


def reset_password(
    session: Session, challenge_id: int, new_password: str, policy: Policy, origin: Origin
) -> list[str]:
    """Set the new password of the user whose reset code was accepted; also lifts a lockout, and the next one
    is the first again."""
    challenge = session.get(CodeChallenge, challenge_id)
    if challenge is None or challenge.purpose != RESET_CODE or challenge.used_at is None:
        raise ValueError("no accepted reset code")
    user = session.get(User, challenge.user_id)
    problems = change_password(session, user, new_password, policy, origin)
    if not problems:
        user.failed_logins, user.lockouts, user.locked_until = 0, 0, None
        session.flush()
        record_event(session, "password.reset", origin, user_id=user.id)
    return problems

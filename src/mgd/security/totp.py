"""Authenticator apps (TOTP, RFC 6238, through pyotp): enrolment with a QR code; each code works once.

Secrets are stored encrypted (``EncryptedText``); during enrolment the new secret waits on the user's row,
never in the session cookie, which the browser can read."""

from __future__ import annotations

import base64
import io
from datetime import datetime

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy.orm import Session

from mgd.db import utcnow
from mgd.security.audit import Origin, record_event
from mgd.security.models import User

ISSUER = "MGD"
WINDOW = 1  # one 30-second step either side, for clocks that drift


def new_secret() -> str:
    return pyotp.random_base32()


def qr_data_uri(secret: str, email: str) -> str:
    """The enrolment QR code as an SVG data URI (no external service, no script)."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    buffer = io.BytesIO()
    qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8).save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _matching_step(secret: str, code: str, after: int | None, now: datetime) -> int | None:
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if (after is None or step > after) and pyotp.utils.strings_equal(
            totp.generate_otp(step), code.strip()
        ):
            return step
    return None


def check_totp(session: Session, user: User, code: str, now: datetime | None = None) -> bool:
    """Whether ``code`` is the user's current code and has not been used before (then it is used up)."""
    if not user.totp_secret:
        return False
    step = _matching_step(user.totp_secret, code, user.totp_last_step, now or utcnow())
    if step is None:
        return False
    user.totp_last_step = step
    session.flush()
    return True


def pending_secret(session: Session, user: User) -> str:
    """The secret being enrolled, shown as a QR code until a first code confirms it (created if none)."""
    if not user.totp_pending_secret:
        user.totp_pending_secret = new_secret()
        session.flush()
    return user.totp_pending_secret


def enrol(session: Session, user: User, code: str, origin: Origin) -> bool:
    """Make the pending secret the user's authenticator if ``code`` proves the app has it."""
    secret = user.totp_pending_secret
    step = _matching_step(secret, code, None, utcnow()) if secret else None
    if step is None:
        return False
    user.totp_secret, user.totp_last_step, user.totp_pending_secret = secret, step, None
    session.flush()
    record_event(session, "totp.enrolled", origin, user_id=user.id)
    return True


def remove(session: Session, user: User, origin: Origin) -> None:
    user.totp_secret, user.totp_last_step, user.totp_pending_secret = None, None, None
    session.flush()
    record_event(session, "totp.removed", origin, user_id=user.id)

"""Server-side sessions: one row per signed-in browser, found by the hash of the token its cookie carries.

A session ends when it is revoked (sign-out, a password change, the user or an administrator ending it), after
``idle`` without a request, or ``absolute`` after sign-in. Re-authentication makes it fresh for a while.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mgd.db import utcnow
from mgd.security.audit import Origin
from mgd.security.models import User, UserSession

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often: no write per request


@dataclass(frozen=True)
class Lifetime:
    idle: timedelta
    absolute: timedelta
    fresh: timedelta  # how long a sign-in or a re-authentication counts as recent

    @classmethod
    def from_config(cls, config) -> Lifetime:
        return cls(
            timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
            timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]),
            timedelta(minutes=config["REAUTH_MINUTES"]),
        )

    def is_live(self, row: UserSession, now: datetime) -> bool:
        return (
            row.revoked_at is None
            and now - row.last_seen_at <= self.idle
            and now - row.created_at <= self.absolute
        )

    def is_fresh(self, row: UserSession, now: datetime) -> bool:
        return now - row.reauthenticated_at <= self.fresh


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user_id: int, origin: Origin) -> tuple[UserSession, str]:
    """A new session (one INSERT) and the token for the cookie, which is not stored."""
    token, now = secrets.token_urlsafe(32), utcnow()
    row = UserSession(
        token_hash=_hash(token),
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        reauthenticated_at=now,
        ip=origin.ip,
        user_agent=origin.user_agent,
    )
    session.add(row)
    session.flush()
    return row, token


def find_live_session(
    session: Session, token: str, lifetime: Lifetime, now: datetime
) -> tuple[UserSession, User] | None:
    """The session this token opened, if it has not ended, and its user, read in one statement."""
    found = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _hash(token))
    ).first()
    if found is None or not lifetime.is_live(found[0], now):
        return None
    return found[0], found[1]


def touch(row: UserSession, now: datetime) -> bool:
    """Move the session's ``last_seen_at`` on to ``now``, at most once a minute; True if it moved."""
    if now - row.last_seen_at < TOUCH_EVERY:
        return False
    row.last_seen_at = now
    return True


def active_sessions(session: Session, user_id: int, lifetime: Lifetime, now: datetime) -> list[UserSession]:
    """The user's sessions that have not ended, the most recently used first."""
    query = (
        select(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.last_seen_at >= now - lifetime.idle,
            UserSession.created_at >= now - lifetime.absolute,
        )
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return list(session.scalars(query))


def end_session(session: Session, user_id: int, session_id: int) -> bool:
    """Revoke one of the user's sessions; False if it is not theirs or has already ended."""
    result = session.execute(
        update(UserSession)
        .where(
            UserSession.id == session_id,
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    return result.rowcount == 1


def end_sessions(session: Session, user_id: int, *, keep: int | None = None) -> int:
    """Revoke every session of the user (but ``keep``); returns how many were still open."""
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep)
    return session.execute(query.values(revoked_at=utcnow())).rowcount


def mark_reauthenticated(session: Session, row: UserSession) -> None:
    row.reauthenticated_at = utcnow()
    session.flush()


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"))
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def describe_agent(user_agent: str | None) -> str | None:
    """ "Firefox, Windows" from a browser's user agent; None when it names neither (a script, a bot)."""
    agent = user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in agent), None)
    if browser is None and re.search(r"Version/[\d.]+ .*Safari/", agent):
        browser = "Safari"
    system = next((name for mark, name in _SYSTEMS if mark in agent), None)
    return ", ".join(part for part in (browser, system) if part) or None

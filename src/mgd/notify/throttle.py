"""Send limits: every SMS or email sent at someone's request is counted per user, per destination and per
company in the database (``send_counts``), and refused once a ``MGD_SEND_LIMIT_*`` is spent."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import ngettext
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mgd.config import Rate
from mgd.db import utcnow
from mgd.notify.models import SendCount

LIMITS = (
    "SEND_LIMIT_USER",
    "SEND_LIMIT_DESTINATION",
    "SEND_LIMIT_COMPANY_HOUR",
    "SEND_LIMIT_COMPANY_DAY",
)


@dataclass(frozen=True)
class Requester:
    """On whose behalf a message goes: a signed-in user (``user_id``) and the companies whose caps count it.
    Anonymous flows (registration, forgotten password) have no user; only their destination is counted, and
    the company of a registration."""

    user_id: int | None = None
    company_ids: tuple[int, ...] = ()


class SendLimited(Exception):
    """A send limit is spent. ``scope``: ``user``, ``destination`` or ``company``; ``retry_after``: seconds
    until its window ends."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(f"{scope} send limit reached; a new window opens in {retry_after} s")
        self.scope = scope
        self.retry_after = retry_after


def count_send(session: Session, destination: str, requester: Requester, now: datetime | None = None) -> None:
    """Count one message to ``destination`` against every limit that applies to it.

    Raises ``SendLimited`` and counts nothing when one is spent. Each count is one conditional upsert
    (``_take``): concurrent requests queue on the counter's row lock instead of reading the same count, so the
    limits hold across every web process. Counters are taken in one order (user, destination, companies by
    id) so that two requests never wait for each other's rows.
    """
    now = now or utcnow()
    config = current_app.config
    checks: list[tuple[str, str, Rate]] = []
    if requester.user_id is not None:
        checks.append(("user", f"user:{requester.user_id}", config["SEND_LIMIT_USER"]))
    checks.append(
        ("destination", f"destination:{destination.strip().lower()}", config["SEND_LIMIT_DESTINATION"])
    )
    for company_id in sorted(set(requester.company_ids)):
        checks.append(("company", f"company:{company_id}", config["SEND_LIMIT_COMPANY_HOUR"]))
        checks.append(("company", f"company:{company_id}", config["SEND_LIMIT_COMPANY_DAY"]))
    with session.begin_nested():  # a refusal undoes the counts already taken for this message
        for scope, key, rate in checks:
            window = _window_start(now, rate)
            if not _take(session, key, rate, window):
                ends = window + timedelta(seconds=rate.seconds)
                raise SendLimited(scope, math.ceil((ends - now).total_seconds()))


def _window_start(now: datetime, rate: Rate) -> datetime:
    """Fixed windows aligned on the epoch: every process agrees on the current one without asking."""
    return datetime.fromtimestamp(int(now.timestamp()) // rate.seconds * rate.seconds, UTC)


def _take(session: Session, key: str, rate: Rate, window: datetime) -> bool:
    """One more in the window's counter unless it is at the limit, in one statement: ``INSERT … ON CONFLICT
    DO UPDATE SET count = count + 1 WHERE count < :limit RETURNING count`` (no row back: refused)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(SendCount)
        .values(key=key, window_seconds=rate.seconds, window_start=window, count=1)
        .on_conflict_do_update(
            index_elements=["key", "window_seconds", "window_start"],
            set_={"count": SendCount.count + 1},
            where=SendCount.count < rate.count,
        )
        .returning(SendCount.count)
    )
    return session.execute(statement).first() is not None


def purge_send_counts(session: Session, now: datetime | None = None) -> int:
    """Delete the counters of windows long over (older than the longest configured window)."""
    longest = max(current_app.config[name].seconds for name in LIMITS)
    cutoff = (now or utcnow()) - timedelta(seconds=longest)
    result = session.execute(
        delete(SendCount).where(SendCount.window_start < cutoff).execution_options(synchronize_session=False)
    )
    return result.rowcount


def refusal_message(error: SendLimited) -> str:
    """What a person reads when a send is refused: what was spent and how long to wait."""
    minutes = max(1, math.ceil(error.retry_after / 60))
    if error.scope == "user":
        return ngettext(
            "You have asked for too many codes in a short time. Try again in %(num)d minute.",
            "You have asked for too many codes in a short time. Try again in %(num)d minutes.",
            minutes,
        )
    if error.scope == "company":
        return ngettext(
            "Your company has been sent too many messages in a short time. Try again in %(num)d minute.",
            "Your company has been sent too many messages in a short time. Try again in %(num)d minutes.",
            minutes,
        )
    return ngettext(
        "Too many messages have been sent to this number or address in a short time. "
        "Try again in %(num)d minute.",
        "Too many messages have been sent to this number or address in a short time. "
        "Try again in %(num)d minutes.",
        minutes,
    )

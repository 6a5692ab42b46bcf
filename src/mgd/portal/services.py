"""When the advisors' help chat is open, for the help button shown on every page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

MADRID = ZoneInfo("Europe/Madrid")
OPENS = time(8, 0)
CLOSES = time(18, 0)
WORKING_DAYS = range(0, 5)  # Monday to Friday


@dataclass(frozen=True)
class HelpStatus:
    phone: str
    open_now: bool
    opens: time = OPENS
    closes: time = CLOSES


def help_status(phone: str, now: datetime | None = None) -> HelpStatus:
    """Whether the chat is open at ``now``: Monday to Friday, 8:00-18:00 in Madrid, any server zone."""
    local = (now or datetime.now(UTC)).astimezone(MADRID)
    open_now = local.weekday() in WORKING_DAYS and OPENS <= local.time() < CLOSES
    return HelpStatus(phone=phone, open_now=open_now)

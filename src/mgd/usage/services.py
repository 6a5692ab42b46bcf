"""The billing cycle of an account, which consumption's pages, alerts and demo build on. The allowance used
in it is ``usage.allowances``'s (one computation for the pages and the alerts)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from mgd.tenants.models import BillingAccount


@dataclass(frozen=True)
class Cycle:
    start: date  # first day, inclusive (Europe/Madrid)
    end: date  # last day, inclusive

    @property
    def resets_on(self) -> date:
        """The first day of the next cycle."""
        return self.end + timedelta(days=1)


def _on_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def cycle_for(account: BillingAccount | int, on: date) -> Cycle:
    """The cycle of ``account`` (or of a ``cycle_day``, 1–28) that contains the Madrid day ``on``: from its
    cycle day of one month to the day before it in the next."""
    day = account if isinstance(account, int) else account.cycle_day
    if not 1 <= day <= 28:
        raise ValueError(f"cycle day {day} is not between 1 and 28")
    year, month = on.year, on.month
    if on.day < day:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    start = _on_day(year, month, day)
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return Cycle(start, _on_day(next_year, next_month, day) - timedelta(days=1))

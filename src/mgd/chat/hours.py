"""When the advisors answer the chat: Monday to Friday between ``CHAT_OPENS`` and ``CHAT_CLOSES`` in Madrid,
except Spain's national holidays (the ``holidays`` package) and the operator's own closing days
(``CHAT_CLOSED_DAYS``). Any server time zone: every computation is in Madrid time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

MADRID = ZoneInfo("Europe/Madrid")
WORKING_DAYS = range(0, 5)  # Monday to Friday


@lru_cache(maxsize=16)
def _national(year: int) -> holidays.HolidayBase:
    # National holidays only (no subdivision): the desk serves the whole country.
    return holidays.country_holidays("ES", years=year)


@dataclass(frozen=True)
class Hours:
    opens: time
    closes: time
    closed_days: tuple[date, ...] = ()

    @classmethod
    def from_config(cls, config) -> Hours:
        return cls(config["CHAT_OPENS"], config["CHAT_CLOSES"], tuple(config["CHAT_CLOSED_DAYS"]))

    def holiday(self, day: date) -> str | None:
        """Why ``day`` is closed although a weekday: the holiday's name, or "closed" for an operator's day."""
        if day in self.closed_days:
            return "closed"
        return _national(day.year).get(day)

    def working_day(self, day: date) -> bool:
        return day.weekday() in WORKING_DAYS and self.holiday(day) is None

    def is_open(self, now: datetime | None = None) -> bool:
        local = (now or datetime.now(UTC)).astimezone(MADRID)
        return self.working_day(local.date()) and self.opens <= local.time() < self.closes

    def next_opening(self, now: datetime | None = None) -> datetime:
        """The next moment the chat opens (``now`` itself while open), in Madrid time."""
        local = (now or datetime.now(UTC)).astimezone(MADRID)
        if self.is_open(local):
            return local
        day = local.date()
        if local.time() >= self.opens:
            day += timedelta(days=1)
        while not self.working_day(day):
            day += timedelta(days=1)
        return datetime.combine(day, self.opens, MADRID)

    def answer_by(self, hours: int, now: datetime | None = None) -> datetime:
        """When a message left now is answered at the latest: ``hours`` of opening time after now (from the
        next opening when closed), in Madrid time."""
        start = self.next_opening(now)
        left = timedelta(hours=hours)
        while True:
            closing = datetime.combine(start.date(), self.closes, MADRID)
            if start + left <= closing:
                return start + left
            left -= max(closing - start, timedelta(0))
            start = self.next_opening(datetime.combine(start.date() + timedelta(days=1), time(0), MADRID))

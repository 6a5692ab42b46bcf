"""What a consumption page asks for, read from its query string: the days (Madrid), the type, the direction,
roaming or at home, billed or not, and the keyset cursor of the page. Anything unreadable is left out (the
page shows the default), never an error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mgd.web.paging import whole_number

MADRID = ZoneInfo("Europe/Madrid")
KINDS = ("voice", "sms", "mms", "data", "premium")
DIRECTIONS = ("out", "in")
PLACES = ("home", "roaming")  # ``roaming``: at home (no roaming zone) or abroad (any zone)
STATES = ("unbilled", "billed")
MAX_DAYS = 186  # about six months, what the operator keeps online
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)  # the days any page of the portal accepts

#: A page's position: the start time and id of the last record shown (newest first).
Cursor = tuple[datetime, int]


@dataclass(frozen=True)
class UsageFilters:
    start: date  # first day, Madrid
    end: date  # last day, Madrid (included)
    kind: str | None = None
    direction: str | None = None
    place: str | None = None
    state: str = "unbilled"

    @property
    def since(self) -> datetime:
        return _instant(self.start)

    @property
    def until(self) -> datetime:
        """The first instant after the last day (exclusive)."""
        return _instant(self.end + timedelta(days=1))

    def args(self, *, state: str | None = None) -> dict:
        """The filters as query arguments for links (pages, exports, the other state)."""
        values = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "kind": self.kind or "",
            "direction": self.direction or "",
            "roaming": self.place or "",
            "state": state or self.state,
        }
        return {name: value for name, value in values.items() if value}


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(), MADRID).astimezone(UTC)


def _day(value: str | None) -> date | None:
    if not value or len(value) != 10 or not value.isascii():
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None  # (9999-12-31 has no next day to end a filter)


def _choice(value: str | None, choices: tuple[str, ...]) -> str | None:
    return value if value in choices else None


def read_filters(args, cycle: tuple[date, date]) -> UsageFilters:
    """The filters of ``args``; the days default to the current billing ``cycle`` (start, end) and span at
    most ``MAX_DAYS`` (counted back from the last day asked for)."""
    end = _day(args.get("to")) or cycle[1]
    start = _day(args.get("from")) or (cycle[0] if end >= cycle[0] else end.replace(day=1))
    if start > end:
        start, end = end, start
    start = max(start, end - timedelta(days=MAX_DAYS - 1))
    return UsageFilters(
        start=start,
        end=end,
        kind=_choice(args.get("kind"), KINDS),
        direction=_choice(args.get("direction"), DIRECTIONS),
        place=_choice(args.get("roaming"), PLACES),
        state=_choice(args.get("state"), STATES) or "unbilled",
    )


def cursor_token(cursor: Cursor) -> str:
    """A cursor as a query-string value: microseconds since the epoch, a dot and the id (``1764…000.42``)."""
    started, record_id = cursor
    delta = started.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return f"{delta // timedelta(microseconds=1)}.{record_id}"


def parse_cursor(token: str | None) -> Cursor | None:
    """The cursor ``cursor_token`` wrote; None for anything else (the first page)."""
    micros, _dot, record_id = (token or "").partition(".")
    when, number = whole_number(micros, 0, 2**53), whole_number(record_id, 1, 2**63 - 1)
    if when is None or number is None:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=when), number

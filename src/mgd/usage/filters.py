"""What a consumption page asks for, read from its query string: the days (Madrid), the type, the direction,
roaming or at home, billed or not, and the keyset cursor of the page. An empty value is the default; any
other value the page cannot read is a 400 whose page names the filter and says what it accepts
(``BadParameter``), never ignored and never a 500."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mgd.web.paging import whole_number
from mgd.web.shell import BadParameter

MADRID = ZoneInfo("Europe/Madrid")
KINDS = ("voice", "sms", "mms", "data", "premium")
DIRECTIONS = ("out", "in")
PLACES = ("home", "roaming")  # ``roaming``: at home (no roaming zone) or abroad (any zone)
STATES = ("unbilled", "billed")
MAX_DAYS = 186  # about six months, what the operator keeps online
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)  # the days any page of the portal accepts

#: What the filters' form calls each query parameter (the error page names the filter by it).
LABELS = {
    "from": _l("From"),
    "to": _l("To"),
    "kind": _l("Type"),
    "direction": _l("Direction"),
    "roaming": _l("Where"),
    "state": _l("Billed or not"),
    "after": _l("Older records"),
}

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


def refuse(name: str, why: str) -> BadParameter:
    """The 400 of a filter the page cannot read: "The filter “Type” (kind=) …" and why."""
    return BadParameter(
        name, _("The filter “%(label)s” (%(name)s=) %(why)s", label=LABELS[name], name=name, why=why)
    )


def _day(args, name: str) -> date | None:
    value = args.get(name)
    if not value:
        return None
    day = None
    if len(value) == 10 and value.isascii():
        try:
            day = date.fromisoformat(value)
        except ValueError:
            day = None
    if day is None or not FIRST_DAY <= day <= LAST_DAY:  # (9999-12-31 has no next day to end a filter)
        raise refuse(name, _("is not a date between the years 2000 and 2100, written YYYY-MM-DD."))
    return day


def _choice(args, name: str, choices: tuple[str, ...]) -> str | None:
    value = args.get(name)
    if not value:
        return None
    if value not in choices:
        raise refuse(name, _("must be one of: %(choices)s.", choices=", ".join(choices)))
    return value


def read_filters(args, cycle: tuple[date, date]) -> UsageFilters:
    """The filters of ``args``; the days default to the current billing ``cycle`` (start, end) and span at
    most ``MAX_DAYS`` (counted back from the last day asked for). A value it cannot read raises
    ``BadParameter`` naming it."""
    end = _day(args, "to") or cycle[1]
    start = _day(args, "from") or (cycle[0] if end >= cycle[0] else end.replace(day=1))
    if start > end:
        start, end = end, start
    start = max(start, end - timedelta(days=MAX_DAYS - 1))
    return UsageFilters(
        start=start,
        end=end,
        kind=_choice(args, "kind", KINDS),
        direction=_choice(args, "direction", DIRECTIONS),
        place=_choice(args, "roaming", PLACES),
        state=_choice(args, "state", STATES) or "unbilled",
    )


def cursor_token(cursor: Cursor) -> str:
    """A cursor as a query-string value: microseconds since the epoch, a dot and the id (``1764…000.42``)."""
    started, record_id = cursor
    delta = started.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return f"{delta // timedelta(microseconds=1)}.{record_id}"


def parse_cursor(token: str | None) -> Cursor | None:
    """The cursor ``cursor_token`` wrote (the ``after`` parameter); None without one (the first page).
    Anything else raises ``BadParameter`` naming it."""
    if not token:
        return None
    micros, _dot, record_id = token.partition(".")
    when, number = whole_number(micros, 0, 2**53), whole_number(record_id, 1, 2**63 - 1)
    if when is None or number is None:
        raise refuse("after", _("is not a position in this list: open its first page again."))
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=when), number

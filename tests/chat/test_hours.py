"""The chat's hours: Monday to Friday 8:00-18:00 in Madrid whatever the server's zone, closed on Spain's
national holidays and on the operator's own closing days; when a message left now is answered."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from mgd.chat.hours import MADRID, Hours
from mgd.config import ConfigError, load_settings

HOURS = Hours(time(8, 0), time(18, 0))


@pytest.mark.parametrize(
    ("utc", "open_now"),
    [
        (datetime(2026, 11, 23, 7, 0, tzinfo=UTC), True),  # Monday 08:00 in Madrid (winter, UTC+1)
        (datetime(2026, 11, 23, 6, 59, tzinfo=UTC), False),  # Monday 07:59
        (datetime(2026, 11, 27, 16, 59, tzinfo=UTC), True),  # Friday 17:59
        (datetime(2026, 11, 27, 17, 0, tzinfo=UTC), False),  # Friday 18:00
        (datetime(2026, 11, 28, 10, 0, tzinfo=UTC), False),  # Saturday
        (datetime(2026, 11, 29, 10, 0, tzinfo=UTC), False),  # Sunday
        (datetime(2026, 7, 6, 6, 0, tzinfo=UTC), True),  # Monday 08:00 in summer (UTC+2)
        (datetime(2026, 7, 6, 16, 0, tzinfo=UTC), False),  # Monday 18:00 in summer
    ],
)
def test_chat_hours_follow_madrid_time(utc, open_now):
    assert HOURS.is_open(utc) is open_now


def test_a_thursday_that_is_a_national_holiday_is_closed():
    new_year = datetime(2026, 1, 1, 11, 0, tzinfo=MADRID)
    assert new_year.weekday() == 3  # a Thursday
    assert HOURS.holiday(new_year.date())
    assert not HOURS.is_open(new_year)
    assert HOURS.is_open(datetime(2026, 1, 8, 11, 0, tzinfo=MADRID))  # the Thursday after: open
    # Other national holidays on weekdays: Epiphany (Tuesday), Immaculate Conception (Tuesday), Christmas (Friday).
    for day in (date(2026, 1, 6), date(2026, 12, 8), date(2026, 12, 25)):
        assert not HOURS.is_open(datetime.combine(day, time(10), MADRID))


def test_operator_closing_days_close_the_chat():
    eve = date(2026, 12, 24)  # a Thursday, not a national holiday
    assert HOURS.is_open(datetime.combine(eve, time(10), MADRID))
    closed = Hours(time(8, 0), time(18, 0), (eve,))
    assert not closed.is_open(datetime.combine(eve, time(10), MADRID))
    assert closed.holiday(eve) == "closed"


def test_next_opening_skips_weekends_and_holidays():
    # Thursday 31 December 2026 at 19:00: Friday is New Year's Day, then the weekend: Monday 4 January.
    found = HOURS.next_opening(datetime(2026, 12, 31, 19, 0, tzinfo=MADRID))
    assert (found.date(), found.time()) == (date(2027, 1, 4), time(8, 0))  # 1 Jan holiday, 2-3 weekend
    friday_night = datetime(2026, 11, 27, 20, 0, tzinfo=MADRID)
    found = HOURS.next_opening(friday_night)
    assert (found.date(), found.time()) == (date(2026, 11, 30), time(8, 0))
    early = datetime(2026, 11, 25, 6, 0, tzinfo=MADRID)
    assert HOURS.next_opening(early).time() == time(8, 0) and HOURS.next_opening(early).date() == early.date()


def test_answer_time_counts_opening_hours_only():
    # Left on Friday at 16:00 with 4 h to answer: 2 h on Friday, then Monday until 10:00.
    found = HOURS.answer_by(4, datetime(2026, 11, 27, 16, 0, tzinfo=MADRID))
    assert (found.date(), found.time()) == (date(2026, 11, 30), time(10, 0))
    found = HOURS.answer_by(4, datetime(2026, 11, 25, 9, 0, tzinfo=MADRID))
    assert (found.date(), found.time()) == (date(2026, 11, 25), time(13, 0))


def test_settings_are_checked(tmp_path):
    base = {"SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    settings = load_settings({**base, "CHAT_CLOSED_DAYS": "2026-12-24, 2026-12-31", "CHAT_OPENS": "09:30"})
    assert settings["CHAT_CLOSED_DAYS"] == (date(2026, 12, 24), date(2026, 12, 31))
    assert settings["CHAT_OPENS"] == time(9, 30)
    with pytest.raises(ConfigError, match="CHAT_CLOSED_DAYS"):
        load_settings({**base, "CHAT_CLOSED_DAYS": "24/12/2026"})
    with pytest.raises(ConfigError, match="CHAT_OPENS"):
        load_settings({**base, "CHAT_OPENS": "19:00"})
    with pytest.raises(ConfigError, match="CHAT_CLOSES"):
        load_settings({**base, "CHAT_CLOSES": "25:00"})

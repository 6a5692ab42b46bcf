"""Send limits counted in the database: per user, per destination, per company, atomically."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from mgd.config import ConfigError, Rate, load_settings, parse_rate
from mgd.db import database, utcnow
from mgd.notify.models import SendCount
from mgd.notify.throttle import (
    Requester,
    SendLimited,
    count_send,
    purge_send_counts,
    refusal_message,
)


@pytest.fixture
def limits(app, monkeypatch):
    """Small limits, so that each test spends them in a few sends."""
    for name, rate in {
        "SEND_LIMIT_USER": "3/15min",
        "SEND_LIMIT_DESTINATION": "2/15min",
        "SEND_LIMIT_COMPANY_HOUR": "4/hour",
        "SEND_LIMIT_COMPANY_DAY": "6/day",
    }.items():
        monkeypatch.setitem(app.config, name, parse_rate(rate))


def sends(session, destinations, requester, now=None) -> list[str]:
    """Try one send to each destination; what each one got: ``ok`` or the scope that refused it."""
    results = []
    for destination in destinations:
        try:
            count_send(session, destination, requester, now=now)
            results.append("ok")
        except SendLimited as limited:
            results.append(limited.scope)
    return results


@pytest.mark.parametrize(
    ("raw", "rate"),
    [("5/10min", Rate(5, 600)), ("300/hour", Rate(300, 3600)), ("2000/day", Rate(2000, 86400))],
)
def test_rates_are_read_from_settings(raw, rate):
    assert parse_rate(raw) == rate


@pytest.mark.parametrize("raw", ["0/hour", "5/0min", "5", "five/hour", "5/fortnight", "-1/h"])
def test_a_malformed_rate_stops_start_up_naming_the_setting(tmp_path, raw):
    environ = {"MGD_SEND_LIMIT_USER": raw, "MGD_INSTANCE_PATH": str(tmp_path)}
    with pytest.raises(ConfigError, match="MGD_SEND_LIMIT_USER"):
        load_settings(environ=environ)


def test_one_destination_gets_its_limit_and_no_more(db_session, limits):
    anyone = Requester()
    assert sends(db_session, ["+34612345678"] * 3, anyone) == ["ok", "ok", "destination"]
    assert sends(db_session, ["+34699999999"], anyone) == ["ok"]
    assert sends(db_session, ["ANA@example.es", "ana@example.es ", "ana@example.es"], anyone) == [
        "ok",
        "ok",
        "destination",
    ]


def test_one_user_gets_their_limit_whatever_the_destinations(db_session, limits):
    numbers = [f"+3461200000{n}" for n in range(5)]
    assert sends(db_session, numbers, Requester(user_id=1)) == ["ok", "ok", "ok", "user", "user"]
    assert sends(db_session, numbers[3:], Requester(user_id=2)) == ["ok", "ok"]


def test_a_company_gets_its_hourly_and_daily_caps(db_session, limits):
    start = utcnow().replace(minute=0, second=0, microsecond=0)
    company = Requester(company_ids=(7,))
    first_hour = sends(db_session, [f"a{n}@x.es" for n in range(5)], company, now=start)
    assert first_hour == ["ok", "ok", "ok", "ok", "company"]
    next_hour = sends(db_session, [f"b{n}@x.es" for n in range(3)], company, now=start + timedelta(hours=1))
    if start.hour == 23:  # the next hour is another day: both caps start again
        assert next_hour == ["ok", "ok", "ok"]
    else:
        assert next_hour == ["ok", "ok", "company"]  # 6 a day


def test_a_refused_send_counts_nothing(db_session, limits):
    ana = Requester(user_id=1, company_ids=(7,))
    assert sends(db_session, ["+34612345678"] * 2, Requester()) == ["ok", "ok"]
    assert sends(db_session, ["+34612345678"] * 4, ana) == ["destination"] * 4
    assert sends(db_session, ["+34600000001", "+34600000002", "+34600000003"], ana) == ["ok", "ok", "ok"]


def test_a_new_window_opens_after_the_period(db_session, limits):
    now = utcnow()
    assert sends(db_session, ["x@x.es"] * 3, Requester(), now=now) == ["ok", "ok", "destination"]
    with pytest.raises(SendLimited) as refused:
        count_send(db_session, "x@x.es", Requester(), now=now)
    assert 0 < refused.value.retry_after <= 15 * 60
    later = now + timedelta(seconds=refused.value.retry_after)
    assert sends(db_session, ["x@x.es"], Requester(), now=later) == ["ok"]


def test_the_refusal_says_what_to_wait_for(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert refusal_message(SendLimited("destination", 61)) == (
            "Too many messages have been sent to this number or address in a short time. "
            "Try again in 2 minutes."
        )
        assert "Try again in 1 minute." in refusal_message(SendLimited("user", 5))
        assert "Your company" in refusal_message(SendLimited("company", 3600))


def test_counters_of_windows_long_over_are_purged(db_session, limits):
    long_ago = utcnow() - timedelta(days=2)
    sends(db_session, ["old@x.es"], Requester(user_id=1, company_ids=(7,)), now=long_ago)
    sends(db_session, ["new@x.es"], Requester())
    assert purge_send_counts(db_session) == 4
    assert [row.key for row in db_session.scalars(select(SendCount))] == ["destination:new@x.es"]


def test_concurrent_requests_never_exceed_a_limit(app, limits, monkeypatch):
    """Each thread is a web process with its own connection; the database serialises the counts."""
    monkeypatch.setitem(app.config, "SEND_LIMIT_DESTINATION", parse_rate("10/15min"))
    accepted, errors = [], []

    def request_codes() -> None:
        with app.app_context():
            session = database(app).sessions()
            try:
                for _ in range(5):
                    try:
                        count_send(session, "+34600999999", Requester())
                        session.commit()
                        accepted.append(1)
                    except SendLimited:
                        session.rollback()
            except Exception as exc:  # a deadlock or lock timeout would be a failure too
                errors.append(exc)
            finally:
                session.close()

    threads = [threading.Thread(target=request_codes) for _ in range(6)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(accepted) == 10
        with database(app).sessions() as session:
            stored = session.scalar(select(func.sum(SendCount.count)).where(SendCount.key.like("%600999999")))
        assert stored == 10
    finally:
        with database(app).sessions() as session:
            session.execute(delete(SendCount).where(SendCount.key.like("%600999999")))
            session.commit()

"""Usage records committed in an app's database as the consumption pages' tests need them, with their daily
sums (``usage_daily``) rebuilt from the records as the import keeps them."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, text

from mgd.db import get_session, set_tenant
from mgd.usage.models import UsageDaily, UsageRecord
from tests.accounts import Company

MADRID = ZoneInfo("Europe/Madrid")
_ids = count(1)


def record(line_id: int, started_at: datetime, kind: str = "voice", **values) -> dict:
    """A record's columns: a minute-long call out at home costing 10 cents unless ``values`` say otherwise."""
    measures = {"voice": {"duration_s": 60}, "data": {"bytes": 10**8}}.get(kind, {"units": 1})
    return {
        "line_id": line_id,
        "record_id": f"R{next(_ids)}",
        "started_at": started_at,
        "kind": kind,
        "direction": "out",
        "destination": "+34600000000" if kind in ("voice", "sms", "mms") else None,
        "cost_cents": 10,
        **measures,
        **values,
    }


def add_sample_usage(app, company: Company) -> list[int]:
    """For every line of ``company``: a call, an SMS and a data session of today, one of them in roaming,
    and a call billed last month."""
    now = datetime.now(UTC).replace(microsecond=0)
    records = []
    for line_id in company.lines:
        records += [
            record(line_id, now - timedelta(hours=1), "voice", duration_s=95, cost_cents=12),
            record(line_id, now - timedelta(hours=2), "sms", cost_cents=9),
            record(
                line_id, now - timedelta(hours=3), "data", bytes=3 * 10**8, roaming_zone="eu", country="PT"
            ),
            record(
                line_id,
                now - timedelta(days=35),
                "voice",
                duration_s=40,
                billed=True,
                invoice_number="F-0001",
            ),
        ]
    return add_usage(app, company, records)


def add_usage(app, company: Company, records: list[dict]) -> list[int]:
    """Insert ``records`` (``record``) for ``company`` and rebuild its daily sums; their ids."""
    with app.app_context():
        session = get_session()
        set_tenant(session, company.id)
        if session.get_bind().dialect.name == "postgresql":  # the monthly partitions the records fall in
            for month in {values["started_at"].date().replace(day=1) for values in records}:
                session.execute(text("SELECT mgd_usage_partition(:month)"), {"month": month})
        rows = [UsageRecord(tenant_id=company.id, **values) for values in records]
        session.add_all(rows)
        session.flush()
        rebuild_daily(session, company.id)
        session.commit()
        return [row.id for row in rows]


def rebuild_daily(session, tenant_id: int) -> None:
    session.execute(delete(UsageDaily))
    sums: dict[tuple, Counter] = {}
    for row in session.scalars(select(UsageRecord)):
        day = row.started_at.astimezone(MADRID).date()
        key = (row.line_id, day, row.kind, row.direction, row.billed, row.roaming_zone is not None)
        sums.setdefault(key, Counter()).update(
            records=1,
            duration_s=row.duration_s or 0,
            bytes=row.bytes or 0,
            units=row.units or 0,
            cost_cents=row.cost_cents or 0,
        )
    for (line_id, day, kind, direction, billed, roaming), total in sums.items():
        session.add(
            UsageDaily(
                tenant_id=tenant_id,
                line_id=line_id,
                day=day,
                kind=kind,
                direction=direction,
                billed=billed,
                roaming=roaming,
                **{name: total[name] for name in ("records", "duration_s", "bytes", "units", "cost_cents")},
            )
        )
    session.flush()


def hours_ago(now: datetime, hours: float) -> datetime:
    return (now - timedelta(hours=hours)).astimezone(UTC)

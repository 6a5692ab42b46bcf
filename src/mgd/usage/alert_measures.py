"""What an alert measures in the current cycle of its lines, read from the daily sums: the share of the data
or voice allowance used (whole percent, rounded down), as ``services.allowance_use`` counts it, or the spend
not yet invoiced (cents).

A line in a shared pool draws from the pool: the pool's allowance counts once, against the use of every line
in it (also those outside the alert's cost centre). Lines without an allowance (unlimited) count neither
their use nor an allowance. The cycle is that of the billing account of the alert's line (for a cost centre or
the company: of its first line in service).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from mgd.db import utcnow
from mgd.tenants.models import BillingAccount, Line
from mgd.usage.alert_models import UsageAlert
from mgd.usage.models import UsageDaily
from mgd.usage.services import Cycle, allowance_use, cycle_for

MADRID = ZoneInfo("Europe/Madrid")


@dataclass(frozen=True)
class Measure:
    value: int  # percent, or cents
    cycle_start: date
    at: datetime


def _lines(alert: UsageAlert) -> Select:
    """The ids of the lines in service the alert watches (the session is scoped to the company)."""
    query = select(Line.id).where(Line.status != "cancelled")
    if alert.scope == "line":
        return query.where(Line.id == alert.line_id)
    if alert.scope == "cost_centre":
        return query.where(Line.cost_centre == alert.cost_centre)
    return query


def measure(session: Session, alert: UsageAlert, today: date | None = None) -> Measure | None:
    """The alert's measure now; None when there is nothing to measure (no line in service, no allowance)."""
    watched = select(_lines(alert).subquery().c.id)
    account = session.scalar(
        select(BillingAccount)
        .join(
            Line,
            and_(Line.tenant_id == BillingAccount.tenant_id, Line.billing_account_id == BillingAccount.id),
        )
        .where(Line.id.in_(watched))
        .order_by(Line.id)
        .limit(1)
    )
    if account is None:
        return None
    now = utcnow()
    cycle = cycle_for(account, today or now.astimezone(MADRID).date())
    if alert.metric == "spend":
        spent = session.scalar(
            select(func.coalesce(func.sum(UsageDaily.cost_cents), 0)).where(
                UsageDaily.line_id.in_(watched),
                UsageDaily.billed.is_(False),
                UsageDaily.day.between(cycle.start, cycle.end),
            )
        )
        return Measure(int(spent), cycle.start, now)
    percent = _percent(session, alert, watched, cycle)
    return None if percent is None else Measure(percent, cycle.start, now)


def _percent(session: Session, alert: UsageAlert, watched: Select, cycle: Cycle) -> int | None:
    if alert.scope == "company":
        line_ids = None
    else:  # the watched lines, and every line of the pools they draw from
        pools = select(Line.pool_id).where(Line.id.in_(watched), Line.pool_id.is_not(None))
        line_ids = set(session.scalars(watched)) | set(
            session.scalars(select(Line.id).where(Line.pool_id.in_(pools)))
        )
    use = allowance_use(session, alert.tenant_id, line_ids, cycle)
    data = alert.metric == "data_percent"
    used = allowance = 0
    for each in (*use.lines.values(), *use.pools.values()):
        limit = each.data_allowance_bytes if data else each.voice_allowance_seconds
        if limit:
            allowance += limit
            used += each.data_bytes if data else each.voice_seconds
    return used * 100 // allowance if allowance else None

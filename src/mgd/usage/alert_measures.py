"""What an alert measures in the current cycle of its lines, read from the daily sums: the share of the data
or voice allowance used (whole percent, rounded down), as the allowance pages count it
(``allowances.lines_allowances``), or the spend not yet invoiced (cents): each line in its own billing
account's cycle.

A line in a shared pool draws from the pool: the pool's allowance counts once, against the use of every line
in it (also those outside the alert's cost centre). Lines without an allowance (unlimited) count neither
their use nor an allowance. The cycle an alert fires once in is that of the billing account of the alert's
line (for a cost centre or the company: of its first line in service).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from mgd.db import utcnow
from mgd.tenants.models import BillingAccount, Line
from mgd.usage.alert_models import UsageAlert
from mgd.usage.allowances import in_own_cycle, lines_allowances
from mgd.usage.models import UsageDaily
from mgd.usage.services import cycle_for

MADRID = ZoneInfo("Europe/Madrid")


@dataclass(frozen=True)
class Measure:
    value: int  # percent, or cents
    cycle_start: date
    at: datetime


def _lines(alert: UsageAlert) -> Select:
    """The lines in service the alert watches (the session is scoped to the company)."""
    query = select(Line).where(Line.status != "cancelled")
    if alert.scope == "line":
        return query.where(Line.id == alert.line_id)
    if alert.scope == "cost_centre":
        return query.where(Line.cost_centre == alert.cost_centre)
    return query


def measure(session: Session, alert: UsageAlert, today: date | None = None) -> Measure | None:
    """The alert's measure now; None when there is nothing to measure (no line in service, no allowance)."""
    watched = select(_lines(alert).with_only_columns(Line.id).subquery().c.id)
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
    today = today or now.astimezone(MADRID).date()
    cycle = cycle_for(account, today)
    if alert.metric == "spend":  # each line's spend in its own cycle
        spent = session.scalar(
            select(func.coalesce(func.sum(UsageDaily.cost_cents), 0))
            .join(Line, Line.id == UsageDaily.line_id)
            .join(BillingAccount, BillingAccount.id == Line.billing_account_id)
            .where(
                UsageDaily.line_id.in_(watched),
                UsageDaily.billed.is_(False),
                UsageDaily.day >= today - timedelta(days=31),  # (a plain bound for the index)
                in_own_cycle(today),
            )
        )
        return Measure(int(spent), cycle.start, now)
    percent = _percent(session, alert, today)
    return None if percent is None else Measure(percent, cycle.start, now)


def _percent(session: Session, alert: UsageAlert, today: date) -> int | None:
    """The share used of the allowances of the watched lines not in a pool and of the pools they draw from."""
    found = lines_allowances(session, _lines(alert), today, every_line=alert.scope == "company")
    data = alert.metric == "data_percent"
    used = allowance = 0
    for each in (*(item for item in found.lines if item.pool is None), *found.pools):
        limit = each.data_allowed if data else each.voice_allowed
        if limit:
            allowance += limit
            used += each.data_used if data else each.voice_used
    return used * 100 // allowance if allowance else None

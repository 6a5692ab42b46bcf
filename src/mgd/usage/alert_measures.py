"""What an alert measures in the current cycle of its lines, read from the daily sums (``usage_daily``): the
share of the data or voice allowance used (whole percent, rounded down), or the spend not yet invoiced
(cents).

The allowance of the lines watched: each line's tariff and the bundles active in the cycle, except for lines
in a shared pool, which draw from the pool: the pool's allowance counts once, against the use of every line in
it. Data allowances are decimal GB (10⁹ bytes); voice counts outgoing call seconds against minutes. The cycle
is that of the billing account of the alert's line (for a cost centre or the company: of its first line), from
``cycle_day`` of one month to the day before it in the next, in Madrid."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from mgd.db import utcnow
from mgd.tenants.models import BillingAccount, Line, Tariff, UsagePool
from mgd.usage.alert_models import UsageAlert
from mgd.usage.models import Bundle, LineBundle, UsageDaily

MADRID = ZoneInfo("Europe/Madrid")
GB = 10**9


@dataclass(frozen=True)
class Measure:
    value: int  # percent, or cents
    cycle_start: date
    at: datetime


def cycle_of(cycle_day: int, on: date) -> tuple[date, date]:
    """The cycle holding ``on``: from ``cycle_day`` (1–28) of a month to the day before it in the next."""
    start = on.replace(day=cycle_day)
    if on.day < cycle_day:
        start = (start.replace(day=1) - timedelta(days=1)).replace(day=cycle_day)
    days = calendar.monthrange(start.year, start.month)[1]
    return start, start + timedelta(days=days - 1)


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
    watched = _lines(alert).subquery()
    first = session.execute(
        select(BillingAccount.cycle_day)
        .join(
            Line,
            and_(Line.tenant_id == BillingAccount.tenant_id, Line.billing_account_id == BillingAccount.id),
        )
        .where(Line.id.in_(select(watched.c.id)))
        .order_by(Line.id)
        .limit(1)
    ).first()
    if first is None:
        return None
    now = utcnow()
    start, end = cycle_of(first.cycle_day, today or now.astimezone(MADRID).date())
    in_cycle = UsageDaily.day.between(start, end)
    if alert.metric == "spend":
        spent = session.scalar(
            select(func.coalesce(func.sum(UsageDaily.cost_cents), 0)).where(
                UsageDaily.line_id.in_(select(watched.c.id)), UsageDaily.billed.is_(False), in_cycle
            )
        )
        return Measure(int(spent), start, now)
    data = alert.metric == "data_percent"
    allowance = _allowance(session, watched, start, end, data=data)
    if allowance <= 0:
        return None
    own = select(Line.id).where(Line.id.in_(select(watched.c.id)), Line.pool_id.is_(None))
    pools = select(Line.pool_id).where(Line.id.in_(select(watched.c.id)), Line.pool_id.is_not(None))
    drawing = or_(
        UsageDaily.line_id.in_(own), UsageDaily.line_id.in_(select(Line.id).where(Line.pool_id.in_(pools)))
    )
    if data:
        used = select(func.coalesce(func.sum(UsageDaily.bytes), 0)).where(UsageDaily.kind == "data")
    else:
        used = select(func.coalesce(func.sum(UsageDaily.duration_s), 0)).where(
            UsageDaily.kind == "voice", UsageDaily.direction == "out"
        )
    amount = int(session.scalar(used.where(drawing, in_cycle)))
    return Measure(amount * 100 // allowance, start, now)


def _allowance(session: Session, watched, start: date, end: date, *, data: bool) -> int:
    """Bytes (``data``) or seconds of the allowance of the watched lines in the cycle ``start``–``end``."""
    tariff_amount = Tariff.data_gb if data else Tariff.voice_minutes
    bundle_amount = Bundle.data_gb if data else Bundle.voice_minutes
    pool_amount = UsagePool.data_gb if data else UsagePool.voice_minutes
    own = and_(Line.id.in_(select(watched.c.id)), Line.pool_id.is_(None))
    tariffs = session.scalar(
        select(func.coalesce(func.sum(tariff_amount), 0))
        .select_from(Line)
        .join(Tariff, Tariff.id == Line.tariff_id)
        .where(own)
    )
    bundles = session.scalar(
        select(func.coalesce(func.sum(bundle_amount), 0))
        .select_from(LineBundle)
        .join(Bundle, Bundle.id == LineBundle.bundle_id)
        .join(Line, and_(Line.tenant_id == LineBundle.tenant_id, Line.id == LineBundle.line_id))
        .where(
            own, LineBundle.starts_on <= end, or_(LineBundle.ends_on.is_(None), LineBundle.ends_on >= start)
        )
    )
    pools = session.scalar(
        select(func.coalesce(func.sum(pool_amount), 0)).where(
            UsagePool.id.in_(select(Line.pool_id).where(Line.id.in_(select(watched.c.id))))
        )
    )
    total = Decimal(tariffs or 0) + Decimal(bundles or 0) + Decimal(pools or 0)
    return int(total * GB) if data else int(total * 60)

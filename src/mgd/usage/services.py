"""Consumption's reads that other parts build on: the billing cycle of an account and the allowance used in
it, per line and per shared pool, from the daily sums (``usage_daily``), never from the records.

Allowances count outgoing voice minutes and data (data is always ``out``) used at home; calls received, SMS,
MMS and premium services are charged apart and do not count. Roaming is one flag in the daily sums, so the
zone cannot be told apart there: roaming usage does not count unless ``roaming=True`` (then all of it does).
A line's allowance is its tariff's plus the bundles active for it during the cycle; a line in a pool counts
towards the pool, whose allowance is the pool's own.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from mgd.tenants.models import BillingAccount, Line, Tariff, UsagePool
from mgd.usage.models import Bundle, LineBundle, UsageDaily

GB = 1_000_000_000  # bytes: operators count data in decimal gigabytes


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


@dataclass
class Use:
    """What a line or a pool used in a cycle against its allowance (None: unlimited / none included)."""

    data_bytes: int = 0
    voice_seconds: int = 0
    data_allowance_bytes: int | None = None
    voice_allowance_seconds: int | None = None
    line_ids: list[int] = field(default_factory=list)

    @property
    def data_ratio(self) -> Decimal | None:
        return _ratio(self.data_bytes, self.data_allowance_bytes)

    @property
    def voice_ratio(self) -> Decimal | None:
        return _ratio(self.voice_seconds, self.voice_allowance_seconds)


def _ratio(used: int, allowance: int | None) -> Decimal | None:
    if not allowance:
        return None
    return (Decimal(used) / Decimal(allowance)).quantize(Decimal("0.0001"))


@dataclass
class AllowanceUse:
    lines: dict[int, Use]  # lines not in a pool
    pools: dict[int, Use]  # by pool id; ``line_ids`` the lines in it (of those asked for)


def allowance_use(
    session: Session, tenant_id: int, line_ids: Iterable[int] | None, cycle: Cycle, *, roaming: bool = False
) -> AllowanceUse:
    """Use and allowance of the company's lines (``line_ids``; None: every line) in ``cycle``, in three
    queries whatever the number of lines. The caller has scoped the session to ``tenant_id``."""
    wanted = None if line_ids is None else sorted(set(line_ids))
    lines = select(Line.id, Line.pool_id, Tariff.data_gb, Tariff.voice_minutes).join(
        Tariff, Tariff.id == Line.tariff_id
    )
    if wanted is not None:
        lines = lines.where(Line.id.in_(wanted))
    rows = session.execute(lines.where(Line.tenant_id == tenant_id)).all()
    counted = or_(UsageDaily.kind == "data", and_(UsageDaily.kind == "voice", UsageDaily.direction == "out"))
    if not roaming:
        counted = and_(counted, UsageDaily.roaming.is_(False))
    used = select(
        UsageDaily.line_id,
        func.sum(case((UsageDaily.kind == "data", UsageDaily.bytes), else_=0)),
        func.sum(case((UsageDaily.kind == "voice", UsageDaily.duration_s), else_=0)),
    ).where(UsageDaily.tenant_id == tenant_id, UsageDaily.day.between(cycle.start, cycle.end), counted)
    if wanted is not None:
        used = used.where(UsageDaily.line_id.in_(wanted))
    sums = {
        line_id: (int(b or 0), int(s or 0))
        for line_id, b, s in session.execute(used.group_by(UsageDaily.line_id))
    }
    bundles = select(LineBundle.line_id, func.sum(Bundle.data_gb), func.sum(Bundle.voice_minutes)).join(
        Bundle, Bundle.id == LineBundle.bundle_id
    )
    bundles = bundles.where(
        LineBundle.tenant_id == tenant_id,
        LineBundle.starts_on <= cycle.end,
        or_(LineBundle.ends_on.is_(None), LineBundle.ends_on >= cycle.start),
    )
    if wanted is not None:
        bundles = bundles.where(LineBundle.line_id.in_(wanted))
    extra = {
        line_id: (gb, minutes)
        for line_id, gb, minutes in session.execute(bundles.group_by(LineBundle.line_id))
    }
    result = AllowanceUse({}, {})
    pool_ids = {pool_id for _, pool_id, _, _ in rows if pool_id is not None}
    if pool_ids:
        for pool in session.scalars(select(UsagePool).where(UsagePool.id.in_(pool_ids))):
            result.pools[pool.id] = Use(
                data_allowance_bytes=_bytes(pool.data_gb),
                voice_allowance_seconds=_seconds(pool.voice_minutes),
            )
    for line_id, pool_id, data_gb, minutes in rows:
        data, voice = sums.get(line_id, (0, 0))
        if pool_id is not None:
            use = result.pools[pool_id]
            use.data_bytes += data
            use.voice_seconds += voice
            use.line_ids.append(line_id)
            continue
        more_gb, more_minutes = extra.get(line_id, (None, None))
        result.lines[line_id] = Use(
            data,
            voice,
            _bytes(_add(data_gb, more_gb)),
            _seconds(_add(minutes, more_minutes)),
            [line_id],
        )
    return result


def _add(a, b):
    if a is None and b is None:
        return None
    return (a or 0) + (b or 0)


def _bytes(gb: Decimal | None) -> int | None:
    return None if gb is None else int(Decimal(gb) * GB)


def _seconds(minutes: int | None) -> int | None:
    return None if minutes is None else int(minutes) * 60

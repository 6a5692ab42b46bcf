"""The allowance left in the current billing cycle, as the pages show it: per line (its tariff's GB and
minutes plus its active bundles) and per shared pool (a line in a pool draws from the pool instead), with
the day it starts again. What counts: every data session's bytes and the seconds of the calls made, summed
from ``usage_daily``. A line is near its allowance from 80 % on, over it past 100 %.

The company's bars read a fixed number of statements whatever its number of lines (lines, bundles, use per
line, pools): the 5,000 bars of a large company in one page."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from mgd.tenants.models import BillingAccount, Line, Membership, Tariff, UsagePool
from mgd.tenants.services import visible_lines
from mgd.usage.models import Bundle, LineBundle, UsageDaily
from mgd.usage.services import cycle_for

NEAR = 80  # per cent
GB = 10**9


@dataclass(frozen=True)
class Allowance:
    """One line's (or pool's) use and allowance in its cycle: bytes and seconds; None: nothing included."""

    data_used: int
    data_allowed: int | None
    voice_used: int
    voice_allowed: int | None
    resets_on: date

    @cached_property
    def percent(self) -> int:
        """The larger share used of the two allowances, in whole per cent (0 with no allowance)."""
        shares = [
            used * 100 // allowed
            for used, allowed in ((self.data_used, self.data_allowed), (self.voice_used, self.voice_allowed))
            if allowed
        ]
        return max(shares, default=0)

    @property
    def near(self) -> bool:
        return self.percent >= NEAR

    @property
    def over(self) -> bool:
        return self.percent > 100 or any(
            allowed is not None and used > allowed
            for used, allowed in ((self.data_used, self.data_allowed), (self.voice_used, self.voice_allowed))
        )


@dataclass(frozen=True)
class LineAllowance(Allowance):
    line_id: int = 0
    number: str = ""
    alias: str | None = None
    pool: str | None = None  # the pool it draws from: its own figures then have no allowance
    pool_percent: int | None = None  # the pool's share used, which makes a pooled line near or over

    @property
    def near(self) -> bool:
        return (self.percent if self.pool_percent is None else self.pool_percent) >= NEAR

    @property
    def over(self) -> bool:
        return super().over if self.pool_percent is None else self.pool_percent > 100


@dataclass(frozen=True)
class PoolAllowance(Allowance):
    id: int = 0
    name: str = ""
    lines: int = 0


@dataclass(frozen=True)
class CompanyAllowances:
    pools: list[PoolAllowance]
    lines: list[LineAllowance]  # the most used first (a pooled line by its pool's share)


def _bytes(gb: Decimal | None) -> int | None:
    return int(gb * GB) if gb is not None else None


def _seconds(minutes: int | None) -> int | None:
    return minutes * 60 if minutes is not None else None


def current_cycle(session: Session, line: Line | None, today: date) -> tuple[date, date]:
    """The cycle running ``today`` for ``line``'s billing account, or for the company's first account (the
    company's pages); the calendar month when the company has none."""
    account = (
        line.billing_account
        if line is not None
        else session.scalar(select(BillingAccount).order_by(BillingAccount.id).limit(1))
    )
    return _cycle_of_day(account.cycle_day if account is not None else 1, today)


def _used(session: Session, line_ids, start: date, end: date) -> dict[int, tuple[int, int]]:
    """Bytes of data and seconds of calls made per line from ``start`` to ``end``, of ``line_ids`` (ids or a
    query of them; None: every line of the company)."""
    daily = UsageDaily
    data = func.sum(case((daily.kind == "data", daily.bytes), else_=0))
    voice = func.sum(case(((daily.kind == "voice") & (daily.direction == "out"), daily.duration_s), else_=0))
    query = (
        select(daily.line_id, data, voice).where(daily.day >= start, daily.day <= end).group_by(daily.line_id)
    )
    if line_ids is not None:
        query = query.where(daily.line_id.in_(line_ids))
    return {line_id: (int(d or 0), int(v or 0)) for line_id, d, v in session.execute(query)}


def _bundles(session: Session, line_ids, start: date, end: date) -> dict[int, tuple[Decimal, int]]:
    """GB and minutes of the bundles active on each line in some day of the cycle."""
    query = (
        select(LineBundle.line_id, func.sum(Bundle.data_gb), func.sum(Bundle.voice_minutes))
        .join(Bundle, Bundle.id == LineBundle.bundle_id)
        .where(LineBundle.starts_on <= end, (LineBundle.ends_on.is_(None)) | (LineBundle.ends_on >= start))
        .group_by(LineBundle.line_id)
    )
    if line_ids is not None:
        query = query.where(LineBundle.line_id.in_(line_ids))
    return {line_id: (gb or Decimal(0), int(minutes or 0)) for line_id, gb, minutes in session.execute(query)}


def _lines(membership: Membership):
    """(id, number, alias, pool, tariff GB and minutes, cycle day) of the lines the member may see."""
    visible = visible_lines(membership).where(Line.status != "cancelled")
    return (
        visible.with_only_columns(
            Line.id,
            Line.number,
            Line.alias,
            Line.pool_id,
            Tariff.data_gb,
            Tariff.voice_minutes,
            BillingAccount.cycle_day,
        )
        .join(Tariff, Tariff.id == Line.tariff_id)
        .join(BillingAccount, BillingAccount.id == Line.billing_account_id)
        .order_by(None)
    )


def _cycle_of_day(cycle_day: int, today: date) -> tuple[date, date]:
    """The cycle that starts on ``cycle_day`` of a month and holds ``today``: (first day, last day)."""
    cycle = cycle_for(cycle_day, today)
    return cycle.start, cycle.end


def _line_figures(
    session: Session, membership: Membership, rows, today: date, pools: dict[int, str]
) -> list[LineAllowance]:
    """The allowance of each of ``rows`` (``_lines``): two statements per cycle day among them (one, mostly),
    over every line of the company when the member sees them all (no list of ids to send)."""
    by_day = defaultdict(list)
    for row in rows:
        by_day[row.cycle_day or 1].append(row)
    found = []
    for cycle_day, members in by_day.items():
        start, end = _cycle_of_day(cycle_day, today)
        ids = None
        if membership.limited or len(by_day) > 1:
            ids = _lines(membership).where(BillingAccount.cycle_day == cycle_day).with_only_columns(Line.id)
        used = _used(session, ids, start, end)
        extra = _bundles(session, ids, start, end)
        for row in members:
            data, voice = used.get(row.id, (0, 0))
            gb, minutes = extra.get(row.id, (Decimal(0), 0))
            pooled = row.pool_id is not None
            data_gb = None if pooled or (row.data_gb is None and not gb) else (row.data_gb or 0) + gb
            voice_min = (
                None
                if pooled or (row.voice_minutes is None and not minutes)
                else (row.voice_minutes or 0) + minutes
            )
            found.append(
                LineAllowance(
                    data,
                    _bytes(data_gb),
                    voice,
                    _seconds(voice_min),
                    end + timedelta(days=1),
                    line_id=row.id,
                    number=row.number,
                    alias=row.alias,
                    pool=pools.get(row.pool_id),
                )
            )
    return found


def _summed(measure, line_ids, start, end):
    """A scalar subquery: ``measure`` summed in ``usage_daily`` over ``line_ids``, ``start`` to ``end``."""
    return (
        select(func.coalesce(func.sum(measure), 0))
        .where(UsageDaily.line_id.in_(line_ids), UsageDaily.day >= start, UsageDaily.day <= end)
        .scalar_subquery()
    )


def line_allowances(session: Session, line_ids: list[int], today: date) -> dict[int, LineAllowance]:
    """The allowance of each of ``line_ids`` (already among those the member may see) in one statement, its
    cycle taken from its billing account's day: a pooled line's figures are its pool's (all its lines)."""
    cycles = {day: _cycle_of_day(day, today) for day in range(1, 29)}
    start = case({day: cycle[0] for day, cycle in cycles.items()}, value=BillingAccount.cycle_day)
    end = case({day: cycle[1] for day, cycle in cycles.items()}, value=BillingAccount.cycle_day)
    data = case((UsageDaily.kind == "data", UsageDaily.bytes), else_=0)
    voice = case(
        ((UsageDaily.kind == "voice") & (UsageDaily.direction == "out"), UsageDaily.duration_s), else_=0
    )
    pooled = aliased(Line)
    own, pool = [Line.id], select(pooled.id).where(pooled.pool_id == Line.pool_id)
    bundles = (
        select(func.coalesce(func.sum(measure), 0))
        .select_from(LineBundle)
        .join(Bundle, Bundle.id == LineBundle.bundle_id)
        .where(
            LineBundle.line_id == Line.id,
            LineBundle.starts_on <= end,
            LineBundle.ends_on.is_(None) | (LineBundle.ends_on >= start),
        )
        .scalar_subquery()
        for measure in (Bundle.data_gb, Bundle.voice_minutes)
    )
    query = (
        select(
            Line.id,
            Line.number,
            Line.alias,
            UsagePool.name,
            func.coalesce(UsagePool.data_gb, Tariff.data_gb),
            func.coalesce(UsagePool.voice_minutes, Tariff.voice_minutes),
            *bundles,
            _summed(data, own, start, end),
            _summed(voice, own, start, end),
            _summed(data, pool, start, end),
            _summed(voice, pool, start, end),
            end,
        )
        .join(Tariff, Tariff.id == Line.tariff_id)
        .join(BillingAccount, BillingAccount.id == Line.billing_account_id)
        .outerjoin(UsagePool, UsagePool.id == Line.pool_id)
        .where(Line.id.in_(line_ids))
    )
    found = {}
    for row in session.execute(query):
        line_id, number, alias, pool_name, gb, minutes, extra_gb, extra_min, data_used, voice_used = row[:10]
        if pool_name is not None:  # the pool's allowance and use; bundles are a line's own
            data_used, voice_used, extra_gb, extra_min = row[10], row[11], 0, 0
        found[line_id] = LineAllowance(
            int(data_used),
            _bytes(gb + Decimal(extra_gb) if gb is not None else (Decimal(extra_gb) or None)),
            int(voice_used),
            _seconds(minutes + int(extra_min) if minutes is not None else (int(extra_min) or None)),
            row[12] + timedelta(days=1),
            line_id=line_id,
            number=number,
            alias=alias,
            pool=pool_name,
        )
    return found


def line_allowance(session: Session, line: Line, today: date) -> LineAllowance | None:
    """The allowance of one line (checked visible by the caller)."""
    return line_allowances(session, [line.id], today).get(line.id)


def company_allowances(session: Session, membership: Membership, today: date) -> CompanyAllowances:
    """Every visible line's allowance, the most used first, and the company's pools (whole pools: their
    use is every line's in them; a member limited to some lines sees only the pools of those)."""
    rows = session.execute(_lines(membership)).all()
    pool_rows = {pool.id: pool for pool in session.scalars(select(UsagePool))}
    lines = _line_figures(
        session, membership, rows, today, {pid: pool.name for pid, pool in pool_rows.items()}
    )
    pools = _pool_figures(session, pool_rows, {row.pool_id for row in rows if row.pool_id is not None}, today)
    shares = {pool.name: pool.percent for pool in pools}
    marked = [replace(item, pool_percent=shares.get(item.pool)) if item.pool else item for item in lines]
    ranked = sorted(
        marked,
        key=lambda item: (-(item.percent if item.pool_percent is None else item.pool_percent), item.number),
    )
    return CompanyAllowances(pools, ranked)


def _pool_figures(
    session: Session, pools: dict[int, UsagePool], wanted: set[int], today: date
) -> list[PoolAllowance]:
    """Each wanted pool's use: the sum over all its lines (also those the member does not see)."""
    found = []
    for pool_id in sorted(wanted):
        pool = pools[pool_id]
        members = (
            select(Line.id, BillingAccount.cycle_day)
            .join(BillingAccount, BillingAccount.id == Line.billing_account_id)
            .where(Line.pool_id == pool_id)
        )
        rows = session.execute(members).all()
        start, end = _cycle_of_day(rows[0].cycle_day if rows else 1, today)
        used = _used(session, [row.id for row in rows], start, end)
        found.append(
            PoolAllowance(
                sum(d for d, _v in used.values()),
                _bytes(pool.data_gb),
                sum(v for _d, v in used.values()),
                _seconds(pool.voice_minutes),
                end + timedelta(days=1),
                id=pool.id,
                name=pool.name,
                lines=len(rows),
            )
        )
    return found


@dataclass(frozen=True)
class HomeSummary:
    unbilled_cents: int
    calls_s: int
    data_bytes: int


def home_summary(session: Session, membership: Membership, today: date) -> HomeSummary:
    """What the member's lines used and is not billed yet (the last two months at most), in one statement
    (the home page's statement budget, ``tests/test_edge.py``)."""
    daily = UsageDaily
    query = select(
        func.sum(daily.cost_cents),
        func.sum(case(((daily.kind == "voice") & (daily.direction == "out"), daily.duration_s), else_=0)),
        func.sum(case((daily.kind == "data", daily.bytes), else_=0)),
    ).where(daily.billed.is_(False), daily.day >= today - timedelta(days=62))
    if membership.limited:
        visible = visible_lines(membership).subquery()
        query = query.where(daily.line_id.in_(select(visible.c.id)))
    cents, calls, data = session.execute(query).one()
    return HomeSummary(int(cents or 0), int(calls or 0), int(data or 0))

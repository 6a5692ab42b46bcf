"""The allowance left in the current billing cycle, for the pages and the alerts alike (one computation):
per line (its tariff's GB and minutes plus its active bundles) and per shared pool (a line in a pool draws
from the pool instead), with the day it starts again. Every line's cycle is its own billing account's
(``billing_accounts.cycle_day``); a pool's is that of its first line (the lowest id). What counts: every data
session's bytes and the seconds of the calls made, roaming included (``usage_daily`` keeps roaming as one
flag, so the zones cannot be told apart; in the EU roaming counts as at home), summed from ``usage_daily``.
Calls received, SMS, MMS and premium services do not count. A line is near its allowance from 80 % on, over
it past 100 %.

Three shapes of the same figures: ``lines_allowances`` reads a fixed number of statements whatever the number
of lines (lines, pools, then per cycle day among them the use per line and the bundles per line, then the
pools' use): the alerts, over every line they watch; ``allowance_columns`` are correlated sub-selects of one
line, read with a statement the page makes anyway (the allowance page's page of lines, the lines page's
marks); ``line_allowance`` is a line's page, whose cycle is known."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property, lru_cache

from sqlalchemy import Date, Select, case, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.functions import FunctionElement

from mgd.tenants.models import BillingAccount, Line, Membership, Tariff, UsagePool
from mgd.tenants.services import visible_lines
from mgd.usage.models import Bundle, LineBundle, UsageDaily
from mgd.usage.services import cycle_for
from mgd.web.paging import KeysetPage, keyset_page

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
        return any(
            allowed is not None and used > allowed
            for used, allowed in ((self.data_used, self.data_allowed), (self.voice_used, self.voice_allowed))
        )


@dataclass(frozen=True)
class LineAllowance(Allowance):
    line_id: int = 0
    number: str = ""
    alias: str | None = None
    pool: str | None = None  # the pool it draws from
    pool_percent: int | None = None  # with its own figures (no allowance): the pool's share used …
    pool_over: bool = False  # … and whether the pool is over, which make the line near or over

    @property
    def near(self) -> bool:
        return (self.percent if self.pool_percent is None else self.pool_percent) >= NEAR

    @property
    def over(self) -> bool:
        return super().over if self.pool_percent is None else self.pool_over


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
    return int(Decimal(gb) * GB) if gb is not None else None


def _seconds(minutes: int | None) -> int | None:
    return int(minutes) * 60 if minutes is not None else None


def _add(included, extra):
    """A tariff's allowance plus its bundles'; None (none included) when neither gives any."""
    return None if included is None and not extra else (included or 0) + (extra or 0)


def cycle_of_day(cycle_day: int | None, today: date) -> tuple[date, date]:
    """The cycle that starts on ``cycle_day`` of a month and holds ``today``: (first day, last day)."""
    cycle = cycle_for(cycle_day or 1, today)
    return cycle.start, cycle.end


class days_after(FunctionElement):
    """``day`` plus ``days`` (an integer expression), a date: PostgreSQL adds them, SQLite has ``date()``."""

    type = Date()
    name = "days_after"
    inherit_cache = True


@compiles(days_after)
def _days_after(element, compiler, **kw) -> str:
    day, days = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({day} + {days})"


@compiles(days_after, "sqlite")
def _days_after_sqlite(element, compiler, **kw) -> str:
    day, days = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"date({day}, ({days}) || ' days')"


def cycle_bounds(cycle_day, today: date) -> tuple:
    """SQL expressions of the first and last day of the cycle holding ``today`` that starts on the day given
    by the expression ``cycle_day`` (1–28; a column or a sub-select): from that day of this month (or of the
    last one, before it comes) to the day before it a month later (``services.cycle_for``). A few bound
    values: a ``CASE`` of the 28 days' cycles, repeated in every sub-select, made a statement of 20 KB that
    PostgreSQL planned and psycopg parsed again each time."""
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    next_month = (this_month + timedelta(days=32)).replace(day=1)
    begun = cycle_day <= today.day
    return (
        days_after(case((begun, this_month), else_=last_month), cycle_day - 1),
        days_after(case((begun, next_month), else_=this_month), cycle_day - 2),
    )


def current_cycle(session: Session, line: Line | None, today: date) -> tuple[date, date]:
    """The cycle running ``today`` for ``line``'s billing account; for the company's pages (``line`` None),
    the days from the earliest start to the latest end of its accounts' current cycles, which hold every
    line's own (the calendar month when the company has no account)."""
    if line is not None:
        return cycle_of_day(line.billing_account.cycle_day, today)
    days = session.scalars(select(BillingAccount.cycle_day).distinct()).all() or [1]
    cycles = [cycle_of_day(day, today) for day in days]
    return min(start for start, _end in cycles), max(end for _start, end in cycles)


def in_own_cycle(today: date):
    """A condition on ``usage_daily`` joined to ``lines`` and ``billing_accounts``: the day is in the current
    cycle of the line's own account."""
    start, end = cycle_bounds(BillingAccount.cycle_day, today)
    return (UsageDaily.day >= start) & (UsageDaily.day <= end)


# ---- many lines in a few statements ------------------------------------------------------------------------


def _counted():
    """The bytes of data and the seconds of calls made, as sums over ``usage_daily`` rows."""
    daily = UsageDaily
    return (
        case((daily.kind == "data", daily.bytes), else_=0),
        case(((daily.kind == "voice") & (daily.direction == "out"), daily.duration_s), else_=0),
    )


def _used(session: Session, line_ids, start: date, end: date) -> dict[int, tuple[int, int]]:
    """Bytes of data and seconds of calls made per line from ``start`` to ``end``, of ``line_ids`` (a query
    of ids; None: every line of the company)."""
    data, voice = (func.sum(measure) for measure in _counted())
    query = (
        select(UsageDaily.line_id, data, voice)
        .where(UsageDaily.day >= start, UsageDaily.day <= end)
        .group_by(UsageDaily.line_id)
    )
    if line_ids is not None:
        query = query.where(UsageDaily.line_id.in_(line_ids))
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


def _rows(lines: Select) -> Select:
    """(id, number, alias, pool, tariff GB and minutes, cycle day) of the lines in service of ``lines`` (a
    query of ``Line``)."""
    return (
        lines.where(Line.status != "cancelled")
        .with_only_columns(
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


def _line_figures(
    session: Session, lines: Select, rows, today: date, pools: dict[int, str], *, every_line: bool
) -> list[LineAllowance]:
    """The allowance of each of ``rows`` (``_rows(lines)``): two statements per cycle day among them (one,
    mostly), over every line of the company when ``lines`` are all of them (no list of ids to send)."""
    by_day = defaultdict(list)
    for row in rows:
        by_day[row.cycle_day or 1].append(row)
    found = []
    for cycle_day, members in by_day.items():
        start, end = cycle_of_day(cycle_day, today)
        ids = None
        if not every_line or len(by_day) > 1:
            ids = _rows(lines).where(BillingAccount.cycle_day == cycle_day).with_only_columns(Line.id)
        used = _used(session, ids, start, end)
        extra = _bundles(session, ids, start, end)
        for row in members:
            data, voice = used.get(row.id, (0, 0))
            gb, minutes = extra.get(row.id, (Decimal(0), 0))
            pooled = row.pool_id is not None
            found.append(
                LineAllowance(
                    data,
                    None if pooled else _bytes(_add(row.data_gb, gb)),
                    voice,
                    None if pooled else _seconds(_add(row.voice_minutes, minutes)),
                    end + timedelta(days=1),
                    line_id=row.id,
                    number=row.number,
                    alias=row.alias,
                    pool=pools.get(row.pool_id),
                )
            )
    return found


def _pool_figures(
    session: Session, pools: dict[int, UsagePool], wanted: set[int], today: date
) -> list[PoolAllowance]:
    """Each wanted pool's use: the sum over all its lines (also those the member does not see) in the cycle
    of its first line. One statement for their lines, then one per cycle day among the pools."""
    if not wanted:
        return []
    members = session.execute(
        select(Line.id, Line.pool_id, BillingAccount.cycle_day)
        .join(BillingAccount, BillingAccount.id == Line.billing_account_id)
        .where(Line.pool_id.in_(sorted(wanted)))
        .order_by(Line.id)
    ).all()
    first_day, pool_of, sizes = {}, {}, defaultdict(int)
    for line_id, pool_id, cycle_day in members:
        first_day.setdefault(pool_id, cycle_day)
        pool_of[line_id] = pool_id
        sizes[pool_id] += 1
    by_day = defaultdict(list)
    for pool_id in sorted(wanted):
        by_day[first_day.get(pool_id, 1)].append(pool_id)
    found = []
    for cycle_day, pool_ids in by_day.items():
        start, end = cycle_of_day(cycle_day, today)
        used = _used(session, select(Line.id).where(Line.pool_id.in_(pool_ids)), start, end)
        for pool_id in pool_ids:
            pool = pools[pool_id]
            shares = [figures for line_id, figures in used.items() if pool_of.get(line_id) == pool_id]
            found.append(
                PoolAllowance(
                    sum(d for d, _v in shares),
                    _bytes(pool.data_gb),
                    sum(v for _d, v in shares),
                    _seconds(pool.voice_minutes),
                    end + timedelta(days=1),
                    id=pool.id,
                    name=pool.name,
                    lines=sizes[pool_id],
                )
            )
    return sorted(found, key=lambda pool: pool.name)


def lines_allowances(session: Session, lines: Select, today: date, *, every_line: bool) -> CompanyAllowances:
    """The allowance of each line in service of ``lines`` (a query of ``Line``; ``every_line``: it is every
    line of the company), the most used first, and the pools they draw from (whole pools: their use is every
    line's in them)."""
    rows = session.execute(_rows(lines)).all()
    pool_rows = {pool.id: pool for pool in session.scalars(select(UsagePool))}
    names = {pool_id: pool.name for pool_id, pool in pool_rows.items()}
    items = _line_figures(session, lines, rows, today, names, every_line=every_line)
    pools = _pool_figures(session, pool_rows, {row.pool_id for row in rows if row.pool_id is not None}, today)
    shares = {pool.name: pool for pool in pools}
    marked = [
        replace(item, pool_percent=shares[item.pool].percent, pool_over=shares[item.pool].over)
        if item.pool
        else item
        for item in items
    ]
    ranked = sorted(
        marked,
        key=lambda item: (-(item.percent if item.pool_percent is None else item.pool_percent), item.number),
    )
    return CompanyAllowances(pools, ranked)


# ---- the allowance page: a page of lines, by number -------------------------------------------------------

PAGE_SIZE = 50


@dataclass(frozen=True)
class AllowancePage:
    pools: list[PoolAllowance]  # every pool the member's lines draw from
    lines: KeysetPage  # items: ``LineAllowance``, by number


def allowance_page(
    session: Session,
    membership: Membership,
    today: date,
    *,
    after: str | None = None,
    before: str | None = None,
    size: int | None = None,
) -> AllowancePage:
    """A keyset page of the lines in service the member may see, by number, each with its allowance, and
    the pools they draw from. The page's lines and their figures are one statement (``allowance_columns``,
    each line's own daily sums through its index): a page costs the same in a company of 50 lines or of
    50,000, where every line's figures (``lines_allowances``) grow with the company. A pooled line shows
    its own use, and is near or over by its pool's share (the pools are summed once, not per line)."""
    lines = visible_lines(membership, load_related=False).where(Line.status != "cancelled")
    drawn = lines.with_only_columns(Line.pool_id).where(Line.pool_id.is_not(None)).distinct().order_by(None)
    wanted = set(session.scalars(drawn))
    pools = []
    if wanted:
        rows = {pool.id: pool for pool in session.scalars(select(UsagePool).where(UsagePool.id.in_(wanted)))}
        pools = _pool_figures(session, rows, wanted & set(rows), today)
    shares = {pool.id: pool for pool in pools}
    page = keyset_page(
        session,
        lines.with_only_columns(
            Line.id, Line.number, Line.alias, Line.pool_id, *allowance_columns(today, pools=False)
        ),
        [Line.number],
        after=after,
        before=before,
        size=size or PAGE_SIZE,
        rows=True,
    )
    items = []
    for line_id, number, alias, pool_id, *values in page.items:
        share = shares.get(pool_id)
        if share is None:
            items.append(line_allowance_of(line_id, number, alias, values))
            continue
        items.append(
            LineAllowance(
                int(values[7]),
                None,
                int(values[8]),
                None,
                _as_date(values[11]) + timedelta(days=1),
                line_id=line_id,
                number=number,
                alias=alias,
                pool=share.name,
                pool_percent=share.percent,
                pool_over=share.over,
            )
        )
    return AllowancePage(pools, replace(page, items=items))


# ---- one line, with a statement the page makes anyway -----------------------------------------------------


@lru_cache(maxsize=8)
def allowance_columns(today: date, *, pools: bool = True) -> tuple:
    """Sub-selects correlated to ``Line`` that give its allowance in its current cycle (``line_allowance_of``
    reads them): add them to any statement that reads lines. Built once a day (the expressions are a few
    hundred elements: building them took longer than running them); a line outside a pool sums no pool.
    Without ``pools`` a pooled line's pool is not summed either (0): the caller has its pool's figures."""
    account, member, first, first_account = (
        aliased(BillingAccount),
        aliased(Line),
        aliased(Line),
        aliased(BillingAccount),
    )
    own_start, own_end = cycle_bounds(
        select(account.cycle_day)
        .where(account.id == Line.billing_account_id)
        .correlate(Line)
        .scalar_subquery(),
        today,
    )
    pool_day = (
        select(first_account.cycle_day)
        .join(first, first.billing_account_id == first_account.id)
        .where(first.pool_id == Line.pool_id)
        .order_by(first.id)
        .limit(1)
        .correlate(Line)  # (nested in the sums below too: the outer statement's line)
        .scalar_subquery()
    )
    pool_start, pool_end = cycle_bounds(pool_day, today)
    # Each sum reads only the rows it counts: the kind and direction are columns of the line's index, so the
    # other rows (SMS, calls received, …) are passed over in the index, never fetched from the table.
    data = (UsageDaily.bytes, UsageDaily.kind == "data")
    voice = (UsageDaily.duration_s, (UsageDaily.kind == "voice") & (UsageDaily.direction == "out"))

    def summed(counted, line_ids, start, end):
        measure, which = counted
        return (
            select(func.coalesce(func.sum(measure), 0))
            .where(UsageDaily.line_id.in_(line_ids), UsageDaily.day >= start, UsageDaily.day <= end, which)
            .scalar_subquery()
        )

    def of(column, key, value):
        return select(column).where(key == value).scalar_subquery()

    bundles = (
        select(func.coalesce(func.sum(measure), 0))
        .select_from(LineBundle)
        .join(Bundle, Bundle.id == LineBundle.bundle_id)
        .where(
            LineBundle.line_id == Line.id,
            LineBundle.starts_on <= own_end,
            LineBundle.ends_on.is_(None) | (LineBundle.ends_on >= own_start),
        )
        .correlate(Line)
        .scalar_subquery()
        for measure in (Bundle.data_gb, Bundle.voice_minutes)
    )
    own = [Line.id]
    pool = select(member.id).where(member.pool_id == Line.pool_id).correlate(Line)
    pooled = Line.pool_id.is_not(None)
    return (
        of(UsagePool.name, UsagePool.id, Line.pool_id),
        of(UsagePool.data_gb, UsagePool.id, Line.pool_id),
        of(UsagePool.voice_minutes, UsagePool.id, Line.pool_id),
        of(Tariff.data_gb, Tariff.id, Line.tariff_id),
        of(Tariff.voice_minutes, Tariff.id, Line.tariff_id),
        *bundles,
        summed(data, own, own_start, own_end),
        summed(voice, own, own_start, own_end),
        case((pooled, summed(data, pool, pool_start, pool_end)), else_=0) if pools else literal(0),
        case((pooled, summed(voice, pool, pool_start, pool_end)), else_=0) if pools else literal(0),
        own_end,
        pool_end,
    )


def line_allowance_of(line_id: int, number: str, alias: str | None, values) -> LineAllowance:
    """A line's allowance from the values of ``allowance_columns``: a pooled line's figures are its pool's
    (the use of all its lines; bundles are a line's own and do not add to a pool)."""
    pool, pool_gb, pool_min, gb, minutes, extra_gb, extra_min, data, voice, pool_data, pool_voice = values[
        :11
    ]
    own_end, pool_end = values[11:13]
    if pool is not None:
        return LineAllowance(
            int(pool_data),
            _bytes(pool_gb),
            int(pool_voice),
            _seconds(pool_min),
            _as_date(pool_end) + timedelta(days=1),
            line_id=line_id,
            number=number,
            alias=alias,
            pool=pool,
        )
    return LineAllowance(
        int(data),
        _bytes(_add(gb, Decimal(extra_gb))),
        int(voice),
        _seconds(_add(minutes, int(extra_min))),
        _as_date(own_end) + timedelta(days=1),
        line_id=line_id,
        number=number,
        alias=alias,
    )


def _as_date(value) -> date:
    """A ``CASE`` of dates comes back as text from SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def line_allowances(session: Session, line_ids: list[int], today: date) -> dict[int, LineAllowance]:
    """The allowance of each of ``line_ids`` (already among those the member may see) in one statement."""
    query = select(Line.id, Line.number, Line.alias, *allowance_columns(today)).where(Line.id.in_(line_ids))
    return {row[0]: line_allowance_of(row[0], row[1], row[2], row[3:]) for row in session.execute(query)}


def line_allowance(session: Session, line: Line, today: date) -> LineAllowance:
    """The allowance of one line (checked visible by the caller; its account and tariff at hand): its cycle
    is known here, so its use and bundles are one small statement with plain bounds (the correlated columns
    of ``allowance_columns`` gave the same figures with a statement of 12 KB that PostgreSQL spent longer
    planning than running); a pooled line's are its pool's (``_pool_figures``)."""
    if line.pool_id is not None:
        pool = session.get(UsagePool, line.pool_id)
        if pool is not None:
            (shared,) = _pool_figures(session, {pool.id: pool}, {pool.id}, today)
            return LineAllowance(
                shared.data_used,
                shared.data_allowed,
                shared.voice_used,
                shared.voice_allowed,
                shared.resets_on,
                line_id=line.id,
                number=line.number,
                alias=line.alias,
                pool=pool.name,
            )
    start, end = cycle_of_day(line.billing_account.cycle_day, today)
    bundles = (
        select(func.coalesce(func.sum(measure), 0))
        .select_from(LineBundle)
        .join(Bundle, Bundle.id == LineBundle.bundle_id)
        .where(
            LineBundle.line_id == line.id,
            LineBundle.starts_on <= end,
            LineBundle.ends_on.is_(None) | (LineBundle.ends_on >= start),
        )
        .scalar_subquery()
        for measure in (Bundle.data_gb, Bundle.voice_minutes)
    )
    data, voice = (func.coalesce(func.sum(measure), 0) for measure in _counted())
    used_data, used_voice, extra_gb, extra_min = session.execute(
        select(data, voice, *bundles).where(
            UsageDaily.line_id == line.id,
            UsageDaily.day >= start,
            UsageDaily.day <= end,
            UsageDaily.kind.in_(("data", "voice")),  # (an index condition: the other rows are not read)
        )
    ).one()
    return LineAllowance(
        int(used_data),
        _bytes(_add(line.tariff.data_gb, Decimal(extra_gb))),
        int(used_voice),
        _seconds(_add(line.tariff.voice_minutes, int(extra_min))),
        end + timedelta(days=1),
        line_id=line.id,
        number=line.number,
        alias=line.alias,
    )


@dataclass(frozen=True)
class HomeSummary:
    unbilled_cents: int
    calls_s: int
    data_bytes: int


def home_summary_query(membership: Membership, today: date) -> Select:
    """One row: what the member's lines used and is not billed yet (the last two months at most): cents,
    seconds of calls made, bytes of data. The home page reads it with its own statement (its statement
    budget, ``tests/test_edge.py``)."""
    daily = UsageDaily
    data, voice = _counted()
    query = select(func.sum(daily.cost_cents), func.sum(voice), func.sum(data)).where(
        daily.billed.is_(False), daily.day >= today - timedelta(days=62)
    )
    if membership.limited:
        visible = visible_lines(membership).subquery()
        query = query.where(daily.line_id.in_(select(visible.c.id)))
    return query

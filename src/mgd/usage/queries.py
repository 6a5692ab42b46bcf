"""Reads of the consumption pages: a page of usage records by keyset (newest first, no OFFSET and no count),
the totals per type for the filters (from ``usage_daily``: no record is read), the records of an export
streamed, and the rankings of a billing cycle. A member limited to some lines reads only theirs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, case, func, literal, null, or_, select, tuple_, union_all
from sqlalchemy.orm import Session

from mgd.tenants.models import BillingAccount, Line, Membership
from mgd.tenants.services import visible_lines
from mgd.usage.allowances import in_own_cycle
from mgd.usage.filters import KINDS, Cursor, UsageFilters
from mgd.usage.models import UsageDaily, UsageRecord

PAGE_SIZE = 50
LINE_PAGE_SIZE = 25  # a line's page: its records follow its totals and allowance bars


@dataclass(frozen=True)
class RecordPage:
    records: list[tuple[UsageRecord, str, str | None]]  # the record, its line's number and alias
    next_cursor: Cursor | None  # pass as ``after`` for the next page; None on the last page


@dataclass(frozen=True)
class KindTotal:
    kind: str
    unbilled_records: int
    billed_records: int
    duration_s: int
    bytes: int
    units: int
    unbilled_cents: int
    billed_cents: int

    @property
    def records(self) -> int:
        return self.unbilled_records + self.billed_records


def _visible_line_ids(membership: Membership) -> Select:
    visible = visible_lines(membership).subquery()
    return select(visible.c.id)


def _lines_of(query: Select, column, membership: Membership, line_id: int | None) -> Select:
    """``query`` kept to one line (already checked visible) or to the lines the member may see."""
    if line_id is not None:
        return query.where(column == line_id)
    if membership.limited:
        return query.where(column.in_(_visible_line_ids(membership)))
    return query


def _place(column_is_home, place: str | None):
    return {"home": column_is_home, "roaming": ~column_is_home}.get(place) if place else None


def _records(membership: Membership, filters: UsageFilters, line_id: int | None, *columns) -> Select:
    query = select(*(columns or (UsageRecord,))).where(
        UsageRecord.started_at >= filters.since, UsageRecord.started_at < filters.until
    )
    if filters.kind:
        query = query.where(UsageRecord.kind == filters.kind)
    if filters.direction:
        query = query.where(UsageRecord.direction == filters.direction)
    if (home := _place(UsageRecord.roaming_zone.is_(None), filters.place)) is not None:
        query = query.where(home)
    return _lines_of(query, UsageRecord.line_id, membership, line_id)


def _newest_first(query: Select) -> Select:
    return query.order_by(UsageRecord.started_at.desc(), UsageRecord.id.desc())


def record_page(
    session: Session,
    membership: Membership,
    filters: UsageFilters,
    *,
    line_id: int | None = None,
    after: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> RecordPage:
    """The ``size`` records after ``after`` (newest first) in the filters' state (billed or not). The order is
    (start time, id), unique: a record that arrives while someone pages is shown once or, if it is newer
    than the page being read, not at all; none is skipped or repeated."""
    query = _records(membership, filters, line_id, UsageRecord, Line.number, Line.alias)
    query = query.join(Line, Line.id == UsageRecord.line_id).where(
        UsageRecord.billed.is_(filters.state == "billed")
    )
    if after is not None:
        started, record_id = after
        # A row comparison is an index bound (PostgreSQL); the plain one also prunes the newer partitions.
        query = query.where(
            UsageRecord.started_at <= started,
            tuple_(UsageRecord.started_at, UsageRecord.id)
            < tuple_(literal(started, UsageRecord.started_at.type), literal(record_id, UsageRecord.id.type)),
        )
    rows = [tuple(row) for row in session.execute(_newest_first(query).limit(size + 1))]
    more = len(rows) > size
    rows = rows[:size]
    last = rows[-1][0] if rows else None
    return RecordPage(rows, (last.started_at, last.id) if more and last else None)


def totals(
    session: Session, membership: Membership, filters: UsageFilters, *, line_id: int | None = None
) -> list[KindTotal]:
    """What the filters hold per type, billed and not billed apart (the state filter does not apply: the
    page shows both), from ``usage_daily``: whole Madrid days, type, direction and roaming are what it keeps,
    so the sums are exact and read no record."""
    daily = UsageDaily
    query = (
        select(
            daily.kind,
            daily.billed,
            func.sum(daily.records),
            func.sum(daily.duration_s),
            func.sum(daily.bytes),
            func.sum(daily.units),
            func.sum(daily.cost_cents),
        )
        .where(daily.day >= filters.start, daily.day <= filters.end)
        .group_by(daily.kind, daily.billed)
    )
    if filters.kind:
        query = query.where(daily.kind == filters.kind)
    if filters.direction:
        query = query.where(daily.direction == filters.direction)
    if (home := _place(daily.roaming.is_(False), filters.place)) is not None:
        query = query.where(home)
    return _by_kind(session.execute(_lines_of(query, daily.line_id, membership, line_id)))


def _by_kind(rows) -> list[KindTotal]:
    found: dict[str, list[int]] = {}
    for kind, billed, records, duration, data, units, cost in rows:
        sums = found.setdefault(kind, [0] * 7)
        sums[1 if billed else 0] += int(records or 0)
        for index, value in enumerate((duration, data, units), 2):
            sums[index] += int(value or 0)
        sums[6 if billed else 5] += int(cost or 0)
    return [KindTotal(kind, *found[kind]) for kind in KINDS if kind in found]


def export_records(
    session: Session, membership: Membership, filters: UsageFilters, *, line_id: int | None = None
) -> Iterator[tuple[UsageRecord, str]]:
    """Every record of the filters (billed and not), newest first, with its line's number; read from the
    database a few thousand at a time (memory stays flat)."""
    query = _records(membership, filters, line_id, UsageRecord, Line.number).join(
        Line, Line.id == UsageRecord.line_id
    )
    result = session.execute(_newest_first(query).execution_options(yield_per=2000))
    yield from ((record, number) for record, number in result)


# ---- the cycle's rankings ----------------------------------------------------------------------------------

RANKINGS = ("calls", "data", "spend")


@dataclass(frozen=True)
class Ranked:
    line_id: int
    number: str
    alias: str | None
    value: int  # seconds of calls, bytes or cents


def _in_cycles(query: Select, span: tuple[date, date], today: date) -> Select:
    """``query`` of ``usage_daily`` kept to each line's current cycle (its own billing account's), within the
    ``span`` of days that holds them all (a plain bound for the index)."""
    return (
        query.join(Line, Line.id == UsageDaily.line_id)
        .join(BillingAccount, BillingAccount.id == Line.billing_account_id)
        .where(UsageDaily.day >= span[0], UsageDaily.day <= span[1], in_own_cycle(today))
    )


@dataclass(frozen=True)
class Rankings:
    top: dict[str, list[Ranked]]  # by ``RANKINGS``: the lines that used most, most first
    centres: list[tuple[str | None, int]]  # usage spend (cents) per cost centre, most first


def cycle_rankings(
    session: Session,
    membership: Membership,
    span: tuple[date, date],
    *,
    today: date,
    limit: int = 10,
    centres: int = 12,
) -> Rankings:
    """The ``limit`` lines that called (seconds of voice), used data (bytes) or spent (cents) most in their
    current cycle (``today``'s; ``span``: the days that hold every line's), and the usage spend per cost
    centre of the lines (the first ``centres``), from ``usage_daily`` in one statement: the cycle's rows are
    summed once per line (a CTE), then ranked with window functions and summed per cost centre."""
    daily = UsageDaily
    sums = _lines_of(
        _in_cycles(
            select(
                daily.line_id,
                func.sum(case((daily.kind == "voice", daily.duration_s), else_=0)).label("calls"),
                func.sum(case((daily.kind == "data", daily.bytes), else_=0)).label("data"),
                func.sum(daily.cost_cents).label("spend"),
            ),
            span,
            today,
        ).group_by(daily.line_id),
        daily.line_id,
        membership,
        None,
    ).subquery("sums")
    # Summed by line first (narrow rows, hashed), then named: the lines' texts are not carried through it.
    per_line = (
        select(
            sums.c.line_id,
            Line.number,
            Line.alias,
            Line.cost_centre,
            *(sums.c[by] for by in RANKINGS),
        )
        .join(Line, Line.id == sums.c.line_id)
        .cte("per_line")
    )
    ranks = [
        func.row_number().over(order_by=(per_line.c[by].desc(), per_line.c.line_id)).label(f"rank_{by}")
        for by in RANKINGS
    ]
    ranked = select(per_line, *ranks).subquery("ranked")
    lines = select(
        literal("line").label("source"),
        ranked.c.line_id,
        ranked.c.number,
        ranked.c.alias,
        *(ranked.c[by] for by in RANKINGS),
        *(ranked.c[f"rank_{by}"] for by in RANKINGS),
    ).where(or_(*(ranked.c[f"rank_{by}"] <= limit for by in RANKINGS)))
    spend = func.sum(per_line.c.spend)
    by_centre = (
        select(per_line.c.cost_centre, spend.label("spend"))
        .group_by(per_line.c.cost_centre)
        .order_by(spend.desc(), per_line.c.cost_centre)
        .limit(centres)
        .subquery("by_centre")
    )
    centre_rows = select(
        literal("centre"), null(), by_centre.c.cost_centre, *[null()] * 3, by_centre.c.spend, *[null()] * 3
    )
    top: dict[str, list[tuple[int, Ranked]]] = {by: [] for by in RANKINGS}
    found: list[tuple[str | None, int]] = []
    for row in session.execute(union_all(lines, centre_rows)):
        if row[0] == "centre":
            found.append((row[2], int(row[6] or 0)))
            continue
        for by, value, rank in zip(RANKINGS, row[4:7], row[7:10], strict=True):
            if rank <= limit and value and value > 0:
                top[by].append((rank, Ranked(row[1], row[2], row[3], int(value))))
    found.sort(key=lambda item: (-item[1], item[0] is None, item[0] or ""))  # as the SQL's order
    return Rankings({by: [item for _rank, item in sorted(items)] for by, items in top.items()}, found)


def last_record_at(session: Session, membership: Membership) -> datetime | None:
    """When the newest record the member may see started (the home card says how fresh the data is)."""
    query = _lines_of(select(func.max(UsageRecord.started_at)), UsageRecord.line_id, membership, None)
    return session.scalar(query)

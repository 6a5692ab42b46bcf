"""The monthly partitions of ``usage_records`` on PostgreSQL (SQLite has one plain table: every function here
does nothing there).

A partition holds one month of Madrid time (the days of ``usage_daily`` fall in one month each). It is made by
the database function ``mgd_usage_partition(month)`` (migration ``0e723e89012d``), which runs as the tables'
owner: the portal's role may call it, never create or alter tables itself. Three ways make them:

- the ``ensure_usage_partitions`` job (``mgd.usage.tasks``), daily in ``mgd worker`` and ``mgd serve``: the
  current month and ``AHEAD`` months after it;
- ``mgd usage partitions [--ahead N]`` does the same at once;
- the records import makes the months its records need (history included) before writing them.

Old months are detached (``mgd usage partitions --detach-before YYYY-MM``, as the owner): the partition
becomes a table of its own, out of every page, and the daily sums of those days are deleted, so that
``usage_daily`` stays the exact sum of ``usage_records``. The detached tables are the operator's to archive or
drop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from mgd.db import operator_scope

MADRID = ZoneInfo("Europe/Madrid")
#: Months made ahead of the current one by the job and the command.
AHEAD = 3
_NAME = re.compile(r"usage_records_(\d{4})_(\d{2})")


@dataclass(frozen=True)
class Partition:
    name: str
    month: date  # its first day


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def ensure_partitions(session: Session, months: Iterable[date]) -> list[str]:
    """Make the partitions of ``months`` (any day of each) that do not exist yet; the names of all of them."""
    if not is_postgresql(session):
        return []
    firsts = sorted({first_of_month(month) for month in months})
    return [
        session.execute(text("SELECT mgd_usage_partition(:month)"), {"month": month}).scalar_one()
        for month in firsts
    ]


def ensure_ahead(session: Session, today: date, ahead: int = AHEAD) -> list[str]:
    """The current month's partition and those of the ``ahead`` months after it."""
    month = first_of_month(today)
    return ensure_partitions(session, [add_months(month, n) for n in range(ahead + 1)])


def partitions(session: Session) -> list[Partition]:
    """The partitions attached to ``usage_records``, oldest first."""
    if not is_postgresql(session):
        return []
    names = session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'usage_records'::regclass"
        )
    ).scalars()
    found = [(_NAME.fullmatch(name), name) for name in names]
    return sorted(
        (Partition(name, date(int(m.group(1)), int(m.group(2)), 1)) for m, name in found if m),
        key=lambda partition: partition.month,
    )


def detach_before(session: Session, month: date) -> list[str]:
    """On a session of the tables' owner (only the owner may detach): detach every partition of a month before
    ``month`` and delete the daily sums of their days; the names detached. The caller commits."""
    if not is_postgresql(session):
        return []
    boundary = first_of_month(month)
    detached = []
    for partition in partitions(session):
        if partition.month >= boundary:
            continue
        session.execute(text(f'ALTER TABLE usage_records DETACH PARTITION "{partition.name}"'))
        detached.append(partition.name)
    if detached:
        with operator_scope(session, "usage partitions: detach"):
            session.execute(text("DELETE FROM usage_daily WHERE day < :boundary"), {"boundary": boundary})
    return detached

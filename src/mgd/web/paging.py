"""Pages of long lists: a counted page of a query, the page number a request asks for, and whole numbers read
from a query string."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Page:
    items: list
    number: int
    total: int
    size: int = 25

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def paginate(session: Session, query: Select, number: int, size: int = 25, *, rows: bool = False) -> Page:
    """One page of ``query`` (already ordered) and the total count; a page past the end comes back empty.
    Items are the first entity of each row, or (``rows``) whole rows as tuples."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    result = session.execute(query.limit(size).offset((number - 1) * size))
    items = [tuple(row) for row in result] if rows else list(result.scalars())
    return Page(items, number, total, size)


MAX_PAGE = 10**6


def whole_number(value: str | None, low: int, high: int) -> int | None:
    """``value`` as an integer when it is only ASCII digits and within ``low``..``high``; else None.
    (``str.isdigit`` is true for "²" and "٣", which ``int`` refuses or reads as digits of another script.)"""
    if not value or not value.isascii() or not value.isdigit() or len(value) > len(str(high)):
        return None
    number = int(value)
    return number if low <= number <= high else None


def page_number(args) -> int:
    """The ``page`` query argument: a positive integer, 1 for anything else."""
    return whole_number(args.get("page"), 1, MAX_PAGE) or 1

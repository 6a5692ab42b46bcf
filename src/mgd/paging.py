"""Pages of long lists: a counted page of a query, and the page number a request asks for."""

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


def page_number(args) -> int:
    """The ``page`` query argument: a positive integer, 1 for anything else."""
    value = args.get("page", "1")
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) < 10**6 else 1

"""Pages of long lists: a counted page of a query, the page number a request asks for, and whole numbers read
from a query string."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, literal, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator, TypeEngine


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


#: Lists count their rows up to this many; beyond, a page says "more than 10,000".
COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class KeysetPage:
    """A page of a list walked by keyset (the sort key of the rows around it), not by offset: every page,
    however deep, reads its own rows only. ``after``/``before`` are the tokens of the next/previous page
    (None at either end); ``total`` is counted up to ``COUNT_LIMIT`` (``more``: there are more), on the
    first page; the tokens carry that count to the next pages, which show it without counting again."""

    items: list
    total: int
    size: int
    after: str | None = None
    before: str | None = None
    more: bool = False
    values: tuple = ()

    @property
    def keyset(self) -> bool:  # (the pager's way to tell this page from a numbered ``Page``)
        return True


def cursor_token(values, counted: int | None = None) -> str:
    """A position in a list as a URL-safe token: the sort key of a row, then (``counted``) the list's count
    as the first page made it (up to ``COUNT_LIMIT`` + 1: "more than"), so that the next pages need not
    count again."""
    key = [v.isoformat() if isinstance(v, datetime | date) else v for v in values]
    return json.dumps(key if counted is None else [*key, counted], separators=(",", ":"))


def _storable(value: str) -> bool:
    """Text a database accepts as a parameter: no NUL, no lone surrogate (JSON can carry both)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def _key_value(value, kind: type):
    """A token's value as a key of this Python type, or None if it is not one."""
    try:
        if kind is datetime and isinstance(value, str):
            value = datetime.fromisoformat(value)
            return value if value.tzinfo is not None else None
        if kind is date and isinstance(value, str):
            return date.fromisoformat(value)
    except ValueError:
        return None
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63
    else:
        ok = isinstance(value, kind) and (not isinstance(value, str) or _storable(value))
    return value if ok else None


def _python_type(column_type: TypeEngine) -> type:
    """The Python type of a column's values; a decorated type's (``UTCDateTime``) is its stored type's,
    since a TypeDecorator says ``object``, which would let a token's text through as a timestamp."""
    if isinstance(column_type, TypeDecorator):
        return column_type.impl_instance.python_type
    return column_type.python_type


def _parse_cursor(token: str | None, keys: Sequence) -> tuple[tuple | None, int | None]:
    """The sort key a token carries, each value checked against its column's type (None if it is not one),
    and the count it carries (None without one, or with anything but a whole number up to the limit)."""
    if not token or len(token) > 1000:
        return None, None
    try:
        values = json.loads(token)
    except ValueError:
        return None, None
    if not isinstance(values, list) or len(values) not in (len(keys), len(keys) + 1):
        return None, None
    counted = _key_value(values[-1], int) if len(values) > len(keys) else None
    values = values[: len(keys)]
    parsed = tuple(_key_value(value, _python_type(key.type)) for value, key in zip(values, keys, strict=True))
    if any(value is None for value in parsed):
        return None, None
    return parsed, counted if counted is not None and 0 <= counted <= COUNT_LIMIT + 1 else None


def keyset_page(
    session: Session,
    query: Select,
    keys: Sequence,
    *,
    descending: bool = False,
    after: str | None = None,
    before: str | None = None,
    size: int = 25,
    rows: bool = False,
    columns: Sequence = (),
    count: bool = True,
) -> KeysetPage:
    """The page of ``query`` (unordered: ``keys`` give the order, all ascending or all ``descending``, the
    last unique in the list) that comes after the token ``after``, or before ``before``; the first page for
    neither (or a token that is not one). Keys must not be NULL (use ``coalesce``).

    One statement: the rows (``size`` + 1, to know whether there is another page) and, in a sub-select, the
    count of the whole list up to ``COUNT_LIMIT`` (on the first page only: the tokens carry it to the next
    pages), and any other scalar sub-selects the page shows (``columns``, their values in ``values``). Items
    are the first entity of each row, or (``rows``) the rows as tuples. ``count=False``: a list that shows
    no count (the back office's queue) skips it (``total`` is then 0)."""
    (position, counted), backwards = _parse_cursor(after, keys), False
    if position is None and before is not None:
        position, counted = _parse_cursor(before, keys)
        backwards = position is not None
    if count and counted is None:  # the first page (or a position typed by hand): count, up to the limit
        limited = query.with_only_columns(keys[-1]).order_by(None).limit(COUNT_LIMIT + 1).subquery()
        counting = select(func.count()).select_from(limited).scalar_subquery()
    else:  # a page after the first, its count carried by the link: no count
        counting = literal(counted or 0)
    forwards = descending == backwards  # walking the index upwards
    paged = query.add_columns(*keys, *columns, counting)
    if position is not None:
        values = [literal(value, key.type) for value, key in zip(position, keys, strict=True)]
        key, value = (keys[0], values[0]) if len(keys) == 1 else (tuple_(*keys), tuple_(*values))
        paged = paged.where(key > value if forwards else key < value)
    paged = paged.order_by(*(key.asc() if forwards else key.desc() for key in keys)).limit(size + 1)
    found = session.execute(paged).all()
    if backwards:
        found = found[:size][::-1] + found[size:]
    if found:
        width, total, values = (
            len(found[0]) - len(keys) - len(columns) - 1,
            found[0][-1],
            found[0][-1 - len(columns) : -1],
        )
    else:  # nothing here (past either end): the count and the columns without the page
        width, (total, *values) = (
            0,
            session.execute(select(counting, *columns)).one(),
        )
    end = width + len(keys)
    shown, extra = found[:size], len(found) > size
    has_after = True if backwards else extra
    has_before = (extra if backwards else position is not None) and bool(shown)
    carried = min(total, COUNT_LIMIT + 1) if count else None
    return KeysetPage(
        [(tuple(row[:width]) if rows else row[0]) for row in shown],
        min(total, COUNT_LIMIT),
        size,
        after=cursor_token(shown[-1][width:end], carried) if shown and has_after else None,
        before=cursor_token(shown[0][width:end], carried) if has_before else None,
        more=total > COUNT_LIMIT,
        values=tuple(values),
    )

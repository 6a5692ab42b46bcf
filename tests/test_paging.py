"""Whole numbers from a query string: ASCII digits within bounds, nothing else; the pager of long lists."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, DateTime, Integer, String

from mgd.web.paging import MAX_PAGE, KeysetPage, Page, _parse_cursor, cursor_token, page_number, whole_number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7),
        ("0", None),
        ("", None),
        (None, None),
        ("²", None),  # "²".isdigit() is True, int("²") raises
        ("٣", None),  # int("٣") is 3: another script's digit is not a page number
        ("１２", None),
        ("-1", None),
        (" 5", None),
        ("9" * 5000, None),  # int() of it raises: more than 4,300 digits
        ("101", None),
    ],
)
def test_whole_number_takes_only_ascii_digits_within_bounds(value, expected):
    assert whole_number(value, 1, 100) == expected


def test_page_number_falls_back_to_the_first_page():
    assert page_number({"page": "²"}) == 1
    assert page_number({"page": str(MAX_PAGE + 1)}) == 1
    assert page_number({"page": "3"}) == 3


def test_the_pager_is_a_named_navigation_that_marks_the_current_page(app):
    with app.test_request_context("/mi-area/empresas"):
        pager = app.jinja_env.get_template("_paging.html").module.pager
        html = str(pager(Page([], 2, total=60, size=25), {"q": "ana"}))
        assert not str(pager(Page([], 1, total=25, size=25))).strip()  # one page: no pager at all
    assert re.search(r'<nav class="pager" aria-label="[^"]+">', html)
    current = re.findall(r'<span aria-current="page">([^<]*)</span>', html)
    assert len(current) == 1 and "2" in current[0] and "3" in current[0]
    links = re.findall(r'<a href="([^"]+)" rel="(prev|next)">', html)
    assert links == [
        ("/mi-area/empresas?page=1&amp;q=ana", "prev"),
        ("/mi-area/empresas?page=3&amp;q=ana", "next"),
    ]


def test_keyset_tokens_that_are_not_a_position_are_refused():
    number, name, when = Column("n", Integer), Column("s", String), Column("w", DateTime(timezone=True))
    assert _parse_cursor('[3, "a"]', [number, name]) == ((3, "a"), None)
    moment = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    assert _parse_cursor(cursor_token([moment, 7]), [when, number]) == ((moment, 7), None)
    # The count the first page made, carried on: a whole number up to the limit + 1, or no count.
    assert _parse_cursor(cursor_token([3, "a"], 10_001), [number, name]) == ((3, "a"), 10_001)
    for count in ("-1", "10002", '"5"', "true", "1.5", "null"):
        assert _parse_cursor(f'[3, "a", {count}]', [number, name]) == ((3, "a"), None), count
    for token in (
        None,
        "",
        "[3]",  # too few keys
        '[3, "a", 5, 6]',  # too many
        '["3", "a"]',  # a number as text
        '[true, "a"]',
        '[3, "a\\u0000b"]',  # NUL: PostgreSQL refuses it in text
        '[3, "\\ud800"]',  # a lone surrogate
        '[99999999999999999999, "a"]',
        '{"n": 3}',
        "[3, " + "9" * 2000 + "]",
        "not json",
    ):
        assert _parse_cursor(token, [number, name]) == (None, None), token
    assert _parse_cursor('["2026-12-01T10:30:00", 7]', [when, number]) == (None, None)  # no time zone


def test_a_keyset_pager_links_first_previous_and_next_keeping_the_filters(app):
    with app.test_request_context("/mi-area/empresas"):
        pager = app.jinja_env.get_template("_paging.html").module.pager
        html = str(pager(KeysetPage([], total=80, size=25, after='["b"]', before='["a"]'), {"q": "ana"}))
        assert not str(pager(KeysetPage([], total=20, size=25))).strip()  # one page: no pager
        first = str(pager(KeysetPage([], total=80, size=25, after='["b"]'), {}))
    links = re.findall(r'<a href="([^"]+)"(?: rel="(prev|next)")?>', html)
    assert links == [
        ("/mi-area/empresas?q=ana", ""),
        ("/mi-area/empresas?before=%5B%22a%22%5D&amp;q=ana", "prev"),
        ("/mi-area/empresas?after=%5B%22b%22%5D&amp;q=ana", "next"),
    ]
    assert 'rel="prev"' not in first and 'rel="next"' in first

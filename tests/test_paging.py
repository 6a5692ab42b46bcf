"""Whole numbers from a query string: ASCII digits within bounds, nothing else."""

from __future__ import annotations

import pytest

from mgd.web.paging import MAX_PAGE, page_number, whole_number


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

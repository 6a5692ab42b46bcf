"""The usage half of the records import: CSV and JSONL files checked record by record (file, line, field),
all or nothing, idempotent by the operator's record id, the daily sums exact after every import."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from mgd.db import operator_scope
from mgd.tenants.records.validate import RecordsInvalid
from mgd.usage.models import UsageDaily, UsageRecord
from mgd.usage.records import import_usage, is_usage_file
from tests.factories import make_company, make_line
from tests.usage.helpers import daily_matches_records, record, write_csv, write_jsonl


@pytest.fixture
def lines(db_session):
    """Two companies, a line each (a second for the first)."""
    one, two = make_company(db_session), make_company(db_session)
    made = [make_line(db_session, one), make_line(db_session, one), make_line(db_session, two)]
    return one, two, made


def stored(session) -> list[UsageRecord]:
    with operator_scope(session, "test"):
        return session.scalars(select(UsageRecord).order_by(UsageRecord.record_id)).all()


def test_usage_files_are_known_by_their_name(tmp_path):
    assert is_usage_file(tmp_path / "usage.csv") and is_usage_file(tmp_path / "usage-2026-11.jsonl")
    assert not is_usage_file(tmp_path / "charges.csv") and not is_usage_file(tmp_path / "usage.json")


@pytest.mark.parametrize("writer", [write_csv, write_jsonl], ids=["csv", "jsonl"])
def test_records_are_imported_with_their_daily_sums_and_a_second_import_adds_nothing(
    db_session, lines, tmp_path, writer
):
    one, two, (a, b, c) = lines
    rows = [record(one.fiscal_id, a.number, n) for n in range(1, 6)]
    rows += [record(one.fiscal_id, b.number[3:], 6, kind="sms", units="1", duration_s="", cost_cents="15")]
    rows += [
        record(two.fiscal_id, c.number, 7, kind="data", bytes="1048576", duration_s="0", roaming_zone="eu"),
        record(two.fiscal_id, "0034" + c.number[3:], 8, direction="in", cost_cents="0", country="FR"),
    ]
    path = writer(tmp_path / ("usage." + ("csv" if writer is write_csv else "jsonl")), rows)
    counts = import_usage(db_session, [path])["usage_records"]
    assert (counts.created, counts.updated, counts.unchanged) == (8, 0, 0)
    records = stored(db_session)
    assert len(records) == 8
    first = records[0]
    assert (first.tenant_id, first.line_id, first.kind, first.duration_s, first.cost_cents) == (
        one.id,
        a.id,
        "voice",
        60,
        10,
    )
    assert first.started_at == datetime(2026, 11, 3, 8, 1, tzinfo=UTC)
    assert {r.line_id for r in records if r.kind == "sms"} == {b.id}
    assert [(r.bytes, r.roaming_zone, r.direction) for r in records if r.kind == "data"] == [
        (1048576, "eu", "out")
    ]
    assert daily_matches_records(db_session)
    with operator_scope(db_session, "test"):
        days = db_session.execute(
            select(UsageDaily.day, func.sum(UsageDaily.records)).group_by(UsageDaily.day)
        )
        assert dict(days.all()) == {date(2026, 11, 3): 8}

    again = import_usage(db_session, [path])["usage_records"]
    assert (again.created, again.updated, again.unchanged) == (0, 0, 8)
    assert len(stored(db_session)) == 8
    assert daily_matches_records(db_session)


def test_a_record_repeated_in_a_file_is_stored_once(db_session, lines, tmp_path):
    one, _two, (a, _b, _c) = lines
    rows = [
        record(one.fiscal_id, a.number, 1),
        record(one.fiscal_id, a.number, 2),
        record(one.fiscal_id, a.number, 1),
    ]
    counts = import_usage(db_session, [write_csv(tmp_path / "usage.csv", rows)])["usage_records"]
    assert (counts.created, counts.unchanged) == (2, 1)
    assert daily_matches_records(db_session)


def test_billing_a_record_moves_it_between_the_daily_sums(db_session, lines, tmp_path):
    one, _two, (a, _b, _c) = lines
    rows = [record(one.fiscal_id, a.number, n) for n in range(1, 4)]
    import_usage(db_session, [write_csv(tmp_path / "usage.csv", rows)])
    rows[0] |= {"billed": "true", "invoice_number": "FV-1"}
    rows[1] |= {"billed": "true"}
    counts = import_usage(db_session, [write_csv(tmp_path / "usage-billed.csv", rows)])["usage_records"]
    assert (counts.created, counts.updated, counts.unchanged) == (0, 2, 1)
    assert [(r.billed, r.invoice_number) for r in stored(db_session)] == [
        (True, "FV-1"),
        (True, None),
        (False, None),
    ]
    assert daily_matches_records(db_session)
    with operator_scope(db_session, "test"):
        sums = db_session.execute(select(UsageDaily.billed, UsageDaily.records, UsageDaily.cost_cents)).all()
    assert sorted(sums) == [(False, 1, 30), (True, 2, 30)]
    rows[1] |= {"invoice_number": "FV-2"}
    counts = import_usage(db_session, [write_csv(tmp_path / "usage-number.csv", rows)])["usage_records"]
    assert (counts.updated, counts.unchanged) == (1, 2)
    assert daily_matches_records(db_session)


BAD = [
    ("company", "B-1234567", "must be the company's fiscal ID as stored"),
    ("company", "", "is required"),
    ("line", "612 34 56 78", "must be a Spanish number"),
    ("record_id", "CDR 1", "must be 1 to 64 letters"),
    ("record_id", "X" * 65, "must be 1 to 64 letters"),
    ("started_at", "2026-11-03T10:00:00", "must be a date and time with its offset"),
    ("started_at", "2026-02-30T10:00:00+01:00", "is not a date of the calendar"),
    ("started_at", "1999-12-31T10:00:00+01:00", "must be between 2000-01-01 and tomorrow"),
    ("kind", "fax", "must be one of voice, sms, mms, data, premium"),
    ("direction", "both", "must be out or in"),
    ("destination", "9" * 41, "must be at most 40 characters"),
    ("country", "es", "must be a country code of ISO 3166"),
    ("roaming_zone", "mars", "must be empty (at home) or one of eu, world1, world2"),
    ("duration_s", "-1", "must be a whole number from 0 to 999999999"),
    ("bytes", "1.5", "must be a whole number from 0 to 999999999999999"),
    ("units", "x", "must be a whole number from 0 to 999999999"),
    ("cost_cents", "12,50", "must be a whole number from 0 to 999999999 (cents)"),
    ("cost_cents", "", "is required"),
    ("billed", "yes", "must be true or false"),
    ("invoice_number", "FV-1", "only a billed record has an invoice number"),
]


@pytest.mark.parametrize("writer", [write_csv, write_jsonl], ids=["csv", "jsonl"])
@pytest.mark.parametrize("case", BAD, ids=[f"{f}={v[:12]}" for f, v, _ in BAD])
def test_each_field_is_checked_and_a_file_with_an_error_imports_nothing(
    db_session, lines, tmp_path, case, writer
):
    field, value, rule = case
    one, _two, (a, _b, _c) = lines
    rows = [record(one.fiscal_id, a.number, 1), record(one.fiscal_id, a.number, 2) | {field: value}]
    rows += [record(one.fiscal_id, a.number, n) for n in range(3, 6)]
    name = "usage." + ("csv" if writer is write_csv else "jsonl")
    with pytest.raises(RecordsInvalid) as raised:
        import_usage(db_session, [writer(tmp_path / name, rows)])
    line = 3 if writer is write_csv else 2  # a CSV file's header is its line 1
    assert [str(e).split(" — ")[0].split(": ")[:2] for e in raised.value.errors] == [
        [f"{name} line {line}", field]
    ]
    assert rule in str(raised.value.errors[0])
    assert stored(db_session) == []
    assert daily_matches_records(db_session)


@pytest.mark.parametrize("writer", [write_csv, write_jsonl], ids=["csv", "jsonl"])
def test_a_valid_file_is_checked_in_one_pass_of_sql_on_postgresql(
    db_session, lines, tmp_path, writer, caplog
):
    """PostgreSQL copies the file as it is and checks it in SQL; the record-by-record checker never runs."""
    one, _two, (a, _b, _c) = lines
    rows = [record(one.fiscal_id, a.number, n) for n in range(1, 4)]
    path = writer(tmp_path / ("usage." + ("csv" if writer is write_csv else "jsonl")), rows)
    with caplog.at_level(logging.INFO, logger="mgd.usage.records"):
        counts = import_usage(db_session, [path])["usage_records"]
    assert counts.created == 3
    postgres = db_session.get_bind().dialect.name == "postgresql"
    assert ("checked in SQL" in caplog.text) is postgres
    assert "refused" not in caplog.text


def test_jsonl_values_are_taken_as_the_checker_takes_them(db_session, lines, tmp_path):
    """Blank lines count as lines, escapes are decoded, numbers and booleans are their texts, null is empty."""
    one, _two, (a, _b, _c) = lines
    path = tmp_path / "usage.jsonl"
    destination = 'caf\u00e9 "7" \\ x'  # in the file: "caf\\u00e9 \\"7\\" \\\\ x"
    first = record(one.fiscal_id, a.number, 1) | {"destination": destination, "billed": True}
    second = record(one.fiscal_id, a.number, 2) | {"duration_s": 120, "cost_cents": 0, "country": None}
    path.write_text("\n".join(["", json.dumps(first), "  ", json.dumps(second), ""]), encoding="utf-8")
    counts = import_usage(db_session, [path])["usage_records"]
    assert counts.created == 2
    one_, two_ = stored(db_session)
    assert (one_.destination, one_.billed) == (destination, True)
    assert (two_.duration_s, two_.cost_cents, two_.country) == (120, 0, None)
    assert daily_matches_records(db_session)

    bad = record(one.fiscal_id, a.number, 3) | {"units": 2.0}
    path.write_text("\n\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(RecordsInvalid) as raised:
        import_usage(db_session, [path])
    assert [str(e).split(" — ")[0] for e in raised.value.errors] == ['usage.jsonl line 3: units: "2.0"']


def test_a_jsonl_line_that_is_no_object_of_usage_records_is_named(db_session, lines, tmp_path):
    one, _two, (a, _b, _c) = lines
    good = json.dumps(record(one.fiscal_id, a.number, 1))
    path = tmp_path / "usage-bad.jsonl"
    path.write_text("\n".join([good, "[1, 2]", "{not json", '"text"', good[:-1] + ', "x": 1}']) + "\n")
    with pytest.raises(RecordsInvalid) as raised:
        import_usage(db_session, [path])
    assert [str(e).split(" — ")[0] for e in raised.value.errors] == [
        "usage-bad.jsonl line 2: null",
        "usage-bad.jsonl line 3: null",
        "usage-bad.jsonl line 4: null",
        "usage-bad.jsonl line 5: x: 1",
    ]
    assert stored(db_session) == []


def test_new_records_of_days_already_summed_are_added_to_their_sums(db_session, lines, tmp_path):
    one, _two, (a, b, _c) = lines
    rows = [record(one.fiscal_id, a.number, n) for n in range(1, 4)]
    import_usage(db_session, [write_jsonl(tmp_path / "usage.jsonl", rows)])
    rows += [record(one.fiscal_id, a.number, n) for n in range(4, 6)]
    rows += [record(one.fiscal_id, b.number, 6, kind="sms", units="1", duration_s="0")]
    counts = import_usage(db_session, [write_csv(tmp_path / "usage-more.csv", rows)])["usage_records"]
    assert (counts.created, counts.updated, counts.unchanged) == (3, 0, 3)
    assert daily_matches_records(db_session)
    with operator_scope(db_session, "test"):
        sums = db_session.execute(select(UsageDaily.kind, UsageDaily.records, UsageDaily.duration_s)).all()
    assert sorted(sums) == [("sms", 1, 0), ("voice", 5, 60 * 15)]


def test_data_is_never_incoming_and_jsonl_fields_are_checked_too(db_session, lines, tmp_path):
    one, _two, (a, _b, _c) = lines
    rows = [
        record(one.fiscal_id, a.number, 1, kind="data", direction="in"),
        record(one.fiscal_id, a.number, 2) | {"cost_cents": 1.5},
        record(one.fiscal_id, a.number, 3) | {"colour": "red"},
    ]
    with pytest.raises(RecordsInvalid) as raised:
        import_usage(db_session, [write_jsonl(tmp_path / "usage.jsonl", rows)])
    assert [str(e).split(" — ")[0] for e in raised.value.errors] == [
        'usage.jsonl line 1: direction: "in"',
        'usage.jsonl line 2: cost_cents: "1.5"',
        'usage.jsonl line 3: colour: "red"',
    ]


def test_the_company_and_its_line_must_be_stored(db_session, lines, tmp_path):
    one, _two, (a, _b, c) = lines
    rows = [
        record(one.fiscal_id, a.number, 1),
        record("B00000000", a.number, 2),
        record(one.fiscal_id, c.number, 3),  # the other company's line
    ]
    with pytest.raises(RecordsInvalid) as raised:
        import_usage(db_session, [write_csv(tmp_path / "usage.csv", rows)])
    assert [str(e) for e in raised.value.errors] == [
        'usage.csv line 3: company: "B00000000" — no company has this fiscal ID',
        f'usage.csv line 4: line: "{c.number}" — the company has no line with this number',
    ]
    assert stored(db_session) == []


def test_a_csv_header_must_name_known_fields_and_the_required_ones(db_session, lines, tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text("company,line,record_id,started_at,kind,colour\n", encoding="utf-8")
    with pytest.raises(RecordsInvalid) as raised:
        import_usage(db_session, [path])
    assert [str(e).split(" — ")[0] for e in raised.value.errors] == [
        'usage.csv line 1: colour: "colour"',
        "usage.csv line 1: cost_cents: null",
    ]


@pytest.mark.parametrize("writer", [write_csv, write_jsonl], ids=["csv", "jsonl"])
def test_a_line_that_would_end_a_copy_is_named_and_nothing_is_left_out(db_session, lines, tmp_path, writer):
    r"""A line ``\.`` ends the data of PostgreSQL's ``COPY``: the file is never copied with one (the records
    after it would be left out), and the checker names it."""
    one, _two, (a, _b, _c) = lines
    name = "usage." + ("csv" if writer is write_csv else "jsonl")
    path = writer(tmp_path / name, [record(one.fiscal_id, a.number, n) for n in range(1, 4)])
    text = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join([*text[:2], "\\.\n", *text[2:]]), encoding="utf-8")
    with pytest.raises(RecordsInvalid) as raised:
        import_usage(db_session, [path])
    assert [str(e).split(" — ")[0] for e in raised.value.errors] == [
        f"{name} line 3: 1" if writer is write_csv else f"{name} line 3: null"
    ]
    assert stored(db_session) == []

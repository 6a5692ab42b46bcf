# ruff: noqa: S608 (every SQL text here is built from this module's own names, values are parameters)
"""The usage half of ``mgd records import``: files of usage records (``usage*.csv``, ``usage*.jsonl``), each
checked whole, then written with the daily sums, or ``RecordsInvalid`` naming every problem and nothing
written. Flushes, never commits (the command commits or rolls back). The format: ``docs/usage.md``.

Each file goes to a temporary staging table, is resolved there (company, line, repeats) and written set-wise:
new records inserted, records already stored (same company, record id and start) left as they are but for
their ``billed`` flag and invoice number, and ``usage_daily`` changed by exactly what was written.

On PostgreSQL a file is copied as it is into a table of texts (``COPY``, no Python per record: a CSV file's
fields as columns, a JSONL file's lines as one text each, read with ``json_to_record``) and checked there in
one pass of SQL; only when that pass finds something wrong is the file read again by the checker below, which
names each problem with its line and field. Every file on SQLite is read by the checker directly.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Identity,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mgd.db import UTCDateTime, operator_scope, utcnow
from mgd.tenants.records.validate import MAX_ERRORS, RecordError, RecordsInvalid
from mgd.usage.models import DIRECTIONS, KINDS, ROAMING_ZONES
from mgd.usage.partitions import MADRID, ensure_partitions

log = logging.getLogger(__name__)

SUFFIXES = (".csv", ".jsonl")
_NAME = re.compile(r"usage(?:[-_.].*)?")
BUFFER = 10_000

#: The fields of a usage record, in the staging table's order; the required ones first.
FIELDS = (
    "company",
    "line",
    "record_id",
    "started_at",
    "kind",
    "cost_cents",
    "direction",
    "destination",
    "country",
    "roaming_zone",
    "duration_s",
    "bytes",
    "units",
    "billed",
    "invoice_number",
)
REQUIRED = FIELDS[:6]
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
#: How far in the future a record may start (clocks of the mediation system a little ahead).
FUTURE = timedelta(days=1)

# The rules of the checker; the SQL pass (``_CHECKS``) states the same ones without regular expressions.
COMPANY = r"^[A-Z0-9]{9}$"
LINE = r"^(\+34|0034)?[6789][0-9]{8}$"
RECORD_ID = r"^[!-~]{1,64}$"
STARTED_AT = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
COUNTRY = r"^[A-Z]{2}$"
WHOLE = {"duration_s": 9, "units": 9, "cost_cents": 9, "bytes": 15}  # digits at most
TRUE, FALSE = ("true", "1"), ("false", "0")
MAX_LENGTH = {"destination": 40, "invoice_number": 40}

RULES = {
    "company": "must be the company's fiscal ID as stored: 9 capital letters and digits (B12345674)",
    "line": "must be a Spanish number: nine digits, +34 or 0034 before them allowed, nothing else",
    "record_id": "must be 1 to 64 letters, digits or signs, without spaces",
    "started_at": "must be a date and time with its offset from UTC, e.g. 2026-11-03T10:15:00+01:00",
    "kind": f"must be one of {', '.join(KINDS)}",
    "direction": f"must be {' or '.join(DIRECTIONS)} (data and premium records are out)",
    "country": "must be a country code of ISO 3166: two capital letters",
    "roaming_zone": f"must be empty (at home) or one of {', '.join(ROAMING_ZONES)}",
    "billed": "must be true or false",
    "invoice_number": "only a billed record has an invoice number",
}


def whole_rule(field: str) -> str:
    return f"must be a whole number from 0 to {10 ** WHOLE[field] - 1}" + (
        " (cents)" if field == "cost_cents" else ""
    )


def is_usage_file(path: Path) -> bool:
    """A usage file, by its name: ``usage.csv``, ``usage-2026-11.jsonl``…"""
    return path.suffix.lower() in SUFFIXES and bool(_NAME.fullmatch(path.stem.lower()))


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class Record:
    """A checked record, as staged: the line number as stored (E.164), the start in UTC, its Madrid day."""

    line_no: int
    company: str
    number: str
    record_id: str
    started_at: datetime
    day: date
    kind: str
    direction: str
    destination: str | None
    country: str | None
    roaming_zone: str | None
    duration_s: int
    bytes: int
    units: int
    cost_cents: int
    billed: bool
    invoice_number: str | None


class Errors:
    def __init__(self) -> None:
        self.kept: list[RecordError] = []
        self.total = 0

    def add(self, place: str, value: Any, rule: str) -> None:
        self.total += 1
        if len(self.kept) < MAX_ERRORS:
            self.kept.append(RecordError(place, value, rule))


_patterns = {
    name: re.compile(pattern)
    for name, pattern in (
        ("company", COMPANY),
        ("line", LINE),
        ("record_id", RECORD_ID),
        ("started_at", STARTED_AT),
        ("country", COUNTRY),
    )
}


def check(  # noqa: PLR0912 (one branch per rule, in the order of the documentation)
    values: dict[str, str | None], place: str, errors: Errors, now: datetime
) -> Record | None:
    """One record's fields (texts; None or "" for absent) checked: the record, or None (errors added)."""
    before = errors.total

    def fail(field: str, rule: str) -> None:
        errors.add(f"{place}: {field}", values.get(field), rule)

    for field in REQUIRED:
        if not values.get(field):
            fail(field, "is required")
    for field in ("company", "line", "record_id", "country"):
        value = values.get(field)
        if value and not _patterns[field].fullmatch(value):
            fail(field, RULES[field])
    started = None
    value = values.get("started_at")
    if value:
        if not _patterns["started_at"].fullmatch(value):
            fail("started_at", RULES["started_at"])
        else:
            try:
                started = datetime.fromisoformat(value).astimezone(UTC)
            except ValueError:
                fail("started_at", "is not a date of the calendar")
            else:
                if started < EARLIEST or started > now + FUTURE:
                    fail("started_at", "must be between 2000-01-01 and tomorrow")
    kind = values.get("kind")
    if kind and kind not in KINDS:
        fail("kind", RULES["kind"])
    direction = values.get("direction") or "out"
    if direction not in DIRECTIONS or (direction == "in" and kind in ("data", "premium")):
        fail("direction", RULES["direction"])
    zone = values.get("roaming_zone") or None
    if zone is not None and zone not in ROAMING_ZONES:
        fail("roaming_zone", RULES["roaming_zone"])
    numbers = {}
    for field, digits in WHOLE.items():
        value = values.get(field) or ("" if field == "cost_cents" else "0")
        if value and (not value.isascii() or not value.isdigit() or len(value) > digits):
            fail(field, whole_rule(field))
        else:
            numbers[field] = int(value or 0)
    billed_text = (values.get("billed") or "false").lower()
    if billed_text not in TRUE + FALSE:
        fail("billed", RULES["billed"])
    billed = billed_text in TRUE
    for field, length in MAX_LENGTH.items():
        value = values.get(field)
        if value and len(value) > length:
            fail(field, f"must be at most {length} characters")
    invoice = values.get("invoice_number") or None
    if invoice is not None and not billed:
        fail("invoice_number", RULES["invoice_number"])
    if errors.total > before:
        return None
    number = values["line"]
    return Record(
        0,
        values["company"],
        "+34" + number[-9:],
        values["record_id"],
        started,
        started.astimezone(MADRID).date(),
        kind,
        direction,
        values.get("destination") or None,
        values.get("country") or None,
        zone,
        numbers["duration_s"],
        numbers["bytes"],
        numbers["units"],
        numbers["cost_cents"],
        billed,
        invoice,
    )


# ---- files -----------------------------------------------------------------------------------------------


class UsageFile:
    """One CSV (with a header line naming its fields) or JSONL file of usage records."""

    def __init__(self, path: Path) -> None:
        self.path, self.name = path, path.name
        self.is_csv = path.suffix.lower() == ".csv"

    def place(self, line: int) -> str:
        return f"{self.name} line {line}"

    def header(self, errors: Errors) -> list[str] | None:
        """The CSV header's fields, checked (None after errors)."""
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            try:
                names = [name.strip() for name in next(csv.reader(handle), [])]
            except (UnicodeDecodeError, csv.Error) as exc:
                errors.add(self.place(1), None, f"not a CSV header line ({exc})")
                return None
        before = errors.total
        if not names:
            errors.add(
                self.place(1), None, "is empty: a CSV file starts with a header line naming its fields"
            )
        for name in names:
            if name not in FIELDS:
                errors.add(
                    f"{self.place(1)}: {name}", name, f"is not a field of usage records ({FIELDS_TEXT})"
                )
        for name in {name for name in names if names.count(name) > 1}:
            errors.add(f"{self.place(1)}: {name}", name, "is named twice in the header")
        for name in REQUIRED:
            if names and name not in names:
                errors.add(f"{self.place(1)}: {name}", None, "is a required field missing from the header")
        return names if errors.total == before else None

    def rows(self, errors: Errors) -> Iterator[tuple[int, dict[str, str | None]]]:
        """(line, fields as texts) of every record, streamed."""
        yield from (self._csv(errors) if self.is_csv else self._jsonl(errors))

    def _csv(self, errors: Errors) -> Iterator[tuple[int, dict[str, str | None]]]:
        names = self.header(errors)
        if names is None:
            return
        width = len(names)
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            try:
                next(reader)
                for values in reader:
                    if len(values) == width:
                        yield reader.line_num, dict(zip(names, values, strict=True))
                    elif values:
                        rule = f"has this many fields; the header has {width}"
                        errors.add(self.place(reader.line_num), len(values), rule)
            except UnicodeDecodeError as exc:
                errors.add(self.place(reader.line_num + 1), None, f"not UTF-8 text ({exc.reason})")
            except csv.Error as exc:
                errors.add(self.place(reader.line_num), None, f"not CSV: {exc}")

    def _jsonl(self, errors: Errors) -> Iterator[tuple[int, dict[str, str | None]]]:
        with self.path.open("rb") as handle:
            for line, raw in enumerate(handle, 1):
                if not raw.strip():
                    continue
                try:
                    document = json.loads(raw)
                except (UnicodeDecodeError, ValueError) as exc:
                    errors.add(self.place(line), None, f"not a JSON object ({exc})")
                    continue
                if not isinstance(document, dict):
                    errors.add(self.place(line), None, "not a JSON object")
                    continue
                unknown = [name for name in document if name not in FIELDS]
                for name in unknown:
                    errors.add(
                        f"{self.place(line)}: {name}", document[name], "is not a field of usage records"
                    )
                if not unknown:
                    yield line, {name: _text(value) for name, value in document.items()}


FIELDS_TEXT = ", ".join(FIELDS)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)  # a float, a list…: refused by the rule of its field


# ---- staging and writing ---------------------------------------------------------------------------------

_meta = MetaData()
RAW = Table(
    "stage_usage_raw",
    _meta,
    # COPY keeps the file's order and leaves this column to its default: the n-th record is line n + 1.
    Column("line_no", BigInteger, Identity(start=2)),
    *(Column(name, Text) for name in FIELDS),
    prefixes=["TEMPORARY"],
)
#: A JSONL file as it is: one text per line (``line_no`` counts from 1, blank lines included).
RAW_JSON = Table(
    "stage_usage_json",
    _meta,
    Column("line_no", BigInteger, Identity(start=1)),
    Column("doc", Text),
    prefixes=["TEMPORARY"],
)
STAGE = Table(
    "stage_usage",
    _meta,
    Column("line_no", BigInteger),
    Column("company", String(12)),
    Column("number", String(16)),
    Column("record_id", String(64)),
    Column("started_at", UTCDateTime),
    Column("day", Date),
    Column("kind", String(10)),
    Column("direction", String(10)),
    Column("destination", String(40)),
    Column("country", String(2)),
    Column("roaming_zone", String(10)),
    Column("duration_s", Integer),
    Column("bytes", BigInteger),
    Column("units", Integer),
    Column("cost_cents", Integer),
    Column("billed", Boolean),
    Column("invoice_number", String(40)),
    Column("tenant_id", BigInteger),
    Column("line_id", BigInteger),
    Column("stored", Boolean),  # already stored: only billed and invoice_number may change
    prefixes=["TEMPORARY"],
)
_STAGED = [column.name for column in STAGE.columns][:17]


def import_usage(session: Session, paths: list[Path]) -> dict[str, Counts]:
    """Import every usage file of ``paths`` (one transaction, the caller's), or raise ``RecordsInvalid``."""
    counts = Counts()
    with operator_scope(session, "records import: usage"):
        for path in paths:
            written = import_file(session, UsageFile(path), utcnow())
            counts.created += written.created
            counts.updated += written.updated
            counts.unchanged += written.unchanged
    return {"usage_records": counts}


def import_file(session: Session, source: UsageFile, now: datetime) -> Counts:
    started = time.perf_counter()
    postgres = session.get_bind().dialect.name == "postgresql"
    connection = session.connection()
    for table in (RAW, RAW_JSON, STAGE):
        table.drop(connection, checkfirst=True)
    STAGE.create(connection)
    if postgres:  # one import of usage at a time: what is stored and the daily sums move together
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('mgd usage import'))"))
        # The daily sums of a big file are grouped in memory rather than in batches on disk.
        session.execute(text("SELECT set_config('work_mem', '256MB', true)"))
    if not (postgres and _stage_copied(session, source, now)):
        _stage_checked(session, source, now, postgres)
    read = time.perf_counter()
    if postgres:
        session.execute(text("ANALYZE stage_usage"))  # temporary tables get no statistics by themselves
    _check_lines(session, source)
    resolved = time.perf_counter()
    counts = _write(session, postgres)
    STAGE.drop(session.connection())
    session.flush()
    log.info(
        "usage import %s: %s new, %s updated, %s unchanged; staged in %.1f s, lines resolved in %.1f s,"
        " written in %.1f s",
        source.name,
        counts.created,
        counts.updated,
        counts.unchanged,
        read - started,
        resolved - read,
        time.perf_counter() - resolved,
    )
    return counts


def _stage_checked(session: Session, source: UsageFile, now: datetime, postgres: bool) -> None:
    """Read and check every record in Python; stage them, or raise with every problem."""
    errors = Errors()
    buffer: list[tuple] = []
    copy = _Copy(session, STAGE, _STAGED) if postgres else None
    try:
        for line, values in source.rows(errors):
            record = check(values, source.place(line), errors, now)
            if record is None or errors.total:
                continue
            buffer.append((line, *_values(record)[1:]))
            if len(buffer) >= BUFFER:
                _send(session, copy, buffer)
        if not errors.total:
            _send(session, copy, buffer)
    finally:
        if copy is not None:
            copy.close()
    if errors.total:
        raise RecordsInvalid(errors.kept, errors.total)


def _values(record: Record) -> tuple:
    return tuple(getattr(record, name) for name in Record.__dataclass_fields__)


def _send(session: Session, copy: _Copy | None, rows: list[tuple]) -> None:
    if copy is not None:
        copy.write(rows)
    elif rows:
        session.execute(insert(STAGE), [dict(zip(_STAGED, row, strict=True)) for row in rows])
    rows.clear()


class _Copy:
    """A ``COPY … FROM STDIN`` kept open on the session's own connection and transaction."""

    def __init__(self, session: Session, table: Table, columns: list[str], options: str = "") -> None:
        raw = session.connection().connection.dbapi_connection
        self._context = raw.cursor().copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN {options}")
        self.copy = self._context.__enter__()

    def write(self, rows: list[tuple]) -> None:
        for row in rows:
            self.copy.write_row(row)

    def close(self, *exc_info) -> None:
        self._context.__exit__(*(exc_info or (None, None, None)))


def _stage_copied(session: Session, source: UsageFile, now: datetime) -> bool:
    """PostgreSQL: the file copied as it is into a table of texts (a CSV file's fields, or a JSONL file's
    lines), checked by one pass of SQL, and staged typed; False (nothing staged) when anything is wrong, for
    the checker to name it."""
    if source.is_csv:
        errors = Errors()
        names = source.header(errors)
        if names is None:
            raise RecordsInvalid(errors.kept, errors.total)
        table, columns, options, skip = RAW, names, "(FORMAT csv)", True
    else:
        # One text per line: CSV with a delimiter and a quote that valid JSON never holds unescaped (control
        # characters), so nothing in the line is special; an empty line is NULL.
        table, columns, options, skip = (
            RAW_JSON,
            ["doc"],
            r"(FORMAT csv, DELIMITER E'\x02', QUOTE E'\x01')",
            False,
        )
    started = time.perf_counter()
    try:
        with session.begin_nested():  # undone whole when anything is wrong
            table.create(session.connection())
            copy = _Copy(session, table, columns, options)
            try:
                with source.path.open("rb") as handle:
                    if skip:
                        handle.readline()  # the header, read above
                    before = b"\n"  # the end of what was sent, for a marker across two reads
                    while chunk := handle.read(1 << 20):
                        if _END_OF_COPY.search(before + chunk):
                            raise _Refused("a line \\. (COPY would end there)")
                        copy.copy.write(chunk)
                        before = chunk[-3:]
            except BaseException as exc:
                copy.close(type(exc), exc, exc.__traceback__)
                raise
            copy.close()
            copied = time.perf_counter()
            params = {"now": now, "earliest": EARLIEST, "future": FUTURE}
            if source.is_csv:
                total = session.execute(text("SELECT count(*) FROM stage_usage_raw")).scalar_one()
                typed = session.execute(text(_TYPED), params).rowcount
            else:
                total = session.execute(
                    text(f"SELECT count(*) FROM stage_usage_json WHERE {_FILLED}")
                ).scalar_one()
                typed = session.execute(text(_TYPED_JSON), params).rowcount
            if typed != total:
                raise _Refused("a record breaks a rule")
            table.drop(session.connection())
            log.info(
                "usage import %s: copied in %.1f s, checked in SQL in %.1f s",
                source.name,
                copied - started,
                time.perf_counter() - copied,
            )
    except Exception as exc:
        log.info("usage import %s: the SQL pass refused it (%s); checking record by record", source.name, exc)
        return False
    return True


class _Refused(Exception):
    pass


#: A line ``\.`` alone ends the data of a ``COPY`` (the rest would be left out silently): never copied.
_END_OF_COPY = re.compile(rb"\n\\\.(?:\r?\n|\r|$)")


def _blank(name: str) -> str:
    return f"NULLIF({name}, '')"


# Every rule of ``check`` over the texts copied: a row that breaks one is not staged (the counts then differ).
_ZONES = ", ".join(repr(z) for z in ROAMING_ZONES)


def _only(expression: str, characters: str) -> str:
    """SQL: ``expression`` holds only ``characters`` (a class of ``[]``). One negated class is the cheap kind
    of PostgreSQL regular expression (anchored ones with counts cost several microseconds each)."""
    return f"{expression} !~ '[^{characters}]'"


_DIGITS = "0-9"
_CAPITALS = "A-Z"
_PRINTABLE = "!-~"  # RECORD_ID's class
# STARTED_AT as a shape, its digits made 9: the date and time, then an optional fraction and the offset.
_ZONE_SHAPES = ("Z", "+99:99", "-99:99")
_TAIL_SHAPES = [*_ZONE_SHAPES, *("." + "9" * n + zone for n in range(1, 7) for zone in _ZONE_SHAPES)]
_CHECKS = " AND ".join(
    [
        *(f"{_blank(name)} IS NOT NULL" for name in REQUIRED),
        f"length(company) = 9 AND {_only('company', _CAPITALS + _DIGITS)}",
        "length(line) >= 9 AND left(line, -9) IN ('', '+34', '0034') AND left(right(line, 9), 1) IN"
        f" ('6', '7', '8', '9') AND {_only('right(line, 9)', _DIGITS)}",
        f"length(record_id) <= 64 AND {_only('record_id', _PRINTABLE)}",
        f"kind IN ({', '.join(repr(k) for k in KINDS)})",
        f"coalesce({_blank('direction')}, 'out') IN ('out', 'in')",
        f"NOT (coalesce({_blank('direction')}, 'out') = 'in' AND kind IN ('data', 'premium'))",
        f"({_blank('country')} IS NULL OR (length(country) = 2 AND {_only('country', _CAPITALS)}))",
        f"({_blank('roaming_zone')} IS NULL OR roaming_zone IN ({_ZONES}))",
        *(
            f"({_blank(name)} IS NULL OR (length({name}) <= {digits} AND {_only(name, _DIGITS)}))"
            for name, digits in WHOLE.items()
        ),
        f"({_blank('billed')} IS NULL OR lower(billed) IN ('true', 'false', '1', '0'))",
        *(f"coalesce(length({name}), 0) <= {length}" for name, length in MAX_LENGTH.items()),
        f"({_blank('invoice_number')} IS NULL OR lower(billed) IN ('true', '1'))",
    ]
)
_SHAPED = (
    "left(shape, 19) IN ('9999-99-99T99:99:99', '9999-99-99 99:99:99')"
    f" AND substr(shape, 20) IN ({', '.join(repr(tail) for tail in _TAIL_SHAPES)})"
)
# Each text computed once (``OFFSET 0`` keeps the planner from folding a subquery's expressions into every
# condition that names them: the shape and the time were computed two and three times a record); the time is
# read only from a text of its shape. NULL (refused) when the shape is wrong.
_TYPED_SELECT = f"""
INSERT INTO stage_usage (line_no, company, number, record_id, started_at, day, kind, direction, destination,
    country, roaming_zone, duration_s, bytes, units, cost_cents, billed, invoice_number)
SELECT line_no, company, '+34' || right(line, 9), record_id, at, (at AT TIME ZONE 'Europe/Madrid')::date,
    kind,
    coalesce({_blank("direction")}, 'out'), {_blank("destination")}, {_blank("country")},
    {_blank("roaming_zone")}, coalesce({_blank("duration_s")}, '0')::integer,
    coalesce({_blank("bytes")}, '0')::bigint, coalesce({_blank("units")}, '0')::integer, cost_cents::integer,
    coalesce(lower(billed) IN ('true', '1'), false), {_blank("invoice_number")}
FROM (SELECT *, CASE WHEN {_SHAPED} THEN started_at::timestamptz END AS at FROM (
    SELECT *, translate(started_at, '0123456789', '9999999999') AS shape FROM {{source}} OFFSET 0
) shaped WHERE {_CHECKS} OFFSET 0) checked
WHERE at >= :earliest AND at <= CAST(:now AS timestamptz) + :future
"""
_TYPED = _TYPED_SELECT.format(source="stage_usage_raw")
# A JSONL line holds something: Python's ``bytes.strip`` whitespace aside (the checker skips the others).
_FILLED = r"doc IS NOT NULL AND btrim(doc, E' \t\n\r\x0b\x0c') <> ''"
# The lines' objects as the same texts: a JSON string as its value, a number as written, true and false as
# such, null as NULL. A line that is no object, or not JSON, fails the statement (the checker names it); one
# with a field not of usage records is left out (the counts then differ).
_TYPED_JSON = _TYPED_SELECT.format(
    source=f"""(
        SELECT j.line_no, r.* FROM stage_usage_json j,
            json_to_record(j.doc::json) AS r({", ".join(f"{name} text" for name in FIELDS)})
        WHERE {_FILLED} AND NOT EXISTS (
            SELECT FROM json_object_keys(j.doc::json) AS k (name)
            WHERE k.name NOT IN ({", ".join(repr(name) for name in FIELDS)})
        )
    ) AS documents"""
)


# ---- companies and lines -----------------------------------------------------------------------------------

_RESOLVED = (
    "stage_usage s JOIN companies c ON c.fiscal_id = s.company"
    " JOIN lines l ON l.tenant_id = c.id AND l.number = s.number"
)


def _check_lines(session: Session, source: UsageFile) -> None:
    """Every record names a stored company and one of its lines, or ``RecordsInvalid``."""
    rows = session.execute(
        text(
            "SELECT s.line_no, s.company, s.number, c.id FROM stage_usage s"
            " LEFT JOIN companies c ON c.fiscal_id = s.company"
            " WHERE c.id IS NULL OR NOT EXISTS"
            " (SELECT 1 FROM lines l WHERE l.tenant_id = c.id AND l.number = s.number)"
            " ORDER BY s.line_no LIMIT :limit"
        ),
        {"limit": MAX_ERRORS + 1},
    ).all()
    if not rows:
        return
    errors = [
        RecordError(f"{source.place(line)}: company", company, "no company has this fiscal ID")
        if tenant_id is None
        else RecordError(f"{source.place(line)}: line", number, "the company has no line with this number")
        for line, company, number, tenant_id in rows
    ]
    total = len(errors)
    if total > MAX_ERRORS:
        total = session.execute(
            text(
                "SELECT count(*) FROM stage_usage s LEFT JOIN companies c ON c.fiscal_id = s.company"
                " WHERE c.id IS NULL OR NOT EXISTS"
                " (SELECT 1 FROM lines l WHERE l.tenant_id = c.id AND l.number = s.number)"
            )
        ).scalar_one()
    raise RecordsInvalid(errors[:MAX_ERRORS], total)


# ---- writing ---------------------------------------------------------------------------------------------

_RECORD_COLUMNS = (
    "tenant_id, line_id, record_id, started_at, kind, direction, destination, country, roaming_zone,"
    " duration_s, bytes, units, cost_cents, billed, invoice_number"
)
_FROM_STAGE = (
    "l.tenant_id, l.id AS line_id, s.record_id, s.started_at, s.kind, s.direction, s.destination, s.country,"
    " s.roaming_zone, s.duration_s, s.bytes, s.units, s.cost_cents, s.billed, s.invoice_number"
)
_DAILY_KEY = "tenant_id, line_id, day, kind, direction, billed, roaming"
_MEASURES = ("records", "duration_s", "bytes", "units", "cost_cents")


def _add_daily(source: str, day: str, billed: str = "billed") -> str:
    """Add the records of ``source`` (a table or CTE of records) to their daily sums."""
    return (
        f"INSERT INTO usage_daily ({_DAILY_KEY}, {', '.join(_MEASURES)})"
        f" SELECT tenant_id, line_id, {day}, kind, direction, {billed}, roaming_zone IS NOT NULL, count(*),"
        " sum(duration_s), sum(bytes), sum(units), sum(cost_cents)"
        f" FROM {source} WHERE true GROUP BY tenant_id, line_id, {day}, kind, direction, {billed},"
        " roaming_zone IS NOT NULL"
        f" ON CONFLICT ({_DAILY_KEY}) DO UPDATE SET "
        + ", ".join(f"{m} = usage_daily.{m} + excluded.{m}" for m in _MEASURES)
    )


_INSERT_POSTGRES = f"""
WITH new AS (
    INSERT INTO usage_records ({_RECORD_COLUMNS})
    SELECT {_FROM_STAGE} FROM {_RESOLVED}
    ON CONFLICT DO NOTHING
    RETURNING tenant_id, line_id, started_at, kind, direction, roaming_zone, billed, duration_s, bytes, units,
        cost_cents
), daily AS ({_add_daily("new", "(started_at AT TIME ZONE 'Europe/Madrid')::date")} RETURNING 1)
SELECT (SELECT count(*) FROM new)
"""
_SAME_DAILY = " AND ".join(f"d.{key} = g.{key}" for key in _DAILY_KEY.split(", "))
# The usual import: records not stored yet (an anti-join, cheap on new months) inserted plainly, with their
# daily sums from the same rows: the sums of days stored already added by an UPDATE, those of new days
# inserted plainly (``ON CONFLICT``'s speculative insertion costs a third more per row; both statements see
# the table as it was before, so each group goes one way). Imports take turns (an advisory lock), so nothing
# can come between; a record repeated in the file breaks the unique key, and the import then takes the
# ``ON CONFLICT`` way above.
_INSERT_NEW = f"""
WITH new AS MATERIALIZED (
    SELECT {_FROM_STAGE}, s.day FROM {_RESOLVED}
    WHERE NOT EXISTS (SELECT FROM usage_records u
        WHERE u.tenant_id = l.tenant_id AND u.record_id = s.record_id AND u.started_at = s.started_at)
), inserted AS (
    INSERT INTO usage_records ({_RECORD_COLUMNS}) SELECT {_RECORD_COLUMNS} FROM new
), grouped AS MATERIALIZED (
    SELECT tenant_id, line_id, day, kind, direction, billed, roaming_zone IS NOT NULL AS roaming,
        count(*) AS records, sum(duration_s) AS duration_s, sum(bytes) AS bytes, sum(units) AS units,
        sum(cost_cents) AS cost_cents
    FROM new GROUP BY tenant_id, line_id, day, kind, direction, billed, roaming_zone IS NOT NULL
), added AS (
    UPDATE usage_daily AS d SET {", ".join(f"{m} = d.{m} + g.{m}" for m in _MEASURES)}
    FROM grouped g WHERE {_SAME_DAILY}
), daily AS (
    INSERT INTO usage_daily ({_DAILY_KEY}, {", ".join(_MEASURES)})
    SELECT {_DAILY_KEY}, {", ".join(_MEASURES)} FROM grouped g
    WHERE NOT EXISTS (SELECT FROM usage_daily d WHERE {_SAME_DAILY})
    ORDER BY {_DAILY_KEY}
)
SELECT count(*) FROM new
"""


def _write(session: Session, postgres: bool) -> Counts:
    """Insert the new records and add them to the daily sums; update the billed state of stored ones."""
    staged = session.execute(text("SELECT count(*) FROM stage_usage")).scalar_one()
    if postgres:
        ensure_partitions(session, session.execute(text("SELECT DISTINCT day FROM stage_usage")).scalars())
        try:
            with session.begin_nested():
                created = session.execute(text(_INSERT_NEW)).scalar_one()
        except IntegrityError:
            created = session.execute(text(_INSERT_POSTGRES)).scalar_one()
    else:
        created = _insert_sqlite(session)
    updated = _rebill(session) if created < staged else 0
    return Counts(created, updated, staged - created - updated)


def _insert_sqlite(session: Session) -> int:
    """SQLite (one writer at a time): the staged records not stored yet, nor earlier in the file, are marked,
    inserted and summed."""
    session.execute(
        text(
            "UPDATE stage_usage SET tenant_id = (SELECT c.id FROM companies c WHERE c.fiscal_id = company),"
            " line_id = (SELECT l.id FROM companies c JOIN lines l ON l.tenant_id = c.id"
            "  WHERE c.fiscal_id = company AND l.number = stage_usage.number)"
        )
    )
    session.execute(text("CREATE INDEX ix_stage_usage_key ON stage_usage (tenant_id, record_id, started_at)"))
    session.execute(
        text(
            "UPDATE stage_usage SET stored = EXISTS (SELECT 1 FROM usage_records u"
            "  WHERE u.tenant_id = stage_usage.tenant_id AND u.record_id = stage_usage.record_id"
            "  AND u.started_at = stage_usage.started_at)"
            " OR EXISTS (SELECT 1 FROM stage_usage t WHERE t.tenant_id = stage_usage.tenant_id"
            "  AND t.record_id = stage_usage.record_id AND t.started_at = stage_usage.started_at"
            "  AND t.line_no < stage_usage.line_no)"
        )
    )
    created = session.execute(
        text(
            f"INSERT INTO usage_records ({_RECORD_COLUMNS}) SELECT tenant_id, line_id, record_id, started_at,"
            " kind, direction, destination, country, roaming_zone, duration_s, bytes, units, cost_cents,"
            " billed, invoice_number FROM stage_usage WHERE NOT stored ORDER BY line_no"
        )
    ).rowcount
    session.execute(text(_add_daily("(SELECT * FROM stage_usage WHERE NOT stored) AS new", "day")))
    return created


_MOVED = Table(
    "stage_usage_moved",
    _meta,
    Column("tenant_id", BigInteger),
    Column("line_id", BigInteger),
    Column("day", Date),
    Column("kind", String(10)),
    Column("direction", String(10)),
    Column("roaming_zone", String(10)),
    Column("billed", Boolean),  # the new state
    Column("duration_s", Integer),
    Column("bytes", BigInteger),
    Column("units", Integer),
    Column("cost_cents", Integer),
    prefixes=["TEMPORARY"],
)

_MATCH = "u.tenant_id = l.tenant_id AND u.record_id = s.record_id AND u.started_at = s.started_at"


def _rebill(session: Session) -> int:
    """Stored records whose billed state or invoice number the file changes: updated, and their measures moved
    from the daily sums of the old state to those of the new one. The number of records updated."""
    connection = session.connection()
    _MOVED.drop(connection, checkfirst=True)
    _MOVED.create(connection)
    session.execute(
        text(
            "INSERT INTO stage_usage_moved SELECT DISTINCT u.tenant_id, u.line_id, s.day, u.kind,"
            " u.direction, u.roaming_zone, s.billed, u.duration_s, u.bytes, u.units, u.cost_cents"
            f" FROM {_RESOLVED} JOIN usage_records u ON {_MATCH} WHERE u.billed <> s.billed"
        )
    )
    updated = session.execute(
        text(
            "UPDATE usage_records AS u SET billed = s.billed, invoice_number = s.invoice_number"
            f" FROM {_RESOLVED} WHERE {_MATCH}"
            " AND (u.billed <> s.billed OR coalesce(u.invoice_number, '') <> coalesce(s.invoice_number, ''))"
        )
    ).rowcount
    session.execute(text(_add_daily("stage_usage_moved", "day")))
    old = (
        "SELECT tenant_id, line_id, day, kind, direction, NOT billed AS billed, roaming_zone IS NOT NULL AS"
        " roaming, count(*) AS records, sum(duration_s) AS duration_s, sum(bytes) AS bytes,"
        " sum(units) AS units, sum(cost_cents) AS cost_cents FROM stage_usage_moved"
        " GROUP BY tenant_id, line_id, day, kind, direction, billed, roaming_zone IS NOT NULL"
    )
    same = " AND ".join(f"m.{key} = usage_daily.{key}" for key in _DAILY_KEY.split(", "))
    session.execute(
        text(
            f"UPDATE usage_daily SET ({', '.join(_MEASURES)}) = (SELECT "
            + ", ".join(f"usage_daily.{m} - m.{m}" for m in _MEASURES)
            + f" FROM ({old}) m WHERE {same}) WHERE EXISTS (SELECT 1 FROM ({old}) m WHERE {same})"
        )
    )
    session.execute(
        text(
            "DELETE FROM usage_daily WHERE records = 0 AND EXISTS (SELECT 1 FROM stage_usage_moved m"
            " WHERE m.tenant_id = usage_daily.tenant_id AND m.line_id = usage_daily.line_id"
            " AND m.day = usage_daily.day)"
        )
    )
    _MOVED.drop(connection)
    return updated

"""Lists as files, streamed as their rows are read: CSV, and Excel (``mgd.web.xlsx``); the first bytes leave
at once, memory stays flat whatever the number of rows, and no worker waits for a whole file.

A CSV is written as a spreadsheet in the reader's
language opens it: in Spanish with ``;`` between values and a decimal comma (``?sep=comma`` for ``,``), in
English with ``,`` and a decimal point; times are Madrid's. Excel columns can hold euros and dates as real
numbers and dates."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import Response, request, stream_with_context
from flask_babel import gettext as _
from flask_babel import to_user_timezone
from sqlalchemy.orm import Session

from mgd.db import READ_ONLY, database, set_tenant
from mgd.web.shell import BadParameter, current_language
from mgd.web.xlsx import stream_workbook


@contextmanager
def own_session(tenant_id: int | None) -> Iterator[Session]:
    """A session for rows read while a response streams, beside the request's own session (still open).

    It only reads: on SQLite it begins deferred, so it does not wait for the write lock of the request's
    transaction, held by this same thread (``mgd.db.READ_ONLY``).
    """
    with database().sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        if tenant_id is not None:
            set_tenant(session, tenant_id)
        yield session


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-[0-9]+(?:[.,][0-9]+)?")


@dataclass(frozen=True)
class CsvFormat:
    delimiter: str = ","
    decimal: str = "."


#: ``?sep=`` of an export: the separator asked for instead of the language's.
SEPARATORS = {"comma": ",", "semicolon": ";"}


def csv_format(args) -> CsvFormat:
    """The CSV of this request's language (Spanish: ``;`` and ``,`` for decimals), or the ``sep`` asked for;
    an unknown ``sep`` is a 400 that names it."""
    spanish = current_language() == "es"
    default = CsvFormat(";", ",") if spanish else CsvFormat(",", ".")
    asked = args.get("sep")
    if asked is None:
        return default
    if asked not in SEPARATORS:
        raise BadParameter("sep", _("Use sep=comma or sep=semicolon."))
    delimiter = SEPARATORS[asked]
    # A decimal comma inside values separated by commas would split them: it takes the point then.
    return CsvFormat(delimiter, "." if delimiter == "," else default.decimal)


def _local_time(value: object) -> object:
    if isinstance(value, datetime):
        return to_user_timezone(value).strftime("%Y-%m-%d %H:%M:%S")
    return value


def _cell(value: object, decimal: str = ".") -> object:
    """A value as a spreadsheet must show it: text that a spreadsheet would run as a formula (an alias typed
    as ``=HYPERLINK(...)``) is written with a leading apostrophe, as OWASP advises for CSV injection; a
    negative number (``-12,50``) is no formula and stays a number; numbers with the format's decimal mark;
    times in Madrid time."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    if isinstance(value, float | Decimal):
        return str(value).replace(".", decimal)
    return _local_time(value)


#: Rows are sent in pieces of about this many characters: one write to the socket a row would cost more
#: than writing the row.
CHUNK_CHARS = 32 * 1024


def _csv_chunks(header: list, rows: Iterable[list[object]], fmt: CsvFormat) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=fmt.delimiter)
    writer.writerow([str(name) for name in header])
    yield "\ufeff" + buffer.getvalue()  # a BOM, so that spreadsheet programs read the file as UTF-8
    buffer.seek(0)
    buffer.truncate()
    decimal = fmt.decimal
    for row in rows:
        writer.writerow([_cell(value, decimal) for value in row])
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(
    filename: str, header: list, rows: Iterable[list[object]], *, delimiter: str | None = None
) -> Response:
    """A CSV download streamed as ``rows`` are read, in the request's format (``csv_format``); a caller that
    writes its own decimal commas in its values passes the ``delimiter`` that goes with them."""
    fmt = csv_format(request.args)
    if delimiter is not None:
        fmt = CsvFormat(delimiter, fmt.decimal)
    return Response(
        stream_with_context(_csv_chunks(header, rows, fmt)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def xlsx_response(
    filename: str,
    sheet: str,
    header: list,
    rows: Iterable[list[object]],
    *,
    kinds: dict[int, str] | None = None,
) -> Response:
    """An Excel download, streamed as ``rows`` are read; ``kinds`` gives some columns (by index) a kind of
    ``mgd.web.xlsx.FORMATS``: their values (numbers, dates) are written as such, with that format; the other
    columns are then written as text. Without ``kinds``, times are written in Madrid time, as text."""
    if kinds:
        cells = ([v if i in kinds or v is None else str(v) for i, v in enumerate(row)] for row in rows)
    else:
        cells = ([_local_time(value) for value in row] for row in rows)
    return Response(
        stream_with_context(stream_workbook(sheet, [str(name) for name in header], cells, kinds)),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

"""Lists as files: CSV streamed row by row, Excel written in constant memory to a temporary file and then
streamed. Memory stays flat whatever the number of rows. A CSV is written as a spreadsheet in the reader's
language opens it: in Spanish with ``;`` between values and a decimal comma (``?sep=comma`` for ``,``), in
English with ``,`` and a decimal point; times are Madrid's. Excel columns can hold euros and dates as real
numbers and dates."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import xlsxwriter
from flask import Response, request, send_file, stream_with_context
from flask_babel import gettext as _
from flask_babel import to_user_timezone
from sqlalchemy.orm import Session

from mgd.db import READ_ONLY, database, set_tenant
from mgd.web.shell import BadParameter, current_language


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


def _csv_chunks(header: list, rows: Iterable[list[object]], fmt: CsvFormat) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=fmt.delimiter)
    writer.writerow([str(name) for name in header])
    yield "\ufeff" + buffer.getvalue()  # a BOM, so that spreadsheet programs read the file as UTF-8
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_cell(value, fmt.decimal) for value in row])
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


#: Excel number formats of the column kinds ``xlsx_response`` knows; the spreadsheet shows them in its
#: reader's own separators (``1.234,56 €`` in Spanish).
XLSX_FORMATS = {
    "euro": '#,##0.00 "€"',
    "date": "dd/mm/yyyy",
    "datetime": "dd/mm/yyyy hh:mm:ss",
    "integer": "0",
}


def xlsx_response(
    filename: str,
    sheet: str,
    header: list,
    rows: Iterable[list[object]],
    *,
    kinds: dict[int, str] | None = None,
) -> Response:
    """An Excel download; ``kinds`` gives some columns (by index) a kind of ``XLSX_FORMATS``: their values
    (numbers, dates) are written as such, with that format."""
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (send_file closes it when the response ends)
    workbook = xlsxwriter.Workbook(
        handle,
        {"constant_memory": True, "in_memory": False, "strings_to_formulas": False, "strings_to_urls": False},
    )
    worksheet = workbook.add_worksheet(sheet[:31])
    bold = workbook.add_format({"bold": True})
    formats = {
        column: workbook.add_format({"num_format": XLSX_FORMATS[kind]})
        for column, kind in (kinds or {}).items()
    }
    for column in formats:
        worksheet.set_column(column, column, 14)
    worksheet.write_row(0, 0, [str(name) for name in header], bold)
    worksheet.freeze_panes(1, 0)
    for number, row in enumerate(rows, 1):
        if not formats:
            values = ["" if value is None else _local_time(value) for value in row]  # text stays text
            worksheet.write_row(number, 0, values)
            continue
        for column, value in enumerate(row):
            if value is None:
                continue
            if column in formats:
                worksheet.write(number, column, value, formats[column])
            else:
                worksheet.write_string(number, column, str(value))
    workbook.close()
    handle.seek(0)
    return send_file(
        handle,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=filename,
    )

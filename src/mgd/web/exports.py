"""Lists as files: CSV streamed row by row, Excel written in constant memory to a temporary file and then
streamed. Memory stays flat whatever the number of rows. Spanish CSV is separated by ``;`` (the decimal
comma is the caller's, in its values); Excel columns can hold euros and dates as real numbers and dates."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import xlsxwriter
from flask import Response, send_file, stream_with_context
from sqlalchemy.orm import Session

from mgd.db import READ_ONLY, database, set_tenant


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


def _cell(value: object) -> object:
    """A value as a spreadsheet must show it: text that a spreadsheet would run as a formula (an alias typed
    as ``=HYPERLINK(...)``) is written with a leading apostrophe, as OWASP advises for CSV injection; a
    negative number (``-12,50``) is no formula and stays a number."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _csv_chunks(header: list[str], rows: Iterable[list[object]], delimiter: str) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    yield "\ufeff" + buffer.getvalue()  # a BOM, so that spreadsheet programs read the file as UTF-8
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_cell(value) for value in row])
        yield buffer.getvalue()


def csv_response(
    filename: str, header: list[str], rows: Iterable[list[object]], *, delimiter: str = ","
) -> Response:
    """A CSV download streamed as ``rows`` are read; ``delimiter=";"`` for files read with a decimal comma."""
    return Response(
        stream_with_context(_csv_chunks(header, rows, delimiter)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


#: Excel number formats of the column kinds ``xlsx_response`` knows; the spreadsheet shows them in its
#: reader's own separators (``1.234,56 €`` in Spanish).
XLSX_FORMATS = {"euro": '#,##0.00 "€"', "date": "dd/mm/yyyy"}


def xlsx_response(
    filename: str,
    sheet: str,
    header: list[str],
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
    worksheet.write_row(0, 0, header, bold)
    worksheet.freeze_panes(1, 0)
    for number, row in enumerate(rows, 1):
        if not formats:
            worksheet.write_row(
                number, 0, ["" if value is None else value for value in row]
            )  # text stays text
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

"""An Excel workbook of one sheet written as a stream: its bytes leave while its rows are still being read.

An .xlsx file is a ZIP of XML parts. XlsxWriter (like every library that builds the whole workbook) writes the
ZIP only when the workbook is closed, after the last row: the first byte of a large export would wait for the
whole file, and the worker with it. Here the sheet's XML is compressed into the ZIP as rows come (Python's
``zipfile`` writes to a stream that cannot seek, with data descriptors), and what is compressed is handed on
at once; the other parts are small and fixed. Texts are written in the cells (inline strings: no shared
strings table to hold), numbers as numbers, dates and times as Excel serial days with a number format.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from xml.sax.saxutils import escape

#: Excel number formats by kind; the spreadsheet shows them in its reader's own separators.
FORMATS = {"euro": '#,##0.00 "€"', "date": "dd/mm/yyyy", "datetime": "dd/mm/yyyy hh:mm:ss", "integer": "0"}
# cellXfs below: 0 plain, 1 bold (the header), then one per kind of FORMATS, in its order.
_STYLE_OF_KIND = {kind: 2 + index for index, kind in enumerate(FORMATS)}
FLUSH_BYTES = 64 * 1024
_EPOCH = date(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year bug: right from March 1900 on)
# Characters XML 1.0 cannot hold: written as Excel's _xHHHH_ escapes, as Excel and XlsxWriter do.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _workbook(sheet: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}"><sheets>'
        f'<sheet name="{escape(sheet, {chr(34): "&quot;"})}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )


def _styles() -> str:
    formats = "".join(
        f'<numFmt numFmtId="{164 + index}" formatCode="{escape(code, {chr(34): "&quot;"})}"/>'
        for index, code in enumerate(FORMATS.values())
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<styleSheet xmlns="{_MAIN}"><numFmts count="{len(FORMATS)}">{formats}</numFmts>'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{2 + len(FORMATS)}"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        + "".join(
            f'<xf numFmtId="{number}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
            for number in range(164, 164 + len(FORMATS))
        )
        + "</cellXfs>"
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


def _column_name(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _text(value: str) -> str:
    value = escape(value)
    if _NOT_XML.search(value):
        value = _NOT_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
    return value


def _serial(value: date) -> float:
    """Excel's serial day of a date or time."""
    days = (value.date() if isinstance(value, datetime) else value) - _EPOCH
    if not isinstance(value, datetime):
        return days.days
    seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    return days.days + seconds / 86_400


class _Sink:
    """What the ZIP writer writes, held until taken."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return data


def stream_workbook(
    sheet: str,
    header: list[str],
    rows: Iterable[list[object]],
    kinds: dict[int, str] | None = None,
) -> Iterator[bytes]:
    """The .xlsx file of one sheet named ``sheet``: a bold, frozen ``header`` row, then ``rows``; ``kinds``
    gives some columns (by index) a kind of ``FORMATS`` (their numbers and dates are written with it).
    Other values: texts as texts, numbers as numbers, empty for None."""
    kinds = kinds or {}
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _workbook(sheet[:31]))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _styles())
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            columns = "".join(
                f'<col min="{c + 1}" max="{c + 1}" width="14" customWidth="1"/>' for c in sorted(kinds)
            )
            part.write(
                (
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    f'<worksheet xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}">'
                    '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2"'
                    ' activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
                    + (f"<cols>{columns}</cols>" if columns else "")
                    + "<sheetData>"
                    + _row(1, [str(name) for name in header], {}, bold=True)
                ).encode()
            )
            yield sink.take()  # the first bytes leave now
            batch: list[str] = []
            for number, row in enumerate(rows, 2):
                batch.append(_row(number, row, kinds))
                if len(batch) >= 500:
                    part.write("".join(batch).encode())
                    batch.clear()
                    if sink.size >= FLUSH_BYTES:
                        yield sink.take()
            part.write(("".join(batch) + "</sheetData></worksheet>").encode())
    yield sink.take()


_COLUMNS = [_column_name(index) for index in range(64)]


def _row(number: int, values: Iterable[object], kinds: dict[int, str], *, bold: bool = False) -> str:
    cells = []
    for column, value in enumerate(values):
        if value is None or value == "":
            continue
        ref = f"{_COLUMNS[column] if column < len(_COLUMNS) else _column_name(column)}{number}"
        kind = kinds.get(column)
        if isinstance(value, str) or (kind is None and not isinstance(value, int | float | Decimal)):
            style = ' s="1"' if bold else ""
            shown = _text(str(value))
            cells.append(
                f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{shown}</t></is></c>'
            )
            continue
        amount = (
            _serial(value) if isinstance(value, date) else int(value) if isinstance(value, bool) else value
        )
        style = f' s="{_STYLE_OF_KIND[kind]}"' if kind else ""
        cells.append(f'<c r="{ref}"{style}><v>{amount}</v></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'

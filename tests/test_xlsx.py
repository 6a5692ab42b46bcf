import io
from datetime import date, datetime
from decimal import Decimal

from openpyxl import load_workbook

from mgd.web.xlsx import stream_workbook

# Excel's times have no zone: openpyxl reads them back naive.
DAY = datetime(2026, 8, 5)  # noqa: DTZ001
NOON = datetime(2026, 8, 5, 12, 30)  # noqa: DTZ001


def _book(chunks) -> bytes:
    return b"".join(chunks)


def test_a_streamed_workbook_opens_with_its_values_kinds_and_formats():
    rows = [
        ["Factura", Decimal("12.50"), date(2026, 8, 5), None, '=HYPERLINK("x")'],
        ["A & B <c> \"d\" 'e'", 3, NOON, 7.25, "\x01 bell"],
    ]
    data = _book(
        stream_workbook(
            "Líneas & más", ["Kind", "Amount", "Day", "Other", "Text"], rows, {1: "euro", 2: "date"}
        )
    )
    book = load_workbook(io.BytesIO(data))
    sheet = book.active
    assert sheet.title == "Líneas & más"
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("Kind", "Amount", "Day", "Other", "Text")
    assert sheet.cell(row=1, column=1).font.b
    assert values[1][:4] == ("Factura", 12.5, DAY, None)
    assert values[1][4] == '=HYPERLINK("x")'  # text, never a formula
    assert sheet.cell(row=2, column=5).data_type == "s"
    assert values[2][0] == "A & B <c> \"d\" 'e'"
    assert values[2][2] == NOON
    assert values[2][3] == 7.25
    assert "€" in sheet.cell(row=2, column=2).number_format
    assert sheet.cell(row=2, column=3).is_date
    assert sheet.freeze_panes == "A2"


def test_the_first_bytes_leave_before_any_row_is_read():
    read = []

    def rows():
        for n in range(3):
            read.append(n)
            yield [f"row {n}"]

    stream = stream_workbook("Sheet", ["Name"], rows())
    first = next(stream)
    assert first.startswith(b"PK") and read == []
    rest = b"".join(stream)
    assert read == [0, 1, 2]
    sheet = load_workbook(io.BytesIO(first + rest)).active
    assert [row[0] for row in sheet.iter_rows(values_only=True)] == ["Name", "row 0", "row 1", "row 2"]


def test_many_rows_leave_in_pieces_and_all_arrive():
    pieces = list(stream_workbook("Sheet", ["N", "Text"], ([n, f"line {n}"] for n in range(20_000))))
    assert len(pieces) > 3
    sheet = load_workbook(io.BytesIO(b"".join(pieces)), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 20_001 and rows[-1] == (19_999, "line 19999")

"""CSV uploads checked before anything changes: upload, a preview naming each row's problems, then a
confirmation that carries the same content back. Nothing is written unless every row is free of problems."""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.widgets import HiddenInput

from mgd.web.forms import Form, unusable_character


class ConfirmCsvForm(Form):
    # The uploaded CSV carried back by the preview: multi-line text in a hidden input.
    content = TextAreaField(_l("CSV file"), widget=HiddenInput())


@dataclass
class Upload:
    rows: list | None  # None: nothing uploaded yet, or a file that cannot be used (its error is on the form)
    content: str | None
    confirmed: bool  # every row is correct and the preview's button was pressed

    @property
    def ready(self) -> bool:
        return self.rows is not None and not any(row.problems for row in self.rows)

    def status(self, form: FlaskForm) -> int:
        return 422 if form.errors or (self.rows is not None and not self.ready) else 200


def checked_upload(form: FlaskForm, read: Callable[[str], list], *, limit: int, button: str) -> Upload:
    """The uploaded file (or the content a preview carried back), read into rows with their problems by
    ``read``, which raises ValueError for a file it cannot use; that refusal names the file."""
    carried = ConfirmCsvForm()
    content = carried.content.data or None
    name = None
    try:
        if content is None and form.validate_on_submit():
            name = form.file.data.filename
            content = _text_of(form.file.data.read(limit + 1), limit)
        if content is None:
            return Upload(None, None, False)
        _check_text(content)
        rows = read(content)
    except ValueError as problem:
        form.file.errors = [f"{name}: {problem}" if name else str(problem)]
        return Upload(None, None, False)
    upload = Upload(rows, content, False)
    upload.confirmed = upload.ready and request.form.get(button) == "yes"
    return upload


def file_text(data: bytes, limit: int) -> str:
    """An uploaded file's bytes as text (as ``checked_upload`` reads them); ValueError says why not."""
    text = _text_of(data, limit)
    _check_text(text)
    return text


def csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """The rows of a CSV text with the number of the line each starts on. Any line ending is read (CR
    alone too); a row that cannot be read (an unclosed quote, a value over the size limit) is a ValueError
    naming its line."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise ValueError(
                _(
                    "Line %(line)s cannot be read as CSV: a value is too long or a quote is not closed.",
                    line=start,
                )
            ) from None
        yield start, values


def folded(text: str) -> str:
    """``text`` compared as people mean it: case, accents, spaces and underscores ignored."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.replace("_", " ").replace("-", " ").split())


def csv_records(text: str, columns: dict[str, tuple[str, ...]]) -> Iterator[tuple[int, dict[str, str], int]]:
    """The rows of a CSV as ``{column: value}``, with their line and how many cells they have beyond the
    columns read.

    ``columns`` names each column as a header may (in either language). A first row whose every cell names a
    column is the header: the columns are read where it puts them, and a column it leaves out is absent from
    the rows. Without a header the columns are read in the order of ``columns``. A header that names a column
    twice, or mixes column names with other words, is a ValueError naming the cell.
    """
    names = {folded(name): column for column, spellings in columns.items() for name in (column, *spellings)}
    order: list[str | None] | None = None
    for line, values in csv_rows(text):
        if not any(value.strip() for value in values):
            continue
        if order is None:
            cells = [folded(value) for value in values]
            known = [cell in names for cell in cells if cell]
            if any(known):
                order = [names.get(cell) for cell in cells]
                pairs = zip(values, cells, strict=True)
                unknown = [value.strip() for value, cell in pairs if cell not in names]
                if not all(known) or len(set(filter(None, order))) < len([c for c in order if c]):
                    raise ValueError(
                        _(
                            "The first line looks like a header but “%(cell)s” is not a column we read: use "
                            "%(columns)s.",
                            cell=(unknown or [values[0]])[0],
                            columns=", ".join(columns),
                        )
                    )
                continue
            order = list(columns)
        record = {column: value.strip() for column, value in zip(order, values, strict=False) if column}
        yield line, record, max(0, len(values) - len(order))


def _text_of(data: bytes, limit: int) -> str:
    """The file as text: UTF-16 with its BOM, UTF-8 (with or without a BOM), or Windows-1252 as spreadsheets
    save CSV in Spain. A file over ``limit`` bytes is refused whole rather than cut."""
    if len(data) > limit:
        raise ValueError(_("The file is larger than %(size)s KB: split it.", size=limit // 1000))
    encodings = ["utf-16"] if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else []
    for encoding in [*encodings, "utf-8-sig", "cp1252"]:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError(_("The file is not text: save it as CSV (UTF-8)."))


def _check_text(text: str) -> None:
    """Refuse text with characters no CSV of ours holds: NUL and other controls are a binary file, or UTF-16
    without its BOM (every other byte NUL)."""
    for number, line in enumerate(re.split("\r\n|\r|\n", text), 1):
        if unusable_character(line, multiline=True):
            raise ValueError(
                _(
                    "Line %(line)s has characters that are not text (such as NUL): save the file as CSV "
                    "(UTF-8).",
                    line=number,
                )
            )

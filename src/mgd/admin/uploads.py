"""CSV uploads checked before anything changes: upload, a preview naming each row's problems, then a
confirmation that carries the same content back. Nothing is written unless every row is free of problems."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import request
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from mgd.admin.forms import ConfirmCsvForm


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
    ``read``, which raises ValueError for a file it cannot use."""
    carried = ConfirmCsvForm()
    content = carried.content.data or None
    try:
        if content is None and form.validate_on_submit():
            content = _text_of(form.file.data.read(limit + 1), limit)
        if content is None:
            return Upload(None, None, False)
        rows = read(content)
    except ValueError as problem:
        form.file.errors = [str(problem)]
        return Upload(None, None, False)
    upload = Upload(rows, content, False)
    upload.confirmed = upload.ready and request.form.get(button) == "yes"
    return upload


def _text_of(data: bytes, limit: int) -> str:
    """The file as text: UTF-8 (with or without a BOM), or Windows-1252 as spreadsheets save CSV in Spain.
    A file over ``limit`` bytes is refused whole rather than cut."""
    if len(data) > limit:
        raise ValueError(_("The file is larger than %(size)s KB: split it.", size=limit // 1000))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise ValueError(_("The file is not text: save it as CSV (UTF-8).")) from None

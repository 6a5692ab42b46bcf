"""Files people attach (an enquiry's documents; the help chat's later): PDF, PNG or JPEG up to 5 MB, the type
told by the file's first bytes (never by its name or the type the browser claims), stored outside the web root
in the instance folder under a random key, and sent back only through a view that has checked who asks.

The caller keeps the row that says whose a file is (``Stored``: key, type, size, a safe name); this module
only checks, stores, and serves bytes. ``area`` keeps each feature's files apart:
``<instance>/attachments/<area>/<tenant_id>/<key>``.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app, send_file
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms import Field

#: The largest file accepted, in bytes.
MAX_BYTES = 5 * 1024 * 1024
#: The types accepted, by their content type, with the extension a download gets.
TYPES = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
_KEY = re.compile(r"[A-Za-z0-9_-]{20,80}")
_AREA = re.compile(r"[a-z_]{1,30}")


class AttachmentRefused(ValueError):
    """A file that is not accepted; ``reason`` says why, in the reader's language."""

    def __init__(self, reason: object) -> None:
        super().__init__(str(reason))
        self.reason = reason


@dataclass(frozen=True)
class Stored:
    key: str
    content_type: str
    size: int
    filename: str


def sniff(head: bytes) -> str | None:
    """The content type the first bytes of a file show (PDF, PNG, JPEG), or None."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def safe_filename(name: str | None, content_type: str) -> str:
    """The name a file is shown and downloaded with: the base name the person gave, without control or path
    characters, at most 100 characters, ending in the extension of its real type."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*').strip(" .")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return (stem[:100] or "file") + TYPES[content_type]


def _folder(area: str, tenant_id: int) -> Path:
    if not _AREA.fullmatch(area):
        raise ValueError(f"not an attachment area: {area!r}")
    return Path(current_app.instance_path) / "attachments" / area / str(int(tenant_id))


def path_of(area: str, tenant_id: int, key: str) -> Path:
    """Where a stored file's bytes are (a key that is not one of ours is refused: no path from outside)."""
    if not _KEY.fullmatch(key):
        raise ValueError("not an attachment key")
    return _folder(area, tenant_id) / key


def store(stream: BinaryIO, filename: str | None, *, area: str, tenant_id: int) -> Stored:
    """Check and store one uploaded file. ``AttachmentRefused``: empty, larger than ``MAX_BYTES``, or not a
    PDF, PNG or JPEG by its bytes. Reads at most one byte more than the limit."""
    data = stream.read(MAX_BYTES + 1)
    if not data:
        raise AttachmentRefused(_l("The file is empty."))
    if len(data) > MAX_BYTES:
        raise AttachmentRefused(_l("The file is larger than 5 MB."))
    content_type = sniff(data[:16])
    if content_type is None:
        raise AttachmentRefused(
            _l("Only PDF, PNG or JPEG files can be attached (this one is not, by its content).")
        )
    key = secrets.token_urlsafe(24)
    target = path_of(area, tenant_id, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(target)
    return Stored(key, content_type, len(data), safe_filename(filename, content_type))


def store_field(field: Field, *, area: str, tenant_id: int) -> Stored | None:
    """``store`` for the file of a form's (validated) file field. A refused file answers None and its reason
    becomes the field's error, for the caller to show the form again."""
    try:
        return store(field.data.stream, field.data.filename, area=area, tenant_id=tenant_id)
    except AttachmentRefused as refused:
        field.errors = [refused.reason]
        return None


@contextmanager
def removed_on_error(stored: Stored, *, area: str, tenant_id: int) -> Iterator[Stored]:
    """Around recording a stored file: if that raises (a limit reached, a closed conversation), the bytes
    are deleted before the exception goes on, so no file is kept that no row names."""
    try:
        yield stored
    except BaseException:
        remove(area, tenant_id, stored.key)
        raise


def remove(area: str, tenant_id: int, key: str) -> None:
    """Delete a stored file's bytes (nothing when they are gone already)."""
    path_of(area, tenant_id, key).unlink(missing_ok=True)


def send(area: str, tenant_id: int, key: str, *, content_type: str, filename: str) -> Response:
    """The file as a download (never shown inline: a PDF cannot run in the portal's origin), not cached by
    shared caches, and with its type fixed (``nosniff``). The caller has checked who may have it."""
    response = send_file(
        path_of(area, tenant_id, key),
        mimetype=content_type,
        as_attachment=True,
        download_name=filename,
        max_age=0,
        conditional=False,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

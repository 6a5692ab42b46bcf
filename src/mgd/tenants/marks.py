"""Marks that features put beside lines on the lines page (consumption's "near its allowance", say): each is a
function of the tenant and the ids of the page's lines returning HTML per line id. A feature registers its
marker when its blueprint is registered; the lines page shows the marks without knowing the features."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app
from markupsafe import Markup

from mgd.tenants.context import Tenant

Marker = Callable[[Tenant, list[int]], dict[int, Markup]]
_KEY = "mgd.line_markers"


def add_line_marker(app: Flask, marker: Marker) -> None:
    app.extensions.setdefault(_KEY, []).append(marker)


def line_marks(tenant: Tenant, line_ids: list[int]) -> dict[int, list[Markup]]:
    """The registered markers' marks for ``line_ids``, in registration order; no call without lines."""
    marks: dict[int, list[Markup]] = {}
    if not line_ids:
        return marks
    for marker in current_app.extensions.get(_KEY, ()):
        for line_id, mark in marker(tenant, line_ids).items():
            marks.setdefault(line_id, []).append(mark)
    return marks

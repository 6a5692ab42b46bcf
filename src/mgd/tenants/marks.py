"""Marks that features put beside lines on the lines page (consumption's "near its allowance", say). A feature
registers a marker when its blueprint is registered: the values it needs per line as sub-selects correlated to
``Line`` (``columns(tenant)``; empty: none for this member), which the lines page reads with its own
statement, and ``mark(tenant, values)`` that turns the values of each line (by id) into HTML. The lines page
shows the marks without knowing the features, and reads no statement more for them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import Flask, current_app
from markupsafe import Markup

from mgd.tenants.context import Tenant

Columns = Callable[[Tenant], Sequence]
Mark = Callable[[Tenant, dict[int, tuple]], dict[int, Markup]]
_KEY = "mgd.line_markers"


@dataclass(frozen=True)
class _Marker:
    columns: Columns
    mark: Mark


def add_line_marker(app: Flask, columns: Columns, mark: Mark) -> None:
    app.extensions.setdefault(_KEY, []).append(_Marker(columns, mark))


@dataclass(frozen=True)
class MarkColumns:
    """The registered markers' columns for a member, to add to the statement that reads the page's lines."""

    tenant: Tenant
    asked: list[tuple[_Marker, Sequence]]

    @property
    def columns(self) -> list:
        return [column for _marker, columns in self.asked for column in columns]

    def marks(self, values: dict[int, tuple]) -> dict[int, list[Markup]]:
        """Each line's marks (in registration order) from the ``columns``' values of each line id."""
        marks: dict[int, list[Markup]] = {}
        start = 0
        for marker, columns in self.asked:
            own = {line_id: row[start : start + len(columns)] for line_id, row in values.items()}
            start += len(columns)
            for line_id, mark in marker.mark(self.tenant, own).items():
                marks.setdefault(line_id, []).append(mark)
        return marks


def mark_columns(tenant: Tenant) -> MarkColumns:
    markers = current_app.extensions.get(_KEY, ())
    asked = [(marker, columns) for marker in markers if (columns := tuple(marker.columns(tenant)))]
    return MarkColumns(tenant, asked)

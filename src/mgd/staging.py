"""Rows into temporary staging tables of one session, fast under Row-Level Security.

The portal's role cannot ``COPY`` into a table whose policies bind it (and no role of ours has BYPASSRLS), but
it can into a temporary table of its own: those have no policies. The importers copy their checked records
into such tables, check in SQL the rules that need every record, then write the real tables with
``INSERT … SELECT`` and ``UPDATE … FROM``, which the policies admit inside an operator scope.

On PostgreSQL the rows of a table go through one ``COPY`` that stays open while rows keep coming (each new
``COPY`` waits for the server to finish the last); any other statement on the connection must come after
``pause`` (``sql`` pauses). Elsewhere (SQLite) rows are inserted with executemany.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.orm import Session

BUFFER = 10_000  # rows held before they are sent to their staging table


class Copier:
    """The staging ``tables`` (by name) of one import, created anew on the session's own connection and
    transaction. Use as a context manager: an open ``COPY`` ends with it."""

    def __init__(self, session: Session, tables: dict[str, Table]) -> None:
        self.session = session
        self.tables = tables
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.buffers: dict[str, list[tuple]] = {name: [] for name in tables}
        self.staged = dict.fromkeys(tables, 0)
        self._copying: tuple[str, AbstractContextManager, Any] | None = None
        connection = session.connection()
        for table in tables.values():
            table.drop(connection, checkfirst=True)
            table.create(connection)

    def __enter__(self) -> Copier:
        return self

    def __exit__(self, *exc_info) -> None:
        self.pause(*exc_info)

    def add(self, name: str, row: tuple) -> None:
        buffer = self.buffers[name]
        buffer.append(row)
        if len(buffer) >= BUFFER:
            self.flush(name)

    def extend(self, name: str, rows: list[tuple]) -> None:
        buffer = self.buffers[name]
        buffer += rows
        if len(buffer) >= BUFFER:
            self.flush(name)

    def flush(self, name: str | None = None) -> None:
        """Send the buffered rows (of table ``name``, or of every table) to their staging tables."""
        for each in [name] if name else list(self.tables):
            rows = self.buffers[each]
            if not rows:
                continue
            self.staged[each] += len(rows)
            if self.postgres:
                copy = self._copy(each)
                for row in rows:
                    copy.write_row(row)
            else:
                keys = [column.key for column in self.tables[each].columns]
                self.session.execute(
                    insert(self.tables[each]), [dict(zip(keys, row, strict=True)) for row in rows]
                )
            rows.clear()

    def _copy(self, name: str):
        if self._copying is not None and self._copying[0] == name:
            return self._copying[2]
        self.pause()
        table = self.tables[name]
        raw = self.session.connection().connection.dbapi_connection  # the session's own transaction
        names = ", ".join(column.name for column in table.columns)
        context = raw.cursor().copy(f"COPY {table.name} ({names}) FROM STDIN")
        self._copying = (name, context, context.__enter__())
        return self._copying[2]

    def pause(self, *exc_info) -> None:
        """End the open ``COPY``, if any (``exc_info``: the error that ends it)."""
        if self._copying is not None:
            _name, context, _copy = self._copying
            self._copying = None
            context.__exit__(*(exc_info or (None, None, None)))

    def done(self) -> None:
        """Every row sent, and on PostgreSQL the tables analysed (temporary tables get no statistics by
        themselves: without them the planner guesses, and may choose nested loops over millions of rows)."""
        self.flush()
        if self.postgres:
            for table in self.tables.values():
                self.sql(f"ANALYZE {table.name}")

    def sql(self, statement: str, **params):
        self.pause()
        return self.session.execute(text(statement), params)

    def drop(self) -> None:
        self.pause()
        connection = self.session.connection()
        for table in self.tables.values():
            table.drop(connection, checkfirst=True)

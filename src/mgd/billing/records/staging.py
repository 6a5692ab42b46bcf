"""Checked billing records go to temporary staging tables (``COPY`` on PostgreSQL), the rules that need every
record (repeats, an invoice's charges adding up to it) are checked there in SQL, then the tables are written
from them with ``INSERT … SELECT`` and ``UPDATE … FROM``, as the portal's own role and under its policies.

Temporary tables belong to the session that makes them and have no Row-Level Security; the writes into the
tenant tables run inside the import's operator scope, which the policies admit. Natural keys: invoices by
(company, number), payments by (company, reference), charges by (invoice, position in the invoice).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    bindparam,
    insert,
    text,
)
from sqlalchemy.orm import Session

from mgd.billing import summaries
from mgd.db import UTCDateTime

BUFFER = 10_000  # rows held before they are sent to the staging table
SOURCE = 10**12  # (source, record) as one number: source * SOURCE + record

_meta = MetaData()


def _stage(name: str, *columns: Column | Index) -> Table:
    return Table(
        name,
        _meta,
        Column("source", Integer),
        Column("record", BigInteger),
        Column("tenant_id", BigInteger),
        *columns,
        prefixes=["TEMPORARY"],
    )


STAGES = {
    "invoices": _stage(
        "stage_invoices",
        Column("billing_account_id", BigInteger),
        Column("number", String(40)),
        Column("period_start", Date),
        Column("period_end", Date),
        Column("issued_on", Date),
        Column("due_on", Date),
        Column("net_cents", BigInteger),
        Column("vat_cents", BigInteger),
        Column("total_cents", BigInteger),
        Column("status", String(20)),
        Index("ix_stage_invoices_number", "tenant_id", "number"),
    ),
    "charges": _stage(
        "stage_charges",
        Column("invoice_number", String(40)),
        Column("position", Integer),
        Column("line_id", BigInteger),
        Column("concept", String(20)),
        Column("description", String(200)),
        Column("net_cents", BigInteger),
        Column("vat_rate", Numeric(5, 2)),
        Column("vat_cents", BigInteger),
        Column("total_cents", BigInteger),
    ),
    "payments": _stage(
        "stage_payments",
        Column("billing_account_id", BigInteger),
        Column("reference", String(40)),
        Column("paid_on", Date),
        Column("amount_cents", BigInteger),
        Column("method", String(20)),
        Index("ix_stage_payments_reference", "tenant_id", "reference"),
    ),
}
SUMS = Table(
    "stage_charge_sums",
    _meta,
    Column("tenant_id", BigInteger),
    Column("invoice_number", String(40)),
    Column("first", BigInteger),
    Column("n", BigInteger),
    Column("last", BigInteger),
    Column("net_cents", BigInteger),
    Column("vat_cents", BigInteger),
    Column("total_cents", BigInteger),
    Column("invoice_id", BigInteger),
    Column("had", Integer),
    # The charges (millions of rows: no index) are joined to it, and to the staged invoices, by key.
    Index("ix_stage_charge_sums_number", "tenant_id", "invoice_number"),
    Index("ix_stage_charge_sums_invoice_id", "tenant_id", "invoice_id"),
    prefixes=["TEMPORARY"],
)


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0


@dataclass(frozen=True)
class Problem:
    """A rule broken by a staged record: where (source, record), which field, the value, why."""

    source: int
    record: int
    field: str
    value: object
    rule: str


class Stage:
    """The staging tables of one import, on the session's own connection and transaction. On PostgreSQL the
    records of a kind go through one ``COPY`` that stays open while records keep coming (each new ``COPY``
    waits for the server to finish the last); ``pause`` ends it, and must come before any other statement on
    the connection (``Resolver`` calls it). Use as a context manager: the ``COPY`` ends with it."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.buffers: dict[str, list[tuple]] = {kind: [] for kind in STAGES}
        self.staged = dict.fromkeys(STAGES, 0)
        self._copying: tuple[str, AbstractContextManager, Any] | None = None
        self.summaries = summaries.Written()
        connection = session.connection()
        for table in [*STAGES.values(), SUMS]:
            table.drop(connection, checkfirst=True)
            table.create(connection)

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, *exc_info) -> None:
        self.pause(*exc_info)

    def add(self, kind: str, row: tuple) -> None:
        buffer = self.buffers[kind]
        buffer.append(row)
        if len(buffer) >= BUFFER:
            self.flush(kind)

    def flush(self, kind: str | None = None) -> None:
        """Send the buffered records (of ``kind``, or of every kind) to their staging tables."""
        for name in [kind] if kind else list(STAGES):
            rows = self.buffers[name]
            if not rows:
                continue
            self.staged[name] += len(rows)
            if self.postgres:
                copy = self._copy(name)
                for row in rows:
                    copy.write_row(row)
            else:
                table = STAGES[name]
                keys = [column.key for column in table.columns]
                self.session.execute(insert(table), [dict(zip(keys, row, strict=True)) for row in rows])
            rows.clear()

    def _copy(self, kind: str):
        if self._copying is not None and self._copying[0] == kind:
            return self._copying[2]
        self.pause()
        table = STAGES[kind]
        raw = self.session.connection().connection.dbapi_connection  # the session's own transaction
        names = ", ".join(column.name for column in table.columns)
        cursor = raw.cursor()
        context = cursor.copy(f"COPY {table.name} ({names}) FROM STDIN")
        self._copying = (kind, context, context.__enter__())
        return self._copying[2]

    def pause(self, *exc_info) -> None:
        """End the open ``COPY``, if any (``exc_info``: the error that ends it)."""
        if self._copying is not None:
            _kind, context, _copy = self._copying
            self._copying = None
            context.__exit__(*(exc_info or (None, None, None)))

    def drop(self) -> None:
        self.pause()
        connection = self.session.connection()
        for table in [*STAGES.values(), SUMS]:
            table.drop(connection, checkfirst=True)

    def _sql(self, statement: str, **params):
        self.pause()
        return self.session.execute(text(statement), params)

    # ---- the rules over every record ----------------------------------------------------------------------

    def problems(self, limit: int) -> list[Problem]:
        """The broken rules that need all the records, up to ``limit``: keys repeated in the import, charges
        of an unknown invoice or not together, invoices whose charges do not add up to them."""
        self.flush()
        if self.postgres:  # temporary tables get no statistics by themselves
            for table in STAGES.values():
                self._sql(f"ANALYZE {table.name}")
        found: list[Problem] = []
        found += self._repeats("stage_invoices", "number", limit)
        found += self._repeats("stage_payments", "reference", limit)
        self._sum_charges()
        found += self._unknown_invoices(limit)
        found += self._charges_apart(limit)
        found += self._totals(limit)
        return sorted(found, key=lambda p: (p.source, p.record))[:limit]

    def _repeats(self, table: str, key: str, limit: int) -> list[Problem]:
        rows = self._sql(
            f"SELECT source, record, {key}, first FROM ("  # noqa: S608 (names from this module)
            f"  SELECT source, record, {key}, min(source * {SOURCE} + record) OVER w AS first,"
            "   row_number() OVER w AS n"
            f"  FROM {table} WINDOW w AS (PARTITION BY tenant_id, {key} ORDER BY source, record)"
            ") repeated WHERE n > 1 ORDER BY source, record LIMIT :limit",
            limit=limit,
        )
        return [
            Problem(source, record, key, value, f"repeats {_at(first)}")
            for source, record, value, first in rows
        ]

    def _sum_charges(self) -> None:
        self._sql(
            "INSERT INTO stage_charge_sums (tenant_id, invoice_number, first, n, last, net_cents, vat_cents,"
            " total_cents) SELECT tenant_id, invoice_number, min(source * :step + record), count(*),"
            " max(position), sum(net_cents), sum(vat_cents), sum(total_cents)"
            " FROM stage_charges GROUP BY tenant_id, invoice_number",
            step=SOURCE,
        )
        self._find_invoices()
        if self.postgres:
            self._sql("ANALYZE stage_charge_sums")

    def _find_invoices(self) -> None:
        self._sql(
            "UPDATE stage_charge_sums SET invoice_id = (SELECT i.id FROM invoices i"
            " WHERE i.tenant_id = stage_charge_sums.tenant_id"
            " AND i.number = stage_charge_sums.invoice_number)"
        )

    def _unknown_invoices(self, limit: int) -> list[Problem]:
        rows = self._sql(
            "SELECT s.first, s.invoice_number FROM stage_charge_sums s WHERE s.invoice_id IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM stage_invoices i"
            "  WHERE i.tenant_id = s.tenant_id AND i.number = s.invoice_number)"
            " ORDER BY s.first LIMIT :limit",
            limit=limit,
        )
        return [
            Problem(*divmod(first, SOURCE), "invoice", number, "the company has no invoice with this number")
            for first, number in rows
        ]

    def _charges_apart(self, limit: int) -> list[Problem]:
        """Charges of one invoice must follow one another: a second run restarts the positions at 1."""
        if not self._sql("SELECT 1 FROM stage_charge_sums WHERE n <> last LIMIT 1").first():
            return []
        rows = self._sql(
            "SELECT c.source, c.record, c.invoice_number, s.first FROM stage_charge_sums s"
            " JOIN stage_charges c ON c.tenant_id = s.tenant_id AND c.invoice_number = s.invoice_number"
            " WHERE s.n <> s.last AND c.position = 1 AND c.source * :step + c.record > s.first"
            " ORDER BY c.source, c.record LIMIT :limit",
            step=SOURCE,
            limit=limit,
        )
        return [
            Problem(
                source,
                record,
                "invoice",
                number,
                f"the charges of an invoice must follow one another (its first is {_at(first)})",
            )
            for source, record, number, first in rows
        ]

    def _totals(self, limit: int) -> list[Problem]:
        """Each invoice of the import, and each invoice that the import gives charges, adds up: its net, VAT
        and total are the sums of its charges (those of the import if it has any, else those stored)."""
        staged = self._sql(
            "SELECT i.source, i.record, i.number, i.net_cents, i.vat_cents, i.total_cents,"
            " s.net_cents, s.vat_cents, s.total_cents FROM stage_invoices i"
            " JOIN stage_charge_sums s ON s.tenant_id = i.tenant_id AND s.invoice_number = i.number"
            " WHERE i.net_cents <> s.net_cents OR i.vat_cents <> s.vat_cents"
            " OR i.total_cents <> s.total_cents"
            " ORDER BY i.source, i.record LIMIT :limit",
            limit=limit,
        ).all()
        stored = self._sql(
            "SELECT source, record, number, net_cents, vat_cents, total_cents, net, vat, total FROM ("
            " SELECT i.source, i.record, i.number, i.net_cents, i.vat_cents, i.total_cents,"
            "  coalesce((SELECT sum(c.net_cents) FROM invoice_charges c WHERE c.tenant_id = v.tenant_id"
            "   AND c.invoice_id = v.id), 0) AS net,"
            "  coalesce((SELECT sum(c.vat_cents) FROM invoice_charges c WHERE c.tenant_id = v.tenant_id"
            "   AND c.invoice_id = v.id), 0) AS vat,"
            "  coalesce((SELECT sum(c.total_cents) FROM invoice_charges c WHERE c.tenant_id = v.tenant_id"
            "   AND c.invoice_id = v.id), 0) AS total"
            " FROM stage_invoices i LEFT JOIN invoices v ON v.tenant_id = i.tenant_id AND v.number = i.number"
            " WHERE NOT EXISTS (SELECT 1 FROM stage_charge_sums s"
            "  WHERE s.tenant_id = i.tenant_id AND s.invoice_number = i.number)"
            ") sums WHERE net_cents <> net OR vat_cents <> vat OR total_cents <> total"
            " ORDER BY source, record LIMIT :limit",
            limit=limit,
        ).all()
        problems = []
        for source, record, number, *amounts in [*staged, *stored]:
            given, charged = amounts[:3], amounts[3:]
            name, value = next((n, v) for n, v, c in zip(_AMOUNTS, given, charged, strict=True) if v != c)
            problems.append(Problem(source, record, name, value, f"invoice {number}: {_sums(charged)}"))
        charges_only = self._sql(
            "SELECT s.first, v.number, v.net_cents, v.vat_cents, v.total_cents,"
            " s.net_cents, s.vat_cents, s.total_cents FROM stage_charge_sums s"
            " JOIN invoices v ON v.id = s.invoice_id AND v.tenant_id = s.tenant_id"
            " WHERE NOT EXISTS (SELECT 1 FROM stage_invoices i"
            "  WHERE i.tenant_id = s.tenant_id AND i.number = s.invoice_number)"
            " AND (v.net_cents <> s.net_cents OR v.vat_cents <> s.vat_cents"
            " OR v.total_cents <> s.total_cents)"
            " ORDER BY s.first LIMIT :limit",
            limit=limit,
        )
        for first, number, net, vat, total, *charged in charges_only:
            rule = f"the invoice has net {net}, VAT {vat}, total {total}; its charges here: {_sums(charged)}"
            problems.append(Problem(*divmod(first, SOURCE), "invoice", number, rule))
        return problems

    # ---- writing ----------------------------------------------------------------------------------------

    def write(self, now: datetime) -> dict[str, Counts]:
        """Insert the new rows, update the changed ones, leave the rest; an invoice given charges gets exactly
        those (its stored charges past the last are removed), and its summaries (``billing.summaries``)."""
        self.pause()
        counts = {"invoices": Counts(), "charges": Counts(), "payments": Counts()}
        stamp = bindparam("now", now, type_=UTCDateTime())
        self._upsert(
            "invoices",
            "stage_invoices",
            "number",
            "billing_account_id period_start period_end issued_on due_on net_cents vat_cents total_cents"
            " status",
            stamp=stamp,
            count=counts["invoices"],
        )
        self._upsert(
            "payments",
            "stage_payments",
            "reference",
            "billing_account_id paid_on amount_cents method",
            stamp=stamp,
            count=counts["payments"],
        )
        self._write_charges(counts["charges"])
        self.summaries = summaries.refresh(
            self.session,
            # An invoice given charges now has exactly the staged ones: the sums come from the staging table.
            charges="SELECT c.tenant_id, s.invoice_id, c.line_id, c.concept, c.vat_rate, c.net_cents,"
            " c.vat_cents, c.total_cents FROM stage_charges c JOIN stage_charge_sums s"
            " ON s.tenant_id = c.tenant_id AND s.invoice_number = c.invoice_number",
            invoices="SELECT tenant_id, invoice_id FROM stage_charge_sums",
        )
        for kind, count in counts.items():
            count.unchanged = self.staged[kind] - count.created - count.updated
        return counts

    def _upsert(self, table: str, stage: str, key: str, fields: str, *, stamp, count: Counts) -> None:
        names = fields.split()
        differs = " OR ".join(f"{table}.{name} <> s.{name}" for name in names)
        assignments = ", ".join(f"{name} = s.{name}" for name in names)
        updated = self.session.execute(
            text(
                f"UPDATE {table} SET {assignments}, updated_at = :now FROM {stage} s"  # noqa: S608
                f" WHERE {table}.tenant_id = s.tenant_id AND {table}.{key} = s.{key} AND ({differs})"
            ).bindparams(stamp)
        )
        columns = ", ".join(["tenant_id", key, *names])
        picked = ", ".join(f"s.{name}" for name in ["tenant_id", key, *names])
        created = self.session.execute(
            text(
                f"INSERT INTO {table} ({columns}, created_at, updated_at)"  # noqa: S608
                f" SELECT {picked}, :now, :now FROM {stage} s WHERE NOT EXISTS"
                f" (SELECT 1 FROM {table} t WHERE t.tenant_id = s.tenant_id AND t.{key} = s.{key})"
            ).bindparams(stamp)
        )
        count.updated, count.created = updated.rowcount, created.rowcount

    CHARGE_FIELDS = ("line_id", "concept", "description", "net_cents", "vat_rate", "vat_cents", "total_cents")

    def _write_charges(self, count: Counts) -> None:
        # Which invoices are given charges, and whether they had stored ones (only those need comparing).
        self._find_invoices()
        self._sql(
            "UPDATE stage_charge_sums SET had = CASE WHEN EXISTS (SELECT 1 FROM invoice_charges c"
            " WHERE c.tenant_id = stage_charge_sums.tenant_id"
            " AND c.invoice_id = stage_charge_sums.invoice_id)"
            " THEN 1 ELSE 0 END"
        )
        if self.postgres:
            self._sql("ANALYZE stage_charge_sums")
        names = ", ".join(self.CHARGE_FIELDS)
        picked = ", ".join(f"c.{name}" for name in self.CHARGE_FIELDS)
        insert_new = (
            f"INSERT INTO invoice_charges (tenant_id, invoice_id, position, {names})"  # noqa: S608
            f" SELECT c.tenant_id, s.invoice_id, c.position, {picked} FROM stage_charges c"
            " JOIN stage_charge_sums s ON s.tenant_id = c.tenant_id AND s.invoice_number = c.invoice_number"
        )
        created = self._sql(insert_new + " WHERE s.had = 0").rowcount
        differs = " OR ".join(
            f"invoice_charges.{name} <> c.{name}" for name in self.CHARGE_FIELDS if name != "line_id"
        )
        differs += " OR coalesce(invoice_charges.line_id, 0) <> coalesce(c.line_id, 0)"
        assignments = ", ".join(f"{name} = c.{name}" for name in self.CHARGE_FIELDS)
        updated = self._sql(
            f"UPDATE invoice_charges SET {assignments} FROM stage_charges c"  # noqa: S608
            " JOIN stage_charge_sums s ON s.tenant_id = c.tenant_id AND s.invoice_number = c.invoice_number"
            " WHERE s.had = 1 AND invoice_charges.tenant_id = s.tenant_id"
            " AND invoice_charges.invoice_id = s.invoice_id AND invoice_charges.position = c.position"
            f" AND ({differs})"
        ).rowcount
        created += self._sql(
            insert_new  # noqa: S608 (names from this module)
            + " WHERE s.had = 1 AND NOT EXISTS (SELECT 1 FROM invoice_charges x"
            " WHERE x.tenant_id = s.tenant_id AND x.invoice_id = s.invoice_id AND x.position = c.position)"
        ).rowcount
        if self.postgres:  # a join: the form below would run its sub-select for every stored charge
            removed = self._sql(
                "DELETE FROM invoice_charges c USING stage_charge_sums s WHERE s.had = 1"
                " AND c.tenant_id = s.tenant_id AND c.invoice_id = s.invoice_id AND c.position > s.n"
            ).rowcount
        else:
            removed = self._sql(
                "DELETE FROM invoice_charges WHERE (tenant_id, invoice_id) IN"
                " (SELECT tenant_id, invoice_id FROM stage_charge_sums WHERE had = 1)"
                " AND position > (SELECT s.n FROM stage_charge_sums s"
                " WHERE s.tenant_id = invoice_charges.tenant_id"
                " AND s.invoice_id = invoice_charges.invoice_id)"
            ).rowcount
        count.created, count.updated, count.removed = created, updated, removed


def _at(first: int) -> str:
    """A (source, record) number as the placeholder the caller turns into a place."""
    source, record = divmod(first, SOURCE)
    return f"{{{source}:{record}}}"


_AMOUNTS = ("net_cents", "vat_cents", "total_cents")


def _sums(charged: list[int]) -> str:
    net, vat, total = charged
    return f"its charges add up to net {net}, VAT {vat}, total {total} (cents)"

"""An invoice's summaries: its charges summed by line and VAT rate, with each concept's net amount in a column
(``invoice_line_totals``), and by concept and VAT rate (``invoice_vat_totals``), so that no page sums an
invoice's charges (a 10,000-line invoice has about 211,000). One code path writes them, ``refresh``: the
records import after writing charges (from its staging tables, which hold exactly the charges each invoice now
has) and ``refresh_invoices`` for anything else that writes charges (the tests' factories).

They are kept exact by difference: the sums are computed into temporary tables, then the stored rows that
differ are deleted and the missing ones inserted (when none of the invoices has stored summaries yet, as on
a first import, the sums are inserted without comparing). Unchanged charges write nothing; a changed charge
replaces the rows it changes, stamped with the refresh that wrote them (``written``). Flushes, never commits;
runs under the caller's scope (the import's operator scope, or a company's) and its policies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import BigInteger, Column, MetaData, Numeric, String, Table, bindparam, text
from sqlalchemy.orm import Session

from mgd.billing.models import ACCOUNT, CHARGE_CONCEPTS
from mgd.db import set_tenant

_meta = MetaData()
AMOUNTS = ("net_cents", "vat_cents", "total_cents")
BY_CONCEPT = tuple(f"{concept}_cents" for concept in CHARGE_CONCEPTS)
#: The summary tables, the temporary table each is computed into, the key of a row within its invoice, and
#: its amounts.
SUMMARIES = (
    ("invoice_line_totals", "stage_line_totals", ("line_id", "vat_rate"), BY_CONCEPT + AMOUNTS),
    ("invoice_vat_totals", "stage_vat_totals", ("concept", "vat_rate"), AMOUNTS),
)


def _sums(name: str, *columns: Column) -> Table:
    return Table(
        name,
        _meta,
        Column("tenant_id", BigInteger),
        Column("invoice_id", BigInteger),
        *columns,
        *(Column(amount, BigInteger) for amount in AMOUNTS),
        # No index: the comparisons below must hash (an index on the invoice alone made PostgreSQL loop over
        # an invoice's ~25,000 rows for each stored row: a re-import of 1.8M charges ran over 18 minutes).
        prefixes=["TEMPORARY"],
    )


_STAGES = (
    _sums(
        "stage_line_totals",
        Column("line_id", BigInteger),
        Column("vat_rate", Numeric(5, 2)),
        *(Column(amount, BigInteger) for amount in BY_CONCEPT),
    ),
    _sums("stage_vat_totals", Column("concept", String(20)), Column("vat_rate", Numeric(5, 2))),
)


@dataclass
class Written:
    """Rows of the summary tables deleted and inserted by a refresh (both 0: nothing changed)."""

    deleted: int = 0
    inserted: int = 0
    summing: float = field(default=0.0, compare=False)  # seconds spent summing the charges
    seconds: float = field(default=0.0, compare=False)  # seconds of the whole refresh


def refresh(session: Session, *, charges: str, invoices: str, **params) -> Written:
    """Make the summaries of the invoices selected by ``invoices`` (SQL giving ``tenant_id, invoice_id``) the
    sums of their charges, given by ``charges`` (SQL giving ``tenant_id, invoice_id, line_id, concept,
    vat_rate, net_cents, vat_cents, total_cents`` for every charge those invoices have, and no other);
    ``params`` bind both. An invoice without charges is left without summaries."""
    started = time.perf_counter()
    postgres = session.get_bind().dialect.name == "postgresql"
    connection = session.connection()
    for table in _STAGES:
        table.drop(connection, checkfirst=True)
        table.create(connection)
    amounts = ", ".join(f"sum({name})" for name in AMOUNTS)
    by_concept = ", ".join(
        f"sum(CASE WHEN concept = '{concept}' THEN net_cents ELSE 0 END)" for concept in CHARGE_CONCEPTS
    )
    if postgres:  # room to group a big import's charges in memory (4 MB spilled 460,831 rows in 61 batches)
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    _run(
        session,
        "INSERT INTO stage_line_totals (tenant_id, invoice_id, line_id, vat_rate,"  # noqa: S608
        f" {', '.join(BY_CONCEPT + AMOUNTS)}) SELECT tenant_id, invoice_id, coalesce(line_id, {ACCOUNT}),"
        f" vat_rate, {by_concept}, {amounts} FROM ({charges}) charges"
        f" GROUP BY tenant_id, invoice_id, coalesce(line_id, {ACCOUNT}), vat_rate",
        params,
    )
    _run(  # a handful of groups per invoice: a cheap second pass
        session,
        "INSERT INTO stage_vat_totals (tenant_id, invoice_id, concept, vat_rate, net_cents, vat_cents,"  # noqa: S608
        f" total_cents) SELECT tenant_id, invoice_id, concept, vat_rate, {amounts}"
        f" FROM ({charges}) charges GROUP BY tenant_id, invoice_id, concept, vat_rate",
        params,
    )
    if postgres:  # temporary tables get no statistics by themselves
        for table in _STAGES:
            session.execute(text(f"ANALYZE {table.name}"))
    # Invoices with no stored summaries yet (a first import) take their sums as they are: no comparison.
    stored = {target: _stored(session, target, invoices, params) for target, *_rest in SUMMARIES}
    if postgres:  # the same for the stored rows' index, which names the invoice but not the whole key
        session.execute(text("RESET work_mem"))
        session.execute(text("SET LOCAL enable_nestloop = off"))
    written = Written(summing=time.perf_counter() - started)
    stamp = {"written": time.time_ns()}
    for target, stage, key, sums in SUMMARIES:
        columns = ", ".join(("tenant_id", "invoice_id", *key, *sums))
        stamped = target == "invoice_line_totals"
        insert = f"INSERT INTO {target} ({columns}{', written' if stamped else ''})"
        chosen = f"SELECT {columns}{', :written' if stamped else ''} FROM {stage} s"  # noqa: S608
        if not stored[target]:
            written.inserted += _run(session, f"{insert} {chosen}", stamp).rowcount
            continue
        pairs = ("tenant_id", "invoice_id", *key, *sums)
        same = " AND ".join(f"s.{name} = t.{name}" for name in pairs)
        # Stored rows of the invoices that no longer match a sum (changed or gone)...
        written.deleted += _run(
            session,
            f"DELETE FROM {target} AS t WHERE EXISTS (SELECT 1 FROM ({invoices}) i"  # noqa: S608
            " WHERE i.tenant_id = t.tenant_id AND i.invoice_id = t.invoice_id)"
            f" AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE {same})",
            params,
        ).rowcount
        # ...then the sums not stored yet.
        written.inserted += _run(
            session,
            f"{insert} {chosen} WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {same})",  # noqa: S608
            stamp,
        ).rowcount
    if postgres:
        session.execute(text("RESET enable_nestloop"))
    for table in _STAGES:
        table.drop(connection)
    session.flush()
    written.seconds = time.perf_counter() - started
    return written


def _run(session: Session, sql: str, params: dict):
    """``sql`` with the ``params`` it names bound (a list as an expanding ``IN`` parameter)."""
    used = {name: value for name, value in params.items() if f":{name}" in sql}
    statement = text(sql).bindparams(
        *(bindparam(name, expanding=True) for name, value in used.items() if isinstance(value, list | tuple))
    )
    return session.execute(statement, used)


def _stored(session: Session, target: str, invoices: str, params: dict) -> bool:
    """Whether any of the invoices selected by ``invoices`` has rows in the summary table ``target`` (one
    index probe per invoice)."""
    return (
        _run(
            session,
            f"SELECT 1 FROM ({invoices}) i WHERE EXISTS (SELECT 1 FROM {target} t"  # noqa: S608
            " WHERE t.tenant_id = i.tenant_id AND t.invoice_id = i.invoice_id) LIMIT 1",
            params,
        ).first()
        is not None
    )


def refresh_invoices(session: Session, tenant_id: int, invoice_ids: list[int]) -> Written:
    """Bring the summaries of some of a company's invoices in line with their stored charges (for writers of
    charges other than the records import, which calls ``refresh`` itself)."""
    set_tenant(session, tenant_id)
    session.flush()
    if not invoice_ids:
        return Written()
    return refresh(
        session,
        charges="SELECT tenant_id, invoice_id, line_id, concept, vat_rate, net_cents, vat_cents, total_cents"
        " FROM invoice_charges WHERE tenant_id = :tenant AND invoice_id IN :ids",
        invoices="SELECT tenant_id, id AS invoice_id FROM invoices WHERE tenant_id = :tenant AND id IN :ids",
        tenant=tenant_id,
        ids=list(invoice_ids),
    )

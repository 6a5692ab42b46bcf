"""Writing validated operator records: checks against what is stored, then an upsert by natural keys.

Natural keys: tariffs by code, companies by fiscal ID, and within a company interlocutors by email, billing
accounts by ref and lines by number. Rows that are already as the document says are left untouched, so
importing the same document twice changes nothing. Nothing is deleted. The caller commits (or rolls back).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    any_,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from mgd.db import UTCDateTime, operator_scope, utcnow
from mgd.staging import Copier
from mgd.tenants.models import BillingAccount, Company, Interlocutor, Tariff
from mgd.tenants.records.validate import (
    MAX_ERRORS,
    CompanyRecord,
    LineRecord,
    RecordError,
    Records,
    RecordsInvalid,
    line_path,
    read_document,
)

log = logging.getLogger(__name__)
CHUNK = 2000  # rows a statement, values an IN list
ARRAY_CHUNK = 20_000  # values an array parameter (PostgreSQL)

_meta = MetaData()
# The document's lines, as checked (``company``, ``line``: their places), and each company's id once known.
STAGE_LINES = Table(
    "stage_record_lines",
    _meta,
    Column("company", Integer),
    Column("line", Integer),
    Column("number", String(16)),
    Column("kind", String(20)),
    Column("product", String(20)),
    Column("status", String(20)),
    Column("tariff", String(40)),
    Column("billing_account", String(40)),
    prefixes=["TEMPORARY"],
)
STAGE_COMPANIES = Table(
    "stage_record_companies",
    _meta,
    Column("company", Integer, primary_key=True),
    Column("tenant_id", BigInteger),
    prefixes=["TEMPORARY"],
)
# The ids the lines' tariffs and billing accounts have once written: small tables of the import's own, with
# statistics (the tenant tables' may be stale after the import's own writes, and only their owner can ANALYZE
# them), so that the lines are joined to them by hashing instead of an index look-up a line.
STAGE_ACCOUNTS = Table(
    "stage_record_accounts",
    _meta,
    Column("company", Integer),
    Column("ref", String(40)),
    Column("id", BigInteger),
    prefixes=["TEMPORARY"],
)
STAGE_TARIFFS = Table(
    "stage_record_tariffs",
    _meta,
    Column("code", String(40)),
    Column("id", BigInteger),
    prefixes=["TEMPORARY"],
)
STAGES = {
    "lines": STAGE_LINES,
    "companies": STAGE_COMPANIES,
    "accounts": STAGE_ACCOUNTS,
    "tariffs": STAGE_TARIFFS,
}


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportReport:
    counts: dict[str, Counts] = field(
        default_factory=lambda: {
            name: Counts() for name in ("tariffs", "companies", "interlocutors", "billing_accounts", "lines")
        }
    )

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated for c in self.counts.values())


@dataclass
class _Stored:
    """What the database already holds for the document's tariffs and companies, by natural keys (its lines
    are compared in SQL, from the staging table)."""

    tariffs: dict[str, dict] = field(default_factory=dict)
    companies: dict[str, dict] = field(default_factory=dict)
    interlocutors: dict[tuple[int, str], dict] = field(default_factory=dict)
    accounts: dict[tuple[int, str], dict] = field(default_factory=dict)


def import_records(session: Session, records: Records) -> ImportReport:
    """Upsert ``records``; raise ``RecordsInvalid`` (before writing anything) if they clash with stored data.

    Flushes but does not commit: the caller commits, or rolls back for a dry run.
    """
    with operator_scope(session, "records import"):
        stage = Copier(session, STAGES)
        with stage:
            _stage_lines(stage, records)
        return _import_staged(session, records, stage)


def import_document(session: Session, path: Path) -> tuple[Records, ImportReport]:
    """``import_records`` of the document in the file at ``path``, read as a stream: its lines go to the
    staging table as they are checked, so memory stays flat whatever the number of lines."""
    started = time.perf_counter()
    with operator_scope(session, "records import"):
        stage = Copier(session, STAGES)
        with stage:
            records = read_document(
                path, lambda lines: stage.extend("lines", [_staged(line) for line in lines])
            )
        if not records.lines_handed and stage.staged["lines"] + len(stage.buffers["lines"]):
            stage.buffers["lines"].clear()  # read again whole: its lines are in its companies
            stage.sql("DELETE FROM stage_record_lines")
            stage.staged["lines"] = 0
        with stage:
            _stage_lines(stage, records)
        read = time.perf_counter()
        report = _import_staged(session, records, stage)
    log.info(
        "records import: %s lines read, checked and staged in %.2f s, checked and written in %.2f s",
        stage.staged["lines"],
        read - started,
        time.perf_counter() - read,
    )
    return records, report


def _staged(line: LineRecord) -> tuple:
    return (
        line.company,
        line.index,
        line.number,
        line.kind,
        line.product,
        line.status,
        line.tariff,
        line.billing_account,
    )


def _stage_lines(stage: Copier, records: Records) -> None:
    for company in records.companies:
        stage.extend("lines", [_staged(line) for line in company.lines])


def _import_staged(session: Session, records: Records, stage: Copier) -> ImportReport:
    stage.done()
    stored = _load_stored(session, records, stage)
    _check_against_stored(records, stored, stage)
    report = ImportReport()
    _write(session, records, stored, stage, report)
    stage.drop()
    session.flush()
    return report


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _in_batches(session: Session, key: Any, values: Iterable[Any]) -> Iterator[Any]:
    """``key IN values`` in batches; on PostgreSQL ``key = ANY(array)``, one parameter for many values."""
    values = list(values)
    if session.get_bind().dialect.name != "postgresql":
        yield from (key.in_(chunk) for chunk in _chunks(values))
        return
    for start in range(0, len(values), ARRAY_CHUNK):
        yield key == any_(bindparam(None, values[start : start + ARRAY_CHUNK], type_=ARRAY(key.type)))


def _rows(session: Session, model: type, key: Any, values: Iterable[Any]) -> Iterator[dict]:
    columns = [c for c in model.__table__.columns if c.key not in ("created_at", "updated_at")]
    for clause in _in_batches(session, key, values):
        yield from session.execute(select(*columns).where(clause)).mappings()


def _load_stored(session: Session, records: Records, stage: Copier) -> _Stored:
    stored = _Stored()
    line_tariffs = stage.sql("SELECT DISTINCT tariff FROM stage_record_lines").scalars()
    codes = {t.code for t in records.tariffs} | set(line_tariffs)
    stored.tariffs = {row["code"]: row for row in _rows(session, Tariff, Tariff.code, codes)}
    fiscal_ids = [c.fiscal_id for c in records.companies]
    stored.companies = {
        row["fiscal_id"]: row for row in _rows(session, Company, Company.fiscal_id, fiscal_ids)
    }
    tenant_ids = [row["id"] for row in stored.companies.values()]
    stored.interlocutors = {
        (row["tenant_id"], row["email"]): row
        for row in _rows(session, Interlocutor, Interlocutor.tenant_id, tenant_ids)
    }
    stored.accounts = {
        (row["tenant_id"], row["ref"]): row
        for row in _rows(session, BillingAccount, BillingAccount.tenant_id, tenant_ids)
    }
    return stored


def _company_ids(stage: Copier, ids: dict[int, int | None]) -> None:
    """Tell the staging tables each company's id (None: not stored yet), by the company's place."""
    _restage(stage, "companies", list(ids.items()))


def _restage(stage: Copier, name: str, rows: list[tuple]) -> None:
    """Replace the rows of a small staging table, and give it statistics."""
    stage.sql(f"DELETE FROM {stage.tables[name].name}")  # noqa: S608 (a name of this module)
    stage.extend(name, rows)
    stage.flush()
    if stage.postgres:
        stage.sql(f"ANALYZE {stage.tables[name].name}")
    stage.pause()


def _check_against_stored(records: Records, stored: _Stored, stage: Copier) -> None:
    """The lines' tariffs and billing accounts exist and fit them, and no number is another company's. The
    distinct (tariff, product) and (company, account, kind) of the lines are few: they are checked here, then
    the lines that have a wrong one are fetched, in the order of the document."""
    companies = {_place(c): c for c in records.companies}
    tenant_ids = {index: stored.companies.get(c.fiscal_id, {}).get("id") for index, c in companies.items()}
    bad_tariffs, bad_accounts = _wrong_references(records, stored, stage, companies, tenant_ids)
    errors: list[tuple[int, int, int, RecordError]] = []
    if bad_tariffs or bad_accounts:
        # Few lines are wrong in a file that passed validation; the staged lines are read once to find them.
        for company, line, tariff, product, ref, kind in stage.sql(
            "SELECT company, line, tariff, product, billing_account, kind FROM stage_record_lines"
        ):
            place = line_path(company, line)
            if rule := bad_tariffs.get((tariff, product)):
                errors.append((company, line, 0, RecordError(f"{place}.tariff", tariff, rule)))
            if rule := bad_accounts.get((company, ref, kind)):
                errors.append((company, line, 1, RecordError(f"{place}.billing_account", ref, rule)))
    total = len(errors)
    _company_ids(stage, tenant_ids)
    owned = (
        " FROM stage_record_lines s JOIN lines l ON l.number = s.number"
        " JOIN stage_record_companies c ON c.company = s.company"
        " WHERE c.tenant_id IS NULL OR l.tenant_id <> c.tenant_id"
    )
    taken = stage.sql("SELECT count(*)" + owned).scalar()
    if taken:
        total += taken
        rows = stage.sql(
            "SELECT s.company, s.line, s.number" + owned + " ORDER BY s.company, s.line LIMIT :n",
            n=MAX_ERRORS,
        )
        for company, line, number in rows:
            error = RecordError(f"{line_path(company, line)}.number", number, "belongs to another company")
            errors.append((company, line, 2, error))
    if total:
        errors.sort(key=lambda e: e[:3])
        raise RecordsInvalid([e[3] for e in errors[:MAX_ERRORS]], total)


def _place(company: CompanyRecord) -> int:
    """The company's place in the document: ``companies[12]`` is 12."""
    return int(company.path[len("companies[") : -1])


def _wrong_references(
    records: Records,
    stored: _Stored,
    stage: Copier,
    companies: dict[int, CompanyRecord],
    tenant_ids: dict[int, int | None],
) -> tuple[dict, dict]:
    """The (tariff, product) of lines that no tariff fits, and the (company, account, kind) that no billing
    account fits, each with the rule broken."""
    families = {code: row["family"] for code, row in stored.tariffs.items()}
    families.update({t.code: t.family for t in records.tariffs})
    bad_tariffs = {}
    for tariff, product in stage.sql("SELECT DISTINCT tariff, product FROM stage_record_lines"):
        if tariff not in families:
            bad_tariffs[(tariff, product)] = "no tariff has this code"
        elif families[tariff] != product:
            bad_tariffs[(tariff, product)] = f"is a {families[tariff]} tariff, the line is {product}"
    stored_kinds = {key: row["kind"] for key, row in stored.accounts.items()}
    bad_accounts = {}
    found = stage.sql("SELECT DISTINCT company, billing_account, kind FROM stage_record_lines")
    for company, ref, kind in found:
        file_kinds = {a["ref"]: a["kind"] for a in companies[company].billing_accounts}
        account_kind = file_kinds.get(ref) or stored_kinds.get((tenant_ids[company], ref))
        if account_kind is None:
            bad_accounts[(company, ref, kind)] = "the company has no billing account with this ref"
        elif account_kind != kind:
            bad_accounts[(company, ref, kind)] = f"is a {account_kind} account, the line is {kind}"
    return bad_tariffs, bad_accounts


def _write(session: Session, records: Records, stored: _Stored, stage: Copier, report: ImportReport) -> None:
    tariffs = {t.code: {f: getattr(t, f) for f in TARIFF_FIELDS} for t in records.tariffs}
    _apply(session, Tariff, tariffs, stored.tariffs, report.counts["tariffs"])

    companies = {c.fiscal_id: _company_values(c) for c in records.companies}
    _apply(session, Company, companies, stored.companies, report.counts["companies"])
    company_ids = _ids(session, Company, Company.fiscal_id, companies)

    interlocutors, accounts = {}, {}
    for company in records.companies:
        tenant_id = company_ids[company.fiscal_id]
        for person in company.interlocutors:
            interlocutors[(tenant_id, person["email"])] = {"tenant_id": tenant_id, **person}
        for account in company.billing_accounts:
            key = (tenant_id, account["ref"])
            # Billing details not given stay as stored; a new account starts from the defaults.
            defaults = ACCOUNT_DETAILS if key not in stored.accounts else {}
            accounts[key] = {**defaults, "tenant_id": tenant_id, **account}
    _apply(session, Interlocutor, interlocutors, stored.interlocutors, report.counts["interlocutors"])
    _apply(session, BillingAccount, accounts, stored.accounts, report.counts["billing_accounts"])
    session.flush()
    places = {company_ids[c.fiscal_id]: _place(c) for c in records.companies}
    _company_ids(stage, {place: tenant_id for tenant_id, place in places.items()})
    account_ids = [
        (places[row.tenant_id], row.ref, row.id)
        for clause in _in_batches(session, BillingAccount.tenant_id, places)
        for row in session.execute(
            select(BillingAccount.id, BillingAccount.tenant_id, BillingAccount.ref).where(clause)
        )
    ]
    _restage(stage, "accounts", account_ids)
    codes = stage.sql("SELECT DISTINCT tariff FROM stage_record_lines").scalars().all()
    _restage(stage, "tariffs", list(_ids(session, Tariff, Tariff.code, codes).items()))
    _write_lines(stage, report.counts["lines"])


#: The lines as the document gives them, with the ids of their company, tariff and billing account (the
#: checks above made sure that each has one).
_WANTED_LINES = (
    " SELECT c.tenant_id, s.number, s.kind, s.product, s.status, t.id AS tariff_id,"
    " a.id AS billing_account_id FROM stage_record_lines s"
    " JOIN stage_record_companies c ON c.company = s.company"
    " JOIN stage_record_tariffs t ON t.code = s.tariff"
    " JOIN stage_record_accounts a ON a.company = s.company AND a.ref = s.billing_account"
)
LINE_FIELDS = ("kind", "product", "status", "tariff_id", "billing_account_id")


def _write_lines(stage: Copier, counts: Counts) -> None:
    """One ``UPDATE … FROM`` for the lines that differ, one ``INSERT … SELECT`` for the new ones."""
    now = bindparam("now", utcnow(), type_=UTCDateTime())
    assignments = ", ".join(f"{name} = w.{name}" for name in LINE_FIELDS)
    differs = " OR ".join(f"lines.{name} <> w.{name}" for name in LINE_FIELDS)
    updated = stage.session.execute(
        text(
            f"UPDATE lines SET {assignments}, updated_at = :now FROM ({_WANTED_LINES}) w"  # noqa: S608
            f" WHERE lines.tenant_id = w.tenant_id AND lines.number = w.number AND ({differs})"
        ).bindparams(now)
    ).rowcount
    names = ", ".join(("tenant_id", "number", *LINE_FIELDS))
    created = stage.session.execute(
        text(
            f"INSERT INTO lines ({names}, created_at, updated_at) SELECT {names}, :now, :now"  # noqa: S608
            f" FROM ({_WANTED_LINES}) w WHERE NOT EXISTS"
            " (SELECT 1 FROM lines l WHERE l.number = w.number)"
        ).bindparams(now)
    ).rowcount
    counts.created, counts.updated = created, updated
    counts.unchanged = stage.staged["lines"] - created - updated


#: A new billing account's details when the document gives none.
ACCOUNT_DETAILS = {
    "mandate_reference": None,
    "mandate_signed_on": None,
    "billing_address": None,
    "billing_postcode": None,
    "billing_city": None,
    "billing_province": None,
    "invoice_delivery": "paper",
    "einvoice_emails": None,
}
TARIFF_FIELDS = ("code", "name", "family", "monthly_fee_eur", "data_gb", "voice_minutes")


def _company_values(company: CompanyRecord) -> dict:
    return {
        "fiscal_id": company.fiscal_id,
        "fiscal_id_kind": company.fiscal_id_kind,
        "name": company.name,
        "segment": company.segment,
    }


_STAMPS = frozenset({"created_at", "updated_at"})


def _apply(session: Session, model: type, wanted: dict, stored: dict, counts: Counts) -> None:
    """Insert the rows that are new, update those that differ, leave the rest alone."""
    new, changed = [], []
    for key, values in wanted.items():
        current = stored.get(key)
        if current is None:
            new.append(values)
        elif any(current[name] != value for name, value in values.items() if name not in _STAMPS):
            changed.append({"id": current["id"], **{k: v for k, v in values.items() if k != "created_at"}})
        else:
            counts.unchanged += 1
    _insert(session, model.__table__, new)
    for chunk in _chunks(changed):
        session.execute(update(model), chunk)
    counts.created += len(new)
    counts.updated += len(changed)


def _insert(session: Session, table: Table, rows: list[dict]) -> None:
    for chunk in _chunks(rows):
        session.execute(insert(table), chunk)


def _ids(session: Session, model: type, key: Any, values: Iterable[str]) -> dict[str, int]:
    return {
        row[0]: row[1]
        for clause in _in_batches(session, key, values)
        for row in session.execute(select(key, model.id).where(clause))
    }

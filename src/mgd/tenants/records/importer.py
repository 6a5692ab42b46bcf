"""Writing validated operator records: checks against what is stored, then an upsert by natural keys.

Natural keys: tariffs by code, companies by fiscal ID, and within a company interlocutors by email, billing
accounts by ref and lines by number. Rows that are already as the document says are left untouched, so
importing the same document twice changes nothing. Nothing is deleted. The caller commits (or rolls back).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ARRAY, Table, any_, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from mgd.db import operator_scope, utcnow
from mgd.tenants.models import BillingAccount, Company, Interlocutor, Line, Tariff
from mgd.tenants.records.validate import CompanyRecord, RecordError, Records, RecordsInvalid

CHUNK = 2000  # rows a statement, values an IN list
ARRAY_CHUNK = 20_000  # values an array parameter (PostgreSQL)


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
    """What the database already holds for the document, keyed by natural keys."""

    tariffs: dict[str, dict] = field(default_factory=dict)
    companies: dict[str, dict] = field(default_factory=dict)
    interlocutors: dict[tuple[int, str], dict] = field(default_factory=dict)
    accounts: dict[tuple[int, str], dict] = field(default_factory=dict)
    lines: dict[str, dict] = field(default_factory=dict)  # by number, whichever company owns it


def import_records(session: Session, records: Records) -> ImportReport:
    """Upsert ``records``; raise ``RecordsInvalid`` (before writing anything) if they clash with stored data.

    Flushes but does not commit: the caller commits, or rolls back for a dry run.
    """
    with operator_scope(session, "records import"):
        stored = _load_stored(session, records)
        _check_against_stored(records, stored)
        report = ImportReport()
        _write(session, records, stored, report)
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


def _load_stored(session: Session, records: Records) -> _Stored:
    stored = _Stored()
    codes = {t.code for t in records.tariffs} | {line.tariff for c in records.companies for line in c.lines}
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
    numbers = [line.number for c in records.companies for line in c.lines]
    stored.lines = {row["number"]: row for row in _rows(session, Line, Line.number, numbers)}
    return stored


def _check_against_stored(records: Records, stored: _Stored) -> None:
    errors: list[RecordError] = []
    families = {code: row["family"] for code, row in stored.tariffs.items()}
    families.update({t.code: t.family for t in records.tariffs})
    stored_kinds = {key: row["kind"] for key, row in stored.accounts.items()}
    for company in records.companies:
        tenant_id = stored.companies.get(company.fiscal_id, {}).get("id")
        file_kinds = {a["ref"]: a["kind"] for a in company.billing_accounts}
        for line in company.lines:
            if line.tariff not in families:
                errors.append(RecordError(f"{line.path}.tariff", line.tariff, "no tariff has this code"))
            elif families[line.tariff] != line.product:
                rule = f"is a {families[line.tariff]} tariff, the line is {line.product}"
                errors.append(RecordError(f"{line.path}.tariff", line.tariff, rule))
            account_kind = file_kinds.get(line.billing_account) or stored_kinds.get(
                (tenant_id, line.billing_account)
            )
            if account_kind is None:
                rule = "the company has no billing account with this ref"
                errors.append(RecordError(f"{line.path}.billing_account", line.billing_account, rule))
            elif account_kind != line.kind:
                rule = f"is a {account_kind} account, the line is {line.kind}"
                errors.append(RecordError(f"{line.path}.billing_account", line.billing_account, rule))
            owner = stored.lines.get(line.number)
            if owner is not None and owner["tenant_id"] != tenant_id:
                errors.append(RecordError(f"{line.path}.number", line.number, "belongs to another company"))
    if errors:
        raise RecordsInvalid(errors[:200], len(errors))


def _write(session: Session, records: Records, stored: _Stored, report: ImportReport) -> None:
    tariffs = {t.code: {f: getattr(t, f) for f in TARIFF_FIELDS} for t in records.tariffs}
    _apply(session, Tariff, tariffs, stored.tariffs, report.counts["tariffs"])
    tariff_ids = _ids(session, Tariff, Tariff.code, {t.code for t in records.tariffs} | stored.tariffs.keys())

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
    account_ids = {
        (row.tenant_id, row.ref): row.id
        for clause in _in_batches(session, BillingAccount.tenant_id, company_ids.values())
        for row in session.execute(
            select(BillingAccount.id, BillingAccount.tenant_id, BillingAccount.ref).where(clause)
        )
    }

    lines = {}
    now = utcnow()  # one import, one time: also spares a clock call per line
    for company in records.companies:
        tenant_id = company_ids[company.fiscal_id]
        for line in company.lines:
            lines[line.number] = {
                "created_at": now,
                "updated_at": now,
                "tenant_id": tenant_id,
                "number": line.number,
                "kind": line.kind,
                "product": line.product,
                "status": line.status,
                "tariff_id": tariff_ids[line.tariff],
                "billing_account_id": account_ids[(tenant_id, line.billing_account)],
            }
    _apply(session, Line, lines, stored.lines, report.counts["lines"])


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
    """Insert many rows: with COPY on PostgreSQL (several times faster than INSERTs), else executemany.
    PostgreSQL refuses COPY into a table whose Row-Level Security binds the importing role: INSERTs then."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql" or session.scalar(
        text("SELECT row_security_active(:table)"), {"table": table.name}
    ):
        for chunk in _chunks(rows):
            session.execute(insert(table), chunk)
        return
    given = [c.key for c in table.columns if c.key in rows[0]]
    defaults = [c for c in table.columns if c.key not in rows[0] and c.default is not None]
    names = ", ".join([*(table.columns[key].name for key in given), *(c.name for c in defaults)])
    raw = session.connection().connection.dbapi_connection  # the session's own transaction
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[key] for key in given] + [_default(c.default) for c in defaults])


def _default(default: Any) -> Any:
    """A column's Python-side default, as SQLAlchemy would compute it for an INSERT."""
    return default.arg(None) if default.is_callable else default.arg


def _ids(session: Session, model: type, key: Any, values: Iterable[str]) -> dict[str, int]:
    return {
        row[0]: row[1]
        for clause in _in_batches(session, key, values)
        for row in session.execute(select(key, model.id).where(clause))
    }

"""Usage records for tests: files in the import's format, and a company with lines to receive them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from mgd.db import operator_scope
from mgd.usage.models import UsageDaily, UsageRecord
from mgd.usage.records import FIELDS

MEASURES = ("duration_s", "bytes", "units", "cost_cents")


def record(company: str, line: str, n: int, **values) -> dict:
    """A valid record: a call of ``n`` minutes out of ``line``, 10 cents a minute, on 3 November 2026."""
    return {
        "company": company,
        "line": line,
        "record_id": f"CDR-{n}",
        "started_at": f"2026-11-03T{8 + n % 12:02d}:{n % 60:02d}:00+01:00",
        "kind": "voice",
        "direction": "out",
        "destination": "+34910000000",
        "duration_s": str(60 * n),
        "cost_cents": str(10 * n),
    } | values


def write_csv(path: Path, records: list[dict], fields: tuple[str, ...] = FIELDS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fields))
        writer.writeheader()
        for row in records:
            writer.writerow({name: row.get(name, "") for name in fields})
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in records), encoding="utf-8")
    return path


def daily_matches_records(session: Session) -> bool:
    """``usage_daily`` is exactly the sum of ``usage_records`` (both read in an operator scope)."""
    with operator_scope(session, "test: usage sums"):
        records = session.execute(
            select(
                UsageRecord.tenant_id,
                UsageRecord.line_id,
                UsageRecord.kind,
                UsageRecord.direction,
                UsageRecord.billed,
                UsageRecord.roaming_zone.is_not(None),
                func.count(),
                *(func.sum(getattr(UsageRecord, m)) for m in MEASURES),
            ).group_by(
                UsageRecord.tenant_id,
                UsageRecord.line_id,
                UsageRecord.kind,
                UsageRecord.direction,
                UsageRecord.billed,
                UsageRecord.roaming_zone.is_not(None),
            )
        ).all()
        daily = session.execute(
            select(
                UsageDaily.tenant_id,
                UsageDaily.line_id,
                UsageDaily.kind,
                UsageDaily.direction,
                UsageDaily.billed,
                UsageDaily.roaming,
                func.sum(UsageDaily.records),
                *(func.sum(getattr(UsageDaily, m)) for m in MEASURES),
            ).group_by(
                UsageDaily.tenant_id,
                UsageDaily.line_id,
                UsageDaily.kind,
                UsageDaily.direction,
                UsageDaily.billed,
                UsageDaily.roaming,
            )
        ).all()
        zero = session.execute(text("SELECT count(*) FROM usage_daily WHERE records = 0")).scalar_one()

    def shape(rows):
        return sorted((*row[:6], *(int(value) for value in row[6:])) for row in rows)

    return shape(records) == shape(daily) and not zero

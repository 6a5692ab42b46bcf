"""Demo consumption: valid records of the last two cycles, the current one unbilled, on a few companies."""

from __future__ import annotations

from datetime import UTC, date, datetime

from mgd.tenants.demo import demo_document
from mgd.usage.demo import COMPANIES, cycle_day, usage_rows
from mgd.usage.records import Errors, check
from mgd.usage.services import cycle_for


def test_demo_records_are_valid_and_billed_before_the_current_cycle():
    document = demo_document(companies=8, seed=1489)
    today = date(2026, 11, 20)
    rows = list(usage_rows(document, today))
    errors = Errors()
    records = [
        check({k: str(v) for k, v in row.items()}, "demo", errors, datetime(2026, 11, 21, tzinfo=UTC))
        for row in rows
    ]
    assert errors.total == 0, errors.kept[:3]
    assert {r.company for r in records} <= {c["fiscal_id"] for c in document["companies"][:COMPANIES]}
    assert {r.kind for r in records} == {"voice", "sms", "data", "mms", "premium"}
    assert any(r.roaming_zone for r in records) and any(r.direction == "in" for r in records)
    for index, company in enumerate(document["companies"][:COMPANIES]):
        start = cycle_for(cycle_day(index), today).start
        mine = [r for r in records if r.company == company["fiscal_id"]]
        assert all(r.billed == (r.day < start) for r in mine)
        assert any(not r.billed for r in mine) and any(r.billed for r in mine)
    assert len({r.record_id for r in records}) == len(records) < 20_000

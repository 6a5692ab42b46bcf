"""The billing cycle from the account's cycle day, and the allowance used in it per line and per pool."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from mgd.db import set_tenant
from mgd.tenants.models import UsagePool
from mgd.usage.models import Bundle, LineBundle
from mgd.usage.records import import_usage
from mgd.usage.services import GB, Cycle, allowance_use, cycle_for
from tests.factories import make_company, make_line
from tests.usage.helpers import record, write_csv


@pytest.mark.parametrize(
    ("day", "on", "start", "end"),
    [
        (1, date(2026, 11, 1), date(2026, 11, 1), date(2026, 11, 30)),
        (1, date(2026, 11, 30), date(2026, 11, 1), date(2026, 11, 30)),
        (15, date(2026, 11, 14), date(2026, 10, 15), date(2026, 11, 14)),
        (15, date(2026, 11, 15), date(2026, 11, 15), date(2026, 12, 14)),
        (28, date(2027, 1, 10), date(2026, 12, 28), date(2027, 1, 27)),
        (28, date(2027, 2, 28), date(2027, 2, 28), date(2027, 3, 27)),
        (10, date(2026, 12, 31), date(2026, 12, 10), date(2027, 1, 9)),
    ],
)
def test_a_cycle_runs_from_its_day_to_the_day_before_it_next_month(day, on, start, end):
    cycle = cycle_for(day, on)
    assert (cycle.start, cycle.end, cycle.resets_on) == (
        start,
        end,
        end + timedelta(days=1),
    )


def test_a_cycle_day_must_be_1_to_28():
    with pytest.raises(ValueError, match="between 1 and 28"):
        cycle_for(29, date(2026, 11, 1))


def test_allowance_use_sums_the_cycle_per_line_and_per_pool(db_session, tmp_path):
    company = make_company(db_session)
    alone, pooled, other = (make_line(db_session, company) for _ in range(3))
    set_tenant(db_session, company.id)
    alone.tariff.data_gb, alone.tariff.voice_minutes = Decimal("10.00"), 100
    bundle = Bundle(code="B5", name="5 GB más", data_gb=Decimal("5"), monthly_fee_eur=Decimal("5.00"))
    pool = UsagePool(tenant_id=company.id, name="Ventas", data_gb=Decimal("50"), voice_minutes=1000)
    db_session.add_all([bundle, pool])
    db_session.flush()
    db_session.add(
        LineBundle(tenant_id=company.id, line_id=alone.id, bundle_id=bundle.id, starts_on=date(2026, 11, 1))
    )
    db_session.add(
        LineBundle(
            tenant_id=company.id,
            line_id=alone.id,
            bundle_id=bundle.id,
            starts_on=date(2026, 9, 1),
            ends_on=date(2026, 9, 30),
        )
    )
    pooled.pool_id = other.pool_id = pool.id
    db_session.flush()
    f = company.fiscal_id
    rows = [
        record(f, alone.number, 1, started_at="2026-11-03T10:00:00+01:00", duration_s="600"),
        record(f, alone.number, 2, started_at="2026-11-03T11:00:00+01:00", direction="in", duration_s="900"),
        record(f, alone.number, 3, kind="data", bytes=str(2 * GB), duration_s="0"),
        record(f, alone.number, 4, kind="data", bytes=str(GB), duration_s="0", roaming_zone="world1"),
        record(f, alone.number, 5, kind="sms", units="1", duration_s="0"),
        record(
            f, alone.number, 6, started_at="2026-10-31T23:30:00+01:00", duration_s="60"
        ),  # the cycle before
        record(f, pooled.number, 7, duration_s="120"),
        record(f, other.number, 8, duration_s="180", roaming_zone="eu"),
    ]
    import_usage(db_session, [write_csv(tmp_path / "usage.csv", rows)])
    cycle = Cycle(date(2026, 11, 1), date(2026, 11, 30))

    use = allowance_use(db_session, company.id, None, cycle)
    line = use.lines[alone.id]
    assert (line.data_bytes, line.voice_seconds) == (2 * GB, 600)
    assert (line.data_allowance_bytes, line.voice_allowance_seconds) == (15 * GB, 6000)
    assert line.data_ratio == Decimal("0.1333") and line.voice_ratio == Decimal("0.1000")
    shared = use.pools[pool.id]  # the call roaming in the EU does not count
    assert (shared.voice_seconds, shared.data_allowance_bytes, sorted(shared.line_ids)) == (
        120,
        50 * GB,
        sorted([pooled.id, other.id]),
    )
    assert set(use.lines) == {alone.id}

    with_roaming = allowance_use(db_session, company.id, [alone.id, other.id], cycle, roaming=True)
    assert with_roaming.lines[alone.id].data_bytes == 3 * GB
    assert with_roaming.pools[pool.id].voice_seconds == 180 and with_roaming.pools[pool.id].line_ids == [
        other.id
    ]

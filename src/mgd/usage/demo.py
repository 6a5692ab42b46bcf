"""Demo consumption for ``mgd demo``: usage records of the demo companies' lines (voice, SMS, data, some
roaming and premium services) for the previous cycle (billed) and the current one up to today (unbilled),
written as a usage file for the records import; add-on bundles, a bundle on a few lines and a shared pool in
the first companies with mobile lines, so that the consumption pages have allowances to show.

Small on purpose: the first ``COMPANIES`` companies, at most ``LINES`` lines each (SQLite loads it in
seconds).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mgd.db import operator_scope
from mgd.identifiers import normalize_fiscal_id
from mgd.tenants.models import BillingAccount, Company, Line, UsagePool
from mgd.usage.models import Bundle, LineBundle
from mgd.usage.partitions import MADRID, add_months
from mgd.usage.records import FIELDS
from mgd.usage.services import cycle_for

LINES = 15
COMPANIES = 6
#: Records a line makes on an ordinary day, by kind (mobile lines; fixed lines only call).
PER_DAY = {"voice": 2.0, "sms": 0.4, "data": 1.2, "premium": 0.02, "mms": 0.02}
BUNDLES = [
    {
        "code": "BONO-5GB",
        "name": "Bono 5 GB adicionales",
        "data_gb": Decimal(5),
        "monthly_fee_eur": Decimal(5),
    },
    {"code": "BONO-300MIN", "name": "Bono 300 minutos", "voice_minutes": 300, "monthly_fee_eur": Decimal(4)},
]


def cycle_day(index: int) -> int:
    """The demo companies' cycles: every other one starts on the 15th (``add_allowances`` sets it)."""
    return 15 if index % 2 else 1


def usage_rows(
    document: dict, today: date, *, companies: int = COMPANIES, seed: int = 1489
) -> Iterator[dict]:
    """The records (fields of the usage file) of the first ``companies`` companies of a records document,
    from the start of the previous cycle (billed, invoice number ``FV-<yyyymm>-<account>``) to ``today``
    (the current cycle: unbilled)."""
    count = 0
    for index, company in enumerate(document["companies"][:companies]):
        rng = random.Random(f"{seed}-usage-{index}")  # noqa: S311 (demo data)
        fiscal_id = normalize_fiscal_id(company["fiscal_id"]).value
        current = cycle_for(cycle_day(index), today)
        billed_before = current.start
        start = cycle_for(cycle_day(index), current.start - timedelta(days=1)).start
        for line in company.get("lines", [])[:LINES]:
            heavy = rng.random() < 0.15  # a few lines that use a lot of data: near or over their allowance
            day = start
            while day <= today:
                for kind, rate in PER_DAY.items():
                    if line["kind"] == "fixed" and kind != "voice":
                        continue
                    for _ in range(_poisson(rng, rate * (3 if heavy and kind == "data" else 1))):
                        count += 1
                        yield _record(rng, fiscal_id, line, day, kind, count, day < billed_before, today)
                day += timedelta(days=1)


def _poisson(rng: random.Random, mean: float) -> int:
    count, threshold, product = 0, pow(2.718281828, -mean), rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def _record(rng, fiscal_id, line, day, kind, n, billed, today) -> dict:  # noqa: PLR0917 (one record's facts)
    moment = datetime.combine(day, time(8), MADRID) + timedelta(minutes=rng.randrange(14 * 60))
    if moment.date() == today and moment > datetime.now(MADRID):
        moment = datetime.combine(day, time(0, 5), MADRID) + timedelta(minutes=rng.randrange(60))
    roaming = rng.random() < 0.04 and line["kind"] == "mobile"
    zone = ("eu" if rng.random() < 0.85 else "world1") if roaming else ""
    direction = "in" if kind in ("voice", "sms") and rng.random() < 0.35 else "out"
    row = {
        "company": fiscal_id,
        "line": line["number"],
        "record_id": f"DEMO-{fiscal_id}-{n:07d}",
        "started_at": moment.astimezone(UTC).isoformat(),
        "kind": kind,
        "direction": direction,
        "country": {"eu": "FR", "world1": "US"}.get(zone, "ES"),
        "roaming_zone": zone,
        "billed": "true" if billed else "false",
        "invoice_number": f"FV-{day:%Y%m}-{line['billing_account']}" if billed else "",
    }
    if kind == "voice":
        seconds = int(rng.expovariate(1 / 140)) + 5
        cost = 0 if direction == "in" else (seconds * 45 // 60 if zone == "world1" else 0)
        row |= {"duration_s": seconds, "cost_cents": cost, "destination": f"+346{rng.randrange(10**8):08d}"}
    elif kind == "data":
        size = int(rng.expovariate(1 / 90_000_000))
        row |= {"bytes": size, "cost_cents": size // 5_000_000 if zone == "world1" else 0}
        row |= {"destination": "internet"}
    else:
        price = {"sms": 9, "mms": 35, "premium": 150}[kind] if direction == "out" else 0
        row |= {
            "units": 1,
            "cost_cents": price,
            # Messages to people with their last three digits masked, as the operator sends them; premium
            # services by their short code.
            "destination": f"+346{rng.randrange(10**5):05d}***"
            if kind != "premium"
            else f"79{rng.randrange(5, 10)}{rng.randrange(1000):03d}",
        }
    return row


def write_usage_file(rows: Iterator[dict], path: Path) -> int:
    """The rows as a usage CSV file; how many."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(FIELDS))
        writer.writeheader()
        for row in rows:
            writer.writerow({name: row.get(name, "") for name in FIELDS})
            count += 1
    return count


def add_allowances(session: Session, today: date, *, companies: int = COMPANIES) -> None:
    """The bundles of the catalogue; the first ``companies`` companies' cycle day (``cycle_day``); in each of
    them with mobile lines, a bundle on its first mobile line since last month; in those with six or more, a
    pool shared by three of them."""
    bundles = {}
    for values in BUNDLES:
        bundle = session.scalar(select(Bundle).where(Bundle.code == values["code"]))
        if bundle is None:
            bundle = Bundle(**values)
            session.add(bundle)
        bundles[values["code"]] = bundle
    session.flush()
    with operator_scope(session, "demo: allowances"):
        chosen = session.scalars(select(Company).order_by(Company.id).limit(companies)).all()
        for index, company in enumerate(chosen):
            for account in session.scalars(
                select(BillingAccount).where(BillingAccount.tenant_id == company.id)
            ):
                account.cycle_day = cycle_day(index)
            mobiles = session.scalars(
                select(Line).where(Line.tenant_id == company.id, Line.kind == "mobile").order_by(Line.number)
            ).all()
            if not mobiles or session.scalar(select(LineBundle.id).where(LineBundle.tenant_id == company.id)):
                continue  # no mobile lines, or done already
            session.add(
                LineBundle(
                    tenant_id=company.id,
                    line_id=mobiles[0].id,
                    bundle_id=bundles["BONO-5GB"].id,
                    starts_on=add_months(today.replace(day=1), -1),
                )
            )
            if len(mobiles) >= 6:
                pool = UsagePool(
                    tenant_id=company.id, name="Equipo comercial", data_gb=Decimal(30), voice_minutes=1500
                )
                session.add(pool)
                session.flush()
                for line in mobiles[1:4]:
                    line.pool_id = pool.id
        session.flush()

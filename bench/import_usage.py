"""Benchmark: `mgd records import` of a usage file (CSV) on PostgreSQL, run as the production roles: an owner
that migrates, and a portal role with neither SUPERUSER nor BYPASSRLS.

Creates two roles and a database of its own for the run (import_billing.py's ``production_database``),
migrates it as the owner, imports the companies' records document (a company of ``--big-lines`` lines among
others), writes ``--records`` usage records over six months (most of them the big company's: voice, SMS, data,
a few MMS and premium services, some roaming; the months before the current cycle billed) and times
`mgd records import usage.csv` as the portal's role, first import and re-import, in a process of its own
(peak memory measured). Then checks, as the superuser, that ``usage_daily`` is exactly the sum of
``usage_records``, and drops the database and both roles.

Usage: python bench/import_usage.py [--admin-url URL] [--records N] [--big-lines N] [--others N]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from import_billing import ADMIN_URL, BackendCpu, dataset, import_companies, mgd, production_database
from mgd.usage.records import FIELDS

START = datetime(2026, 6, 1, tzinfo=UTC).timestamp()
END = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
BILLED_BEFORE = datetime(2026, 11, 1, tzinfo=UTC).timestamp()  # the current cycle: November, unbilled
# kind, direction, share
MIX = [
    ("voice", "out", 38),
    ("voice", "in", 17),
    ("sms", "out", 14),
    ("sms", "in", 6),
    ("data", "out", 23),
    ("mms", "out", 1),
    ("premium", "out", 1),
]


def write_usage(document: dict, path: Path, records: int, big_share: float = 0.9, seed: int = 13) -> int:
    """``records`` usage records, ``big_share`` of them on the first (big) company's lines, in time order per
    file chunk (as a mediation system writes them); the number written."""
    rng = random.Random(seed)
    big = document["companies"][0]
    others = [(c["fiscal_id"], line["number"]) for c in document["companies"][1:] for line in c["lines"]]
    mine = [(big["fiscal_id"], line["number"]) for line in big["lines"]]
    kinds = [(kind, direction) for kind, direction, share in MIX for _ in range(share)]
    span = END - START
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        for n in range(records):
            company, number = (
                rng.choice(mine) if rng.random() < big_share or not others else rng.choice(others)
            )
            kind, direction = rng.choice(kinds)
            at = START + span * n / records + rng.random() * 60
            started = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            roaming = rng.random() < 0.03
            zone = ("eu" if rng.random() < 0.8 else "world1") if roaming else ""
            duration = data = units = 0
            if kind == "voice":
                duration = int(rng.expovariate(1 / 150)) + 1
                cost = 0 if direction == "in" else (duration * (30 if zone == "world1" else 0)) // 60
            elif kind == "data":
                data = int(rng.expovariate(1 / 20_000_000))
                cost = data // 10_000_000 if zone == "world1" else 0
            else:
                units = 1
                cost = 0 if direction == "in" else {"sms": 9, "mms": 35, "premium": 120}[kind]
            billed = at < BILLED_BEFORE
            invoice = f"FV{datetime.fromtimestamp(at, UTC).strftime('%y%m')}-{company}" if billed else ""
            destination = "" if kind == "data" else f"+3460000{rng.randrange(10000):04d}"
            writer.writerow(
                [
                    company,
                    number,
                    f"C{n:010d}",
                    started,
                    kind,
                    cost,
                    direction,
                    destination,
                    "ES" if not zone else ("FR" if zone == "eu" else "US"),
                    zone,
                    duration,
                    data,
                    units,
                    "true" if billed else "false",
                    invoice,
                ]
            )
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default=ADMIN_URL, help="a superuser, to create and drop the run's roles"
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--big-lines", type=int, default=5_000)
    parser.add_argument("--others", type=int, default=40, help="other companies")
    parser.add_argument("--lines-per-other", type=int, default=100)
    parser.add_argument("--no-reimport", action="store_true", help="time the first import only")
    args = parser.parse_args()

    with production_database(args.admin_url, "usage") as run, tempfile.TemporaryDirectory() as workdir:
        env = os.environ | {
            "MGD_DATABASE_URL": run.app_url,
            "MGD_DATABASE_OWNER_URL": run.owner_url,
            "MGD_SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "MGD_INSTANCE_PATH": workdir,
        }
        measure(args, env, Path(workdir), run.app, run.name)


def measure(args, env: dict, workdir: Path, app: str, name: str) -> None:
    document = dataset(args.big_lines, args.others, args.lines_per_other)
    lines = sum(len(c["lines"]) for c in document["companies"])
    seconds = import_companies(env, workdir, document)
    print(
        f"companies: {len(document['companies'])} ({lines} lines; one of {args.big_lines}) in {seconds:.1f} s"
    )
    started = time.perf_counter()
    path = workdir / "usage.csv"
    records = write_usage(document, path, args.records)
    print(
        f"usage file: {records:,} records, {path.stat().st_size / 1e6:.0f} MB of CSV, "
        f"written in {time.perf_counter() - started:.0f} s"
    )
    engine = create_engine(env["MGD_DATABASE_URL"])
    with engine.connect() as connection:
        role = connection.execute(
            text("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
    engine.dispose()
    print(f"importing as {role[0]} (superuser: {role[1]}, bypassrls: {role[2]})")
    for label in ("first import",) if args.no_reimport else ("first import", "re-import"):
        load = os.getloadavg()[0]
        run = mgd(env, "records", "import", str(path), cpu=BackendCpu(args.admin_url, app))
        cpu = run["client_cpu"] + run["server_cpu"]
        print(
            f"{label}: {run['seconds']:.1f} s = {records / run['seconds']:,.0f} records/s "
            f"(load average {load:.1f} on {os.cpu_count()} CPUs; CPU time: mgd {run['client_cpu']:.1f} s + "
            f"its PostgreSQL backend {run['server_cpu']:.1f} s = {cpu:.1f} s, "
            f"{records / cpu:,.0f} records per CPU-second; peak memory of the children so far "
            f"{run['peak_mib']} MiB)"
        )
        print("  " + run["output"].strip().replace("\n", "\n  "))
        found = re.search(r"usage_records: (\d+) were created", run["output"])
        expected = records if label == "first import" else 0
        assert found and int(found.group(1)) == expected, run["output"]
    check_sums(args.admin_url, name, records)


def check_sums(admin_url: str, name: str, records: int) -> None:
    """``usage_daily`` is exactly the sum of ``usage_records`` (read as the superuser: every company)."""
    engine = create_engine(make_url(admin_url).set(database=name))
    with engine.connect() as connection:
        stored, daily, partitions = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM usage_records), (SELECT count(*) FROM usage_daily),"
                " (SELECT count(*) FROM pg_inherits WHERE inhparent = 'usage_records'::regclass)"
            )
        ).one()
        wrong = connection.scalar(
            text(
                "SELECT count(*) FROM (SELECT tenant_id, line_id,"
                " (started_at AT TIME ZONE 'Europe/Madrid')::date AS day, kind, direction, billed,"
                " roaming_zone IS NOT NULL AS roaming, count(*) AS records,"
                " sum(duration_s) AS duration_s, sum(bytes) AS bytes, sum(units) AS units,"
                " sum(cost_cents) AS cost_cents FROM usage_records GROUP BY 1, 2, 3, 4, 5, 6, 7) r"
                " FULL JOIN usage_daily d USING (tenant_id, line_id, day, kind, direction, billed, roaming)"
                " WHERE r.records IS DISTINCT FROM d.records OR r.duration_s IS DISTINCT FROM d.duration_s"
                " OR r.bytes IS DISTINCT FROM d.bytes OR r.units IS DISTINCT FROM d.units"
                " OR r.cost_cents IS DISTINCT FROM d.cost_cents"
            )
        )
    engine.dispose()
    assert stored == records, stored
    assert wrong == 0, f"{wrong} daily sums differ from the records"
    print(f"checked: {stored:,} records in {partitions} partitions; {daily:,} daily sums, all exact")


if __name__ == "__main__":
    main()

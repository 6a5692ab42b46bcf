"""Benchmark: `mgd records import` of a usage file (CSV) on PostgreSQL, run as the production roles: an owner
that migrates, and a portal role with neither SUPERUSER nor BYPASSRLS.

Creates two roles and a database of its own for the run (import_billing.py's ``production_database``),
migrates it as the owner, imports the companies' records document (a company of ``--big-lines`` lines among
others), writes ``--records`` usage records over six months (most of them the big company's: voice, SMS, data,
a few MMS and premium services, some roaming; the months before the current cycle billed) and times
`mgd records import usage.csv` as the portal's role, first import and re-import, in a process of its own
(peak memory measured). Then checks, as the superuser, that ``usage_daily`` is exactly the sum of
``usage_records``, and drops the database and both roles.

The file is written once by PostgreSQL (``generate_series``, a fixed seed: the same file for the same
arguments) and kept when ``--file`` names it, so that a run of 10 million records need not write it again.

Usage: python bench/import_usage.py [--admin-url URL] [--records N] [--big-lines N] [--others N]
           [--format csv|jsonl] [--file PATH]
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

import psycopg
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


# The records of ``write_usage``, written by the server: a CSV or JSON lines file of ``:records`` records.
GENERATE = """
WITH mine AS (SELECT company, number, ordinality - 1 AS n FROM unnest(CAST(:mine_companies AS text[]),
        CAST(:mine_numbers AS text[])) WITH ORDINALITY AS m(company, number)),
    others AS (SELECT company, number, ordinality - 1 AS n FROM unnest(CAST(:other_companies AS text[]),
        CAST(:other_numbers AS text[])) WITH ORDINALITY AS o(company, number)),
    kinds AS (SELECT kind, direction, ordinality - 1 AS n FROM unnest(
        CAST(:kinds AS text[]), CAST(:directions AS text[])) WITH ORDINALITY AS k(kind, direction)),
    drawn AS (
        SELECT n, to_timestamp(:start + :span * n / :records + random() * 60) AS at, random() AS big,
            random() AS pick, floor(random() * :kind_count) AS kind_n, random() AS roam, random() AS eu,
            random() AS measure, floor(random() * 10000) AS called
        FROM generate_series(0, :records - 1) AS n
    ),
    made AS (
        SELECT d.*, coalesce(m.company, o.company) AS company, coalesce(m.number, o.number) AS number,
            k.kind, k.direction,
            CASE WHEN d.roam < 0.03 THEN CASE WHEN d.eu < 0.8 THEN 'eu' ELSE 'world1' END END AS zone
        FROM drawn d
        JOIN kinds k ON k.n = d.kind_n
        LEFT JOIN mine m ON (d.big < :big_share OR :other_count = 0) AND m.n = floor(d.pick * :mine_count)
        LEFT JOIN others o ON NOT (d.big < :big_share OR :other_count = 0)
            AND o.n = floor(d.pick * :other_count)
    ),
    measured AS (
        SELECT made.*,
            CASE WHEN kind = 'voice' THEN floor(-ln(1 - measure) * 150)::bigint + 1 ELSE 0 END AS duration_s,
            CASE WHEN kind = 'data' THEN floor(-ln(1 - measure) * 20000000)::bigint ELSE 0 END AS bytes,
            CASE WHEN kind NOT IN ('voice', 'data') THEN 1 ELSE 0 END AS units
        FROM made
    ),
    rows AS (
        SELECT company, number AS line, 'C' || lpad(n::text, 10, '0') AS record_id,
            to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS started_at, kind,
            CASE
                WHEN direction = 'in' THEN 0
                WHEN kind = 'voice' THEN duration_s * CASE WHEN zone = 'world1' THEN 30 ELSE 0 END / 60
                WHEN kind = 'data' THEN CASE WHEN zone = 'world1' THEN bytes / 10000000 ELSE 0 END
                ELSE CASE kind WHEN 'sms' THEN 9 WHEN 'mms' THEN 35 ELSE 120 END
            END AS cost_cents,
            direction,
            CASE WHEN kind = 'data' THEN '' ELSE '+3460000' || lpad(called::text, 4, '0') END AS destination,
            CASE WHEN zone IS NULL THEN 'ES' WHEN zone = 'eu' THEN 'FR' ELSE 'US' END AS country,
            coalesce(zone, '') AS roaming_zone, duration_s, bytes, units,
            CASE WHEN at < to_timestamp(:billed_before) THEN 'true' ELSE 'false' END AS billed,
            CASE WHEN at < to_timestamp(:billed_before)
                THEN 'FV' || to_char(at AT TIME ZONE 'UTC', 'YYMM') || '-' || company ELSE '' END
                AS invoice_number
        FROM measured ORDER BY n
    )
"""


def generate_usage(  # noqa: PLR0917
    admin_url: str, document: dict, path: Path, records: int, form: str, big_share: float = 0.9
) -> None:
    """Write ``records`` usage records to ``path`` (``form``: csv or jsonl) as ``write_usage`` draws them,
    by the server (several times faster than Python), seeded: the same file for the same arguments."""
    big = document["companies"][0]
    others = [(c["fiscal_id"], line["number"]) for c in document["companies"][1:] for line in c["lines"]]
    mine = [(big["fiscal_id"], line["number"]) for line in big["lines"]]
    kinds = [(kind, direction) for kind, direction, share in MIX for _ in range(share)]
    params = {
        "mine_companies": [c for c, _ in mine],
        "mine_numbers": [n for _, n in mine],
        "other_companies": [c for c, _ in others],
        "other_numbers": [n for _, n in others],
        "kinds": [k for k, _ in kinds],
        "directions": [d for _, d in kinds],
        "kind_count": len(kinds),
        "mine_count": len(mine),
        "other_count": len(others),
        "big_share": big_share,
        "records": records,
        "start": START,
        "span": END - START,
        "billed_before": BILLED_BEFORE,
    }
    numbers = ("cost_cents", "duration_s", "bytes", "units")
    # Empty texts as NULL: an empty CSV field, a field left out of a JSON object.
    fields = [name if name in numbers else f"NULLIF({name}, '') AS {name}" for name in FIELDS]
    if form == "csv":
        select = f"SELECT {', '.join(fields)} FROM rows"  # noqa: S608 (names of the module)
        options = "(FORMAT csv, HEADER)"
    else:  # JSON lines: numbers as numbers, billed true or false
        pairs = ", ".join(
            f"'{name}', {name}" if name in numbers else f"'{name}', NULLIF({name}, '')" for name in FIELDS
        ).replace("NULLIF(billed, '')", "billed = 'true'")
        select = f"SELECT json_strip_nulls(json_build_object({pairs}))::text FROM rows"  # noqa: S608
        options = "(FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
    query = re.sub(r"(?<!:):([a-z_]+)", r"%(\1)s", GENERATE + select)
    with psycopg.connect(make_url(admin_url).set(drivername="postgresql").render_as_string(False)) as db:
        db.execute("SET max_parallel_workers_per_gather = 0")
        db.execute("SELECT setseed(0.13)")
        with (
            db.cursor() as cursor,
            path.open("wb") as handle,
            cursor.copy(f"COPY ({query}) TO STDOUT {options}", params) as copy,
        ):
            for chunk in copy:
                handle.write(chunk)


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
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    parser.add_argument(
        "--file", type=Path, help="the usage file to import: written there when missing, else reused as it is"
    )
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
    path = args.file or workdir / f"usage.{args.format}"
    records = args.records
    if path.exists():
        print(f"usage file: {path} reused")
    else:
        generate_usage(args.admin_url, document, path, records, args.format)
    print(
        f"usage file: {records:,} records, {path.stat().st_size / 1e6:.0f} MB of {args.format.upper()}, "
        f"ready in {time.perf_counter() - started:.0f} s"
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

"""Benchmark: `mgd records import` of billing files (invoices, charges, payments) on PostgreSQL, run as the
production roles: an owner that migrates, and a portal role with neither SUPERUSER nor BYPASSRLS.

Creates two roles and a database of its own for the run (never the shared test database), migrates it as the
owner (`mgd db upgrade`, which grants the portal's role), imports the companies' records document, writes the
billing files (a company with 10,000 lines and 24 months of invoices among other companies) and times
`mgd records import DIR` as the portal's role, first import and re-import, in a process of its own (its
peak memory is measured too). Then checks that every invoice's charges add up to it, and drops the
database and both roles.

Usage: python bench/import_billing.py [--admin-url URL] [--usage-per-line N] [--others N] [--months N]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from mgd.tenants.demo import demo_document
from mgd.tenants.demo_billing import billing_records

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
FIELDS = {
    "invoices": "company billing_account number period_start period_end issued_on due_on net_cents vat_cents "
    "total_cents status",
    "charges": "company invoice line concept description net_cents vat_rate vat_cents total_cents",
    "payments": "company billing_account reference paid_on amount_cents method",
}
MGD = str(Path(sys.executable).with_name("mgd"))


def dataset(big_lines: int, others: int, lines_per_other: int | None) -> dict:
    """One company with ``big_lines`` fixed lines on one billing account and ``others`` companies of
    ``lines_per_other`` lines (None: the demo's sizes, 2 to 200 lines by segment)."""
    big = demo_document(1, seed=10_000, lines_per_company=big_lines)
    rest = demo_document(others, seed=1489, lines_per_company=lines_per_other)
    taken = {line["number"] for line in big["companies"][0]["lines"]}
    companies = [big["companies"][0]]
    for company in rest["companies"]:
        if company["fiscal_id"] == companies[0]["fiscal_id"]:
            continue
        company["lines"] = [line for line in company["lines"] if line["number"] not in taken]
        companies.append(company)
    return {"tariffs": big["tariffs"], "companies": companies}


def write_billing(document: dict, folder: Path, months: int, usage_per_line: int) -> dict[str, int]:
    """The billing files of every company, written as they are generated; the records of each kind."""
    folder.mkdir()
    counts = dict.fromkeys(FIELDS, 0)
    handles = {kind: (folder / f"{kind}.csv").open("w", newline="", encoding="utf-8") for kind in FIELDS}
    try:
        writers = {kind: csv.writer(handles[kind]) for kind in FIELDS}
        for kind, writer in writers.items():
            writer.writerow(FIELDS[kind].split())
        for index, company in enumerate(document["companies"]):
            records = billing_records(
                company, index, months=months, until=date(2026, 12, 1), usage_per_line=usage_per_line
            )
            for kind, record in records:
                row = {"company": company["fiscal_id"], **record}
                writers[kind].writerow(
                    ["" if row[name] is None else row[name] for name in FIELDS[kind].split()]
                )
                counts[kind] += 1
    finally:
        for handle in handles.values():
            handle.close()
    return counts


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of a process so far (/proc), or None once it has ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backends(connection, role: str) -> list[int]:
    """The process ids of the PostgreSQL backends of ``role`` (a superuser's connection sees them all)."""
    pids = connection.scalars(
        text("SELECT pid FROM pg_stat_activity WHERE usename = :role"), {"role": role}
    ).all()
    connection.rollback()
    return list(pids)


class BackendCpu(threading.Thread):
    """Samples the CPU time of the PostgreSQL backends of one role while a command runs (/proc: PostgreSQL on
    this machine), so that the work can be told from the waiting on a busy machine."""

    def __init__(self, admin_url: str, role: str) -> None:
        super().__init__(daemon=True)
        self.engine = create_engine(admin_url)
        self.role, self.seen, self.done = role, {}, threading.Event()

    def run(self) -> None:
        with self.engine.connect() as connection:
            while not self.done.wait(0.2):
                for pid in backends(connection, self.role):
                    seconds = cpu_seconds(pid)
                    if seconds is not None:
                        self.seen[pid] = seconds

    def stop(self) -> float:
        self.done.set()
        self.join()
        self.engine.dispose()
        return sum(self.seen.values())


def mgd(env: dict, *args: str, cpu: BackendCpu | None = None) -> dict:
    """Run `mgd ARGS`: its seconds, output, CPU seconds (its own, and its database backend's when ``cpu``
    samples them) and the peak memory of the children so far (MiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu:
        cpu.start()
    started = time.perf_counter()
    result = subprocess.run([MGD, *args], env=env, capture_output=True, text=True, check=False)  # noqa: S603
    elapsed = time.perf_counter() - started
    server = cpu.stop() if cpu else 0.0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        raise SystemExit(f"mgd {' '.join(args)} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    phases = "".join(
        line.split(" INFO [-] ")[-1] + "\n"
        for line in result.stderr.splitlines()
        if "billing import:" in line or "usage import " in line
    )
    client = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {
        "seconds": elapsed,
        "output": phases + result.stdout,
        "client_cpu": client,
        "server_cpu": server,
        "peak_mib": after.ru_maxrss // 1024,
    }


@dataclass(frozen=True)
class RunDatabase:
    """The run's database and its two roles, as URLs of the admin's server."""

    name: str
    owner: str
    app: str
    owner_url: str
    app_url: str


@contextmanager
def production_database(admin_url: str, label: str) -> Iterator[RunDatabase]:
    """For the run only: an owner role and a portal role (``LOGIN NOSUPERUSER NOBYPASSRLS``) and a database
    owned by the first; at the end all three are dropped, and the roles of the run left (0) are printed."""
    suffix = uuid.uuid4().hex[:8]
    owner, app, name = f"mgd_bench_owner_{suffix}", f"mgd_bench_app_{suffix}", f"mgd_bench_{label}_{suffix}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    base = make_url(admin_url)
    with admin.connect() as connection:
        connection.execute(text(f"CREATE ROLE {owner} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"))
        connection.execute(text(f"CREATE ROLE {app} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"))
        connection.execute(text(f"CREATE DATABASE {name} OWNER {owner}"))
    try:
        yield RunDatabase(
            name,
            owner,
            app,
            base.set(username=owner, database=name).render_as_string(False),
            base.set(username=app, database=name).render_as_string(False),
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"DROP ROLE IF EXISTS {app}"))
            connection.execute(text(f"DROP ROLE IF EXISTS {owner}"))
            left = connection.scalar(
                text("SELECT count(*) FROM pg_roles WHERE rolname LIKE :n"), {"n": f"%{suffix}"}
            )
        admin.dispose()
        print(f"dropped database {name} and roles {owner}, {app} ({left} left)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default=ADMIN_URL, help="a superuser, to create and drop the run's roles"
    )
    parser.add_argument("--big-lines", type=int, default=10_000)
    parser.add_argument("--others", type=int, default=40, help="other companies")
    parser.add_argument("--lines-per-other", type=int, default=200)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--usage-per-line", type=int, default=3, help="usage charges per line and month")
    args = parser.parse_args()

    with production_database(args.admin_url, "billing") as run, tempfile.TemporaryDirectory() as workdir:
        env = os.environ | {
            "MGD_DATABASE_URL": run.app_url,
            "MGD_DATABASE_OWNER_URL": run.owner_url,
            "MGD_SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "MGD_INSTANCE_PATH": workdir,
        }
        measure(args, env, Path(workdir), run.app, run.name)


def import_companies(env: dict, workdir: Path, document: dict) -> float:
    """Migrate as the owner (`mgd db upgrade`), then `mgd records import` the companies' document as the
    portal's role; the import's seconds."""
    mgd(env, "db", "upgrade")
    records = workdir / "records.json"
    records.write_text(json.dumps(document), encoding="utf-8")
    return mgd(env, "records", "import", str(records))["seconds"]


def measure(args, env: dict, workdir: Path, app: str, name: str) -> None:
    document = dataset(args.big_lines, args.others, args.lines_per_other)
    lines = sum(len(c["lines"]) for c in document["companies"])
    seconds = import_companies(env, workdir, document)
    print(
        f"companies: {len(document['companies'])} ({lines} lines; one of {args.big_lines}) in {seconds:.1f} s"
    )
    started = time.perf_counter()
    counts = write_billing(document, workdir / "billing", args.months, args.usage_per_line)
    size = sum(p.stat().st_size for p in (workdir / "billing").iterdir()) / 1e6
    print(
        f"billing files: {counts['invoices']:,} invoices, {counts['charges']:,} charges, "
        f"{counts['payments']:,} payments; {size:.0f} MB of CSV, "
        f"written in {time.perf_counter() - started:.0f} s"
    )
    app_engine = create_engine(env["MGD_DATABASE_URL"])
    with app_engine.connect() as connection:
        role = connection.execute(
            text("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
    app_engine.dispose()
    print(f"importing as {role[0]} (superuser: {role[1]}, bypassrls: {role[2]})")
    for label in ("first import", "re-import"):
        load = os.getloadavg()[0]
        run = mgd(env, "records", "import", str(workdir / "billing"), cpu=BackendCpu(args.admin_url, app))
        charges, cpu = counts["charges"], run["client_cpu"] + run["server_cpu"]
        print(
            f"{label}: {run['seconds']:.1f} s = {charges / run['seconds']:,.0f} charges/s "
            f"(load average {load:.1f} on {os.cpu_count()} CPUs; CPU time: mgd {run['client_cpu']:.1f} s + "
            f"its PostgreSQL backend {run['server_cpu']:.1f} s = {cpu:.1f} s, "
            f"{charges / cpu:,.0f} charges per CPU-second; "
            f"peak memory of the children so far {run['peak_mib']} MiB)"
        )
        print("  " + run["output"].strip().replace("\n", "\n  "))
        found = re.search(r"charges: (\d+) were created", run["output"])
        expected = charges if label == "first import" else 0
        assert found and int(found.group(1)) == expected, run["output"]
    check_totals(args.admin_url, name, counts)


def check_totals(admin_url: str, name: str, counts: dict[str, int]) -> None:
    """Every invoice's charges add up to its net, VAT and total (read as the superuser: all companies)."""
    engine = create_engine(make_url(admin_url).set(database=name))
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT (SELECT count(*) FROM invoices), (SELECT count(*) FROM invoice_charges)")
        ).one()
        wrong = connection.scalar(
            text(
                "SELECT count(*) FROM invoices i LEFT JOIN (SELECT tenant_id, invoice_id,"
                " sum(net_cents) AS net, sum(vat_cents) AS vat, sum(total_cents) AS total"
                " FROM invoice_charges GROUP BY 1, 2) c"
                " ON c.tenant_id = i.tenant_id AND c.invoice_id = i.id"
                " WHERE c.invoice_id IS NULL OR i.net_cents <> c.net OR i.vat_cents <> c.vat"
                " OR i.total_cents <> c.total"
            )
        )
    engine.dispose()
    assert tuple(stored) == (counts["invoices"], counts["charges"]), stored
    assert wrong == 0, f"{wrong} invoices whose charges do not add up"
    print(f"checked: {stored[0]:,} invoices and {stored[1]:,} charges stored; every invoice adds up")


if __name__ == "__main__":
    main()

"""Benchmark: `mgd records import` of a records document on PostgreSQL, run as the production roles: an owner
that migrates, and a portal role with neither SUPERUSER nor BYPASSRLS (so every write is under the forced
policies, inside the import's operator scope).

Creates two roles and a database of its own (import_billing.py's `production_database`), migrates it as the
owner (`mgd db upgrade`), writes the demo generator's document (`--companies` × `--lines-per-company` lines)
and times the whole command `mgd records import FILE` as the portal's role, in a process of its own: first
import into empty tables, then the same file again (every row unchanged), `--runs` times (the tables are
emptied by the owner between runs). For each run: wall time, lines/s, CPU time of the command and of its
PostgreSQL backend, and the command's own peak memory. `--million` also imports a 1,000,000-line document
(20,000 companies × 50 lines) once, for its peak memory. Then drops the database and both roles.

Usage: python bench/import_records.py [--admin-url URL] [--companies N] [--lines-per-company N] [--runs N]
       [--million]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from import_billing import ADMIN_URL, MGD, BackendCpu, production_database
from mgd.tenants.demo import demo_document

TABLES = "lines, billing_accounts, interlocutors, companies, tariffs"


def write_document(path: Path, companies: int, lines_per_company: int) -> int:
    """The demo generator's document, written to ``path``; its number of lines."""
    document = demo_document(companies, lines_per_company=lines_per_company)
    lines = sum(len(c["lines"]) for c in document["companies"])
    with path.open("w", encoding="utf-8") as handle:
        json.dump(document, handle)
    return lines


def timed(env: dict, path: Path, admin_url: str, role: str) -> dict:
    """`mgd records import PATH` in a process of its own: seconds, output, CPU seconds (its own, and its
    backend's) and its own peak resident memory (MiB, from ``wait4``)."""
    cpu = BackendCpu(admin_url, role)
    cpu.start()
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603
        [MGD, "records", "import", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = process.stdout.read()
    phases = re.search(r"staged in ([\d.]+) s, checked and written in ([\d.]+) s", output)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    server = cpu.stop()
    if status:
        raise SystemExit(f"mgd records import {path} failed ({status}):\n{output}")
    return {
        "seconds": elapsed,
        "output": output,
        "client_cpu": usage.ru_utime + usage.ru_stime,
        "server_cpu": server,
        "peak_mib": usage.ru_maxrss / 1024,
        # The command's own account of the import (the code before streaming logged none: the whole command)
        "import": float(phases.group(1)) + float(phases.group(2)) if phases else elapsed,
        "phases": phases.group(0) if phases else "no phases logged",
    }


def report(label: str, lines: int, run: dict) -> str:
    cpu = run["client_cpu"] + run["server_cpu"]
    return (
        f"{label}: import {run['import']:.2f} s = {lines / run['import']:,.0f} lines/s ({run['phases']}); "
        f"whole command {run['seconds']:.2f} s = {lines / run['seconds']:,.0f} lines/s "
        f"(load average {os.getloadavg()[0]:.1f}; CPU: mgd {run['client_cpu']:.2f} s + its backend "
        f"{run['server_cpu']:.2f} s = {cpu:.2f} s, {lines / cpu:,.0f} lines per CPU-second; "
        f"peak memory {run['peak_mib']:.0f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default=ADMIN_URL, help="a superuser, to create and drop the run's roles"
    )
    parser.add_argument("--companies", type=int, default=2000)
    parser.add_argument("--lines-per-company", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--million", action="store_true", help="also import 1,000,000 lines once")
    args = parser.parse_args()

    with production_database(args.admin_url, "records") as run, tempfile.TemporaryDirectory() as workdir:
        env = os.environ | {
            "MGD_DATABASE_URL": run.app_url,
            "MGD_DATABASE_OWNER_URL": run.owner_url,
            "MGD_SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "MGD_INSTANCE_PATH": workdir,
        }
        subprocess.run([MGD, "db", "upgrade"], env=env, check=True, capture_output=True)  # noqa: S603
        app = create_engine(run.app_url)
        with app.connect() as connection:
            role = connection.execute(
                text("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            ).one()
        app.dispose()
        print(f"importing as {role[0]} (superuser: {role[1]}, bypassrls: {role[2]})")
        owner = create_engine(run.owner_url)
        path = Path(workdir) / "records.json"
        lines = write_document(path, args.companies, args.lines_per_company)
        print(f"dataset: {args.companies} companies, {lines:,} lines, {path.stat().st_size / 1e6:.1f} MB")
        first, again = [], []
        for number in range(args.runs):
            with owner.begin() as connection:
                connection.execute(text(f"TRUNCATE {TABLES} CASCADE"))
            first.append(timed(env, path, args.admin_url, run.app))
            assert f"lines: {lines} were created" in first[-1]["output"], first[-1]["output"]
            again.append(timed(env, path, args.admin_url, run.app))
            assert f"{lines} unchanged" in again[-1]["output"].split("lines:")[1], again[-1]["output"]
            print(report(f"run {number + 1}: first import", lines, first[-1]))
            print(report(f"run {number + 1}: re-import", lines, again[-1]))
        for label, results in (("first import", first), ("re-import", again)):
            median = statistics.median(r["import"] for r in results)
            whole = statistics.median(r["seconds"] for r in results)
            print(
                f"{label}: median import {median:.2f} s = {lines / median:,.0f} lines/s; "
                f"whole command {whole:.2f} s = {lines / whole:,.0f} lines/s"
            )
        if args.million:
            with owner.begin() as connection:
                connection.execute(text(f"TRUNCATE {TABLES} CASCADE"))
            path.unlink()
            big = Path(workdir) / "records-1m.json"
            started = time.perf_counter()
            count = write_document(big, 20_000, 50)
            size = big.stat().st_size / 1e6
            took = time.perf_counter() - started
            print(f"dataset: 20000 companies, {count:,} lines, {size:.0f} MB (written in {took:.0f} s)")
            result = timed(env, big, args.admin_url, run.app)
            assert f"lines: {count} were created" in result["output"], result["output"]
            print(report("1M lines, first import", count, result))
        owner.dispose()


if __name__ == "__main__":
    main()

"""Benchmark: the billing pages of a company with 10,000 lines and 24 months of invoices, served by gunicorn
over HTTP from PostgreSQL, as the production roles (Row-Level Security on), signed in as its administrator.

Creates for the run an owner role, a portal role and a database of their own (import_billing.py's
``production_database``), migrates and imports as `mgd` would (import_billing.py's dataset: the big company's
lines on one billing account, so each of its invoices has 10,000 lines, among 40 companies of 2 to 200 lines),
runs ``VACUUM ANALYZE``, signs the company's administrator in, starts gunicorn with ``mgd.gunicorn_conf`` and
production settings, and times GET over HTTP: the invoice list (page 1 and its last keyset page), an invoice's
detail, the statement of 12 months, its Excel export (first byte, whole file, the worker's peak memory), an
invoice's PDF made anew (the cache emptied before each: time and the worker's memory growth) and the spend
page. Prints the median and 95th percentile of each with the load average. Drops the database and roles.
Usage: python bench/billing_pages.py [--admin-url URL] [--usage-per-line N] [--repeat N]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, select, text

from import_billing import (
    ADMIN_URL,
    backends,
    cpu_seconds,
    dataset,
    import_companies,
    mgd,
    production_database,
    write_billing,
)
from lines_page import add_members, sign_in
from mgd import create_app
from mgd.crypto import derived_key
from mgd.db import get_session, operator_scope
from mgd.extensions import limiter
from mgd.tenants.models import Company
from serve import production_env, start_gunicorn

PORT = 18311
TARGETS = {"list": 50, "detail": 50, "statement": 100, "pdf": 2000}  # ms, issue "Billing"
UNTIL = date(2026, 12, 1)  # the billing data's last month ends before this day (import_billing.write_billing)


def build(args, env: dict, workdir: Path) -> str:
    """Import the companies and their billing as the portal's role; the big company's fiscal ID."""
    document = dataset(args.big_lines, args.others, None)
    started = time.perf_counter()
    import_companies(env, workdir, document)
    counts = write_billing(document, workdir / "billing", args.months, args.usage_per_line)
    big = document["companies"][0]
    print(
        f"dataset: {len(document['companies'])} companies, "
        f"{sum(len(c['lines']) for c in document['companies']):,} lines (one of {len(big['lines']):,}, "
        f"{len(big['billing_accounts'])} billing account); {counts['invoices']:,} invoices, "
        f"{counts['charges']:,} charges, {counts['payments']:,} payments",
        flush=True,
    )
    mgd(env, "records", "import", str(workdir / "billing"))
    shutil.rmtree(workdir / "billing")
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
    return big["fiscal_id"]


def vacuum(owner_url: str) -> None:
    """What autovacuum does after a bulk load; and the big company's share of the charges."""
    engine = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        started = time.perf_counter()
        connection.execute(text("VACUUM ANALYZE"))
        size = connection.scalar(text("SELECT pg_size_pretty(pg_total_relation_size('invoice_charges'))"))
    engine.dispose()
    print(f"VACUUM ANALYZE as the owner: {time.perf_counter() - started:.0f} s; invoice_charges: {size}")


def admin_session(env: dict, fiscal_id: str) -> tuple[str, str]:
    """Add an administrator to the company and sign them in (in-process, the same keys as the served portal);
    the company's reference and the session cookie."""
    app = create_app(
        {
            "ENV": "development",
            "SECRET_KEY": env["MGD_SECRET_KEY"],
            "DATABASE_URL": env["MGD_DATABASE_URL"],
            "INSTANCE_PATH": env["MGD_INSTANCE_PATH"],
            "SMS_BACKEND": "file",
            "MAIL_BACKEND": "file",
        }
    )
    limiter.enabled = False
    with app.app_context():
        session = get_session()
        with operator_scope(session, "benchmark: the company's administrator"):
            company = session.scalar(select(Company).where(Company.fiscal_id == fiscal_id))
        add_members(session, company.id, 1, app.config["TERMS_VERSION"])
        reference = company.public_ref
        session.commit()
    client = app.test_client()
    sign_in(app, client)
    return reference, f"session={client.get_cookie('session').value}"


# ---- the served portal's workers --------------------------------------------------------------------------


def _memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


class Processes:
    """gunicorn's workers and the portal role's PostgreSQL backends around one request: the workers' peak
    memory is reset before it; afterwards, the worker that served it (the one whose CPU time grew most), its
    CPU seconds, memory before and peak, and the CPU seconds of the backends."""

    def __init__(self, master: int, admin_url: str, role: str) -> None:
        self.master, self.role = master, role
        self.admin = create_engine(admin_url).connect()

    def workers(self) -> list[int]:
        return [
            int(pid) for pid in Path(f"/proc/{self.master}/task/{self.master}/children").read_text().split()
        ]

    def before(self) -> dict:
        workers = {}
        for pid in self.workers():
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux 4.0+)
            workers[pid] = (cpu_seconds(pid), _memory(pid)["VmRSS"])
        servers = {pid: cpu_seconds(pid) for pid in backends(self.admin, self.role)}
        return {"workers": workers, "servers": servers}

    def after(self, before: dict) -> dict[str, float]:
        used = {pid: (cpu_seconds(pid) or cpu) - cpu for pid, (cpu, _) in before["workers"].items()}
        pid = max(used, key=used.get)
        server = sum(
            (cpu_seconds(pid) or start) - start
            for pid, start in before["servers"].items()
            if start is not None
        )
        return {
            "cpu": used[pid] * 1000,
            "db_cpu": server * 1000,
            "rss": before["workers"][pid][1] / 1024,
            "peak": _memory(pid)["VmHWM"] / 1024,
        }


# ---- requests ---------------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    first_byte: float  # ms, the first byte of the body
    total: float  # ms, the whole body
    body: bytes


def get(path: str, cookie: str) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    first = response.read(1)
    first_byte = time.perf_counter() - started
    body = first + response.read()
    total = time.perf_counter() - started
    connection.close()
    return Answer(response.status, first_byte * 1000, total * 1000, body)


def percentiles(values: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (the largest value below 20 samples)."""
    ordered = sorted(values)
    p95 = statistics.quantiles(ordered, n=20)[-1] if len(ordered) >= 20 else ordered[-1]
    return statistics.median(ordered), p95


@dataclass
class Case:
    name: str
    path: str
    target: float | None = None  # ms
    expect: bytes = b""  # in every answer
    file: bool = False  # report first byte and memory too
    before_each: object = None  # called before each request


def timed(case: Case, cookie: str, repeat: int, processes: Processes, *, warm_up: bool = True) -> bytes:
    """GET the case's page (once to warm up, unless told not to), then ``repeat`` times; prints the median
    and 95th percentile of the whole answer, the load average, the CPU of the worker and the database."""
    samples: list[dict] = []
    for attempt in range(repeat + (1 if warm_up else 0)):
        if case.before_each:
            case.before_each()
        load = os.getloadavg()[0]
        before = processes.before()
        answer = get(case.path, cookie)
        if answer.status != 200 or case.expect not in answer.body:
            raise SystemExit(
                f"GET {case.path}: {answer.status}, {len(answer.body)} bytes, no {case.expect!r}"
            )
        if attempt or not warm_up:
            samples.append(
                {"load": load, "first": answer.first_byte, "total": answer.total} | processes.after(before)
            )
    median, p95 = percentiles([s["total"] for s in samples])
    loads = [s["load"] for s in samples]
    verdict = (
        ""
        if case.target is None
        else f"; target < {case.target:.0f} ms: {'met' if median < case.target else 'MISSED'}"
    )
    print(
        f"{case.name}: median {median:.1f} ms, p95 {p95:.1f} ms (n={len(samples)}, load average "
        f"{min(loads):.1f}-{max(loads):.1f}){verdict}\n"
        f"    CPU median: worker {statistics.median(s['cpu'] for s in samples):.0f} ms, PostgreSQL "
        f"{statistics.median(s['db_cpu'] for s in samples):.0f} ms; {len(answer.body) / 1024:,.0f} KiB",
        flush=True,
    )
    if case.file:
        first, _ = percentiles([s["first"] for s in samples])
        growth, peak = [s["peak"] - s["rss"] for s in samples], max(s["peak"] for s in samples)
        print(
            f"    first byte median {first:.1f} ms; worker peak RSS {peak:.0f} MiB, growth during the "
            f"request median {statistics.median(growth):.1f} MiB, max {max(growth):.1f} MiB",
            flush=True,
        )
    return answer.body


def measure(reference: str, cookie: str, processes: Processes, instance: Path, args) -> None:
    base, lines = f"/empresa/{reference}/facturacion", f"{args.big_lines:,} lines"
    invoices = Case("invoice list, page 1", f"{base}/facturas", TARGETS["list"], b"/facturas/")
    page = timed(invoices, cookie, args.repeat, processes)
    pages, after = (
        1,
        re.search(rb'<a href="[^"]*/facturas\?after=([0-9-]+\.[0-9]+)"', page),
    )  # one page for 24 invoices
    while after:  # follow the keyset links to the last page
        path = f"{base}/facturas?after={after.group(1).decode()}"
        page, pages = get(path, cookie).body, pages + 1
        after = re.search(rb'<a href="[^"]*/facturas\?after=([0-9-]+\.[0-9]+)"', page)
    if pages > 1:
        last = Case(f"invoice list, last keyset page ({pages})", path, TARGETS["list"], b"/facturas/")
        timed(last, cookie, args.repeat, processes)
    invoice = int(re.search(rb'/facturas/(\d+)"', page).group(1))  # on the last page
    detail = Case(f"invoice detail, {lines}", f"{base}/facturas/{invoice}", TARGETS["detail"], b"<table")
    page, pages = timed(detail, cookie, args.repeat, processes), 1
    after = re.search(rb'<a href="[^"]*/facturas/\d+\?after=([^"&]+)"', page)
    while after:  # the detail's pages of lines, by keyset, to the last
        path = f"{base}/facturas/{invoice}?after={after.group(1).decode()}"
        page, pages = get(path, cookie).body, pages + 1
        after = re.search(rb'<a href="[^"]*/facturas/\d+\?after=([^"&]+)"', page)
    if pages > 1:
        last = Case(
            f"invoice detail, last keyset page of lines ({pages})", path, TARGETS["detail"], b"<table"
        )
        timed(last, cookie, args.repeat, processes)
    months = f"from={date(UNTIL.year - 1, UNTIL.month, 1).isoformat()}&to={UNTIL.isoformat()}"
    statement = Case("statement, 12 months", f"{base}/extracto?{months}", TARGETS["statement"], b"<table")
    timed(statement, cookie, args.repeat, processes)
    excel = Case("Excel statement, 12 months", f"{base}/extracto.xlsx?{months}", file=True)
    timed(excel, cookie, args.files, processes)
    cache = instance / "invoices"
    pdf = Case(
        f"invoice PDF, {lines}, not cached",
        f"{base}/facturas/{invoice}/factura.pdf",
        TARGETS["pdf"],
        b"%PDF",
        file=True,
        before_each=lambda: shutil.rmtree(cache, ignore_errors=True),
    )
    timed(pdf, cookie, args.files, processes, warm_up=False)
    timed(Case("spend page, 12 periods", f"{base}/gasto", expect=b"<svg"), cookie, args.files, processes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default=ADMIN_URL, help="a superuser, to create and drop the run's roles"
    )
    parser.add_argument("--big-lines", type=int, default=10_000)
    parser.add_argument("--others", type=int, default=40, help="other companies (2 to 200 lines)")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--usage-per-line", type=int, default=20, help="usage charges per line and month")
    parser.add_argument("--repeat", type=int, default=20, help="requests per page")
    parser.add_argument("--files", type=int, default=5, help="requests per file (Excel, PDF)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # the database and roles are dropped still

    with production_database(args.admin_url, "pages") as run, tempfile.TemporaryDirectory() as folder:
        workdir, secret = Path(folder), secrets.token_urlsafe(32)
        env = production_env(secret, run.app_url, workdir) | {
            "MGD_DATABASE_OWNER_URL": run.owner_url,
            "MGD_ENCRYPTION_KEYS": derived_key(secret),  # the key of the in-process app that signs in
        }
        fiscal_id = build(args, env, workdir)
        vacuum(run.owner_url)
        reference, cookie = admin_session(env, fiscal_id)
        server = start_gunicorn("mgd.wsgi:app", PORT, env, workdir / "gunicorn.log")
        try:
            from mgd.gunicorn_conf import threads, workers  # noqa: PLC0415

            print(
                f"gunicorn (mgd.gunicorn_conf, production settings): {workers} workers x {threads} threads; "
                f"PostgreSQL as {run.app} (Row-Level Security on); {os.cpu_count()} CPUs",
                flush=True,
            )
            processes = Processes(server.pid, args.admin_url, run.app)
            try:
                measure(reference, cookie, processes, workdir, args)
            finally:
                processes.admin.close()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=150)


if __name__ == "__main__":
    main()

"""Benchmark: the lines exports (CSV and Excel) of a large company, over HTTP under gunicorn, as the
production roles: rows/s, the first byte, the worker's CPU and peak memory.

Creates an owner role, a portal role (``LOGIN NOSUPERUSER NOBYPASSRLS``) and a database of their own
(import_billing.py's `production_database`), imports as the portal's role one company with `--lines` lines
among `--others` companies of 200 lines, runs `VACUUM ANALYZE` as the owner, signs an administrator of the
company in (billing_pages.py's `admin_session`), starts gunicorn with `mgd.gunicorn_conf` and production
settings (serve.py's `production_env`), and GETs `/empresa/REF/lineas/exportar.csv` and `.xlsx` `--repeat`
times each, after one warm-up. For each: the first byte of the body and the whole file (median), rows/s of
the whole file, the CPU of the worker that served it and of the portal role's PostgreSQL backends, and the
worker's peak memory growth (billing_pages.py's `Processes`). Then drops the database and both roles.

Usage: python bench/exports.py [--admin-url URL] [--lines N] [--others N] [--repeat N]
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from billing_pages import Processes, admin_session, vacuum
from import_billing import ADMIN_URL, dataset, import_companies, production_database
from mgd.crypto import derived_key
from serve import production_env

PORT = 18331
TARGETS = {"csv": 50_000, "xlsx": 25_000}  # rows/s, issue "Performance"


def serve(port: int, env: dict, log: Path, wait: float = 600) -> subprocess.Popen:
    """gunicorn serving the portal (serve.py's command line), once its /healthz answers; a busy machine may
    take minutes to start its workers. Stopped if it never answers."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:mgd.gunicorn_conf",
        "--bind",
        f"127.0.0.1:{port}",
    ]
    with log.open("w") as out:
        process = subprocess.Popen([*command, "mgd.wsgi:app"], env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(1)
    process.kill()
    process.wait()
    raise SystemExit(f"the portal did not start: see {log}")


def get(path: str, cookie: str) -> tuple[int, float, float, bytes]:
    """Status, first byte (ms), whole body (ms), body."""
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    first = response.read(1)
    first_byte = time.perf_counter() - started
    body = first + response.read()
    total = time.perf_counter() - started
    connection.close()
    return response.status, first_byte * 1000, total * 1000, body


def rows_of(extension: str, body: bytes) -> int:
    """The data rows of an export (the header not counted)."""
    if extension == "csv":
        return body.count(b"\n") - 1
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return archive.read("xl/worksheets/sheet1.xml").count(b"<row ") - 1


def measure(reference: str, cookie: str, processes: Processes, lines: int, repeat: int) -> None:
    for extension in ("csv", "xlsx"):
        path = f"/empresa/{reference}/lineas/exportar.{extension}"
        samples = []
        for attempt in range(repeat + 1):
            load = os.getloadavg()[0]
            while not processes.workers():  # gunicorn may be starting a worker anew
                time.sleep(0.5)
            before = processes.before()
            status, first, total, body = get(path, cookie)
            used = processes.after(before)
            rows = rows_of(extension, body)
            if status != 200 or rows != lines:
                raise SystemExit(f"GET {path}: {status}, {rows} rows (expected {lines})")
            if attempt:  # the first is the warm-up
                samples.append({"load": load, "first": first, "total": total} | used)
        total = statistics.median(s["total"] for s in samples)
        rate = lines / (total / 1000)
        cpu = statistics.median(s["cpu"] for s in samples)
        db = statistics.median(s["db_cpu"] for s in samples)
        growth = max(s["peak"] - s["rss"] for s in samples)
        target = TARGETS[extension]
        print(
            f"{extension}: {lines:,} rows, {len(body) / 1e6:.1f} MB: first byte median "
            f"{statistics.median(s['first'] for s in samples):.0f} ms "
            f"(max {max(s['first'] for s in samples):.0f}), "
            f"whole file median {total / 1000:.2f} s = {rate:,.0f} rows/s (target {target:,}: "
            f"{'met' if rate >= target else 'MISSED'}; load average "
            f"{min(s['load'] for s in samples):.1f}-{max(s['load'] for s in samples):.1f})\n"
            f"    CPU median: worker {cpu / 1000:.2f} s ({lines / (cpu / 1000):,.0f} rows per worker "
            f"CPU-second), PostgreSQL {db / 1000:.2f} s; worker memory growth during a request at most "
            f"{growth:.1f} MiB",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default=ADMIN_URL, help="a superuser, to create and drop the run's roles"
    )
    parser.add_argument("--lines", type=int, default=100_000, help="lines of the exported company")
    parser.add_argument("--others", type=int, default=20, help="other companies, of 200 lines")
    parser.add_argument("--repeat", type=int, default=5, help="requests per format, after a warm-up")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # the database and roles are dropped still

    with production_database(args.admin_url, "exports") as run, tempfile.TemporaryDirectory() as folder:
        workdir, secret = Path(folder), secrets.token_urlsafe(32)
        env = production_env(secret, run.app_url, workdir) | {
            "MGD_DATABASE_OWNER_URL": run.owner_url,
            "MGD_ENCRYPTION_KEYS": derived_key(secret),
        }
        document = dataset(args.lines, args.others, 200)
        lines = len(document["companies"][0]["lines"])
        seconds = import_companies(env, workdir, document)
        print(
            f"dataset: {len(document['companies'])} companies, "
            f"{sum(len(c['lines']) for c in document['companies']):,} lines (the exported one: {lines:,}), "
            f"imported in {seconds:.1f} s",
            flush=True,
        )
        vacuum(run.owner_url)
        reference, cookie = admin_session(env, document["companies"][0]["fiscal_id"])
        server = serve(PORT, env, workdir / "gunicorn.log")
        try:
            from mgd.gunicorn_conf import threads, timeout, workers  # noqa: PLC0415

            print(
                f"gunicorn (mgd.gunicorn_conf, production settings): {workers} workers x {threads} "
                f"threads, timeout {timeout} s; PostgreSQL as {run.app} (Row-Level Security on); "
                f"{os.cpu_count()} CPUs",
                flush=True,
            )
            processes = Processes(server.pid, args.admin_url, run.app)
            try:
                measure(reference, cookie, processes, lines, args.repeat)
            except BaseException:
                print((workdir / "gunicorn.log").read_text()[-3000:])
                raise
            finally:
                processes.admin.close()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=150)


if __name__ == "__main__":
    main()

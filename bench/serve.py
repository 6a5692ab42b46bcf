"""Benchmark: the portal served by gunicorn, side by side with a bare Flask "hello" under the same settings.

Builds a fresh PostgreSQL schema (lines_page.py's build_sizes: a company of each --sizes, 1,000 and 50,000
lines, among 20 others), reached by a role of its own that owns no table (Row-Level Security on), dropped
afterwards; signs an administrator in; starts gunicorn with mgd.gunicorn_conf for bench/hello.py and for
mgd.wsgi:app (production settings, Redis for limits and jobs) and drives each with wrk (`apt-get install
wrk`): the hello page, /login and, for a company of each size, its home, lines, users and activity pages, one
after the other. Prints requests/s, p50 and p99, the ratio to hello and the load average.
Usage: python bench/serve.py [--database-url URL] [--seconds S] [--connections N] [--sizes 1000,50000]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from lines_page import DEFAULT_URL, build_sizes, sign_in
from mgd import create_app
from mgd.crypto import new_key
from mgd.db import database, make_engine
from mgd.extensions import limiter
from mgd.migrate import grant_app_role, register_operator_key, upgrade

HERE = Path(__file__).resolve().parent
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
#: The company pages measured, for each company size.
PAGES = [("home", ""), ("lines", "/lineas"), ("users", "/usuarios"), ("activity", "/actividad")]


def start_gunicorn(target: str, port: int, env: dict, log: Path) -> subprocess.Popen:
    with socket.socket() as probe:  # another server there would answer the checks and be measured instead
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is in use: stop what listens there first")
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:mgd.gunicorn_conf", "--bind", f"127.0.0.1:{port}"]
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 (our interpreter, fixed arguments)
            [*argv, "--pythonpath", str(HERE), target], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 240  # (a loaded machine starts five workers slowly)
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz" if target.startswith("mgd") else "/")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.5)
        if process.poll() is not None:
            break  # (it could not bind its port, say: never measure another server there)
    process.terminate()
    raise SystemExit(f"{target} did not start: see {log}")


def check(port: int, path: str, cookie: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    body = response.read().decode()
    if response.status != 200:
        raise SystemExit(f"GET {path}: {response.status}")
    if "lineas" in path and "línea" not in body:
        raise SystemExit(f"GET {path}: not the lines page")


def wrk(port: int, path: str, cookie: str, seconds: int, connections: int) -> tuple[float, float, float]:
    """Requests/s, p50 and p99 in ms; refuses a run with any non-2xx answer."""
    headers = ["-H", f"Cookie: {cookie}"] if cookie else []
    output = subprocess.run(  # noqa: S603
        [
            shutil.which("wrk"),
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "10s",  # (wrk's 2 s would drop the slow answers of a loaded machine from the figures)
            *headers,
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in output:
        raise SystemExit(f"GET {path}: some answers were not 2xx\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50, p99 = (
        float(value) * UNITS[unit]
        for value, unit in (re.search(rf"\b{q}%\s+([\d.]+)(us|ms|s)\b", output).groups() for q in (50, 99))
    )
    return rate, p50, p99


def production_env(secret: str, app_db: str, workdir: Path) -> dict[str, str]:
    """What passes production's checks; SMS and mail are never sent by the pages measured."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("MGD_")},
        "MGD_ENV": "production",
        "MGD_SECRET_KEY": secret,
        "MGD_ENCRYPTION_KEYS": new_key(),
        "MGD_PUBLIC_URL": "https://bench.example",
        "MGD_SESSION_COOKIE_SECURE": "true",
        "MGD_DATABASE_URL": app_db,
        "MGD_BROKER_URL": "redis://127.0.0.1:6379/11",
        "MGD_RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/12",
        "MGD_SMS_BACKEND": "twilio",
        "MGD_TWILIO_ACCOUNT_SID": "ACbench",
        "MGD_TWILIO_AUTH_TOKEN": "bench",
        "MGD_TWILIO_FROM": "+34600000000",
        "MGD_MAIL_BACKEND": "smtp",
        "MGD_SMTP_HOST": "127.0.0.1",
        "MGD_SESSION_IDLE_MINUTES": "600",
        "MGD_INSTANCE_PATH": str(workdir),
    }


def dataset_and_session(
    owner: str, app_db: str, secret: str, workdir: Path, sizes: list[int], *, fill: bool = False
) -> tuple[list[str], str]:
    """Build companies of these sizes (``lines_page.build_sizes``) and sign their administrator in; returns
    the companies' references and a session cookie that the served portal accepts (same secret key)."""
    settings = {
        "ENV": "development",
        "SECRET_KEY": secret,
        "DATABASE_URL": app_db,
        "INSTANCE_PATH": str(workdir),
    }
    app = create_app({**settings, "SMS_BACKEND": "file", "MAIL_BACKEND": "file", "SESSION_IDLE_MINUTES": 600})
    limiter.enabled = False
    register_operator_key(owner, database(app).operator_key)  # as `mgd db upgrade` does, for this secret key
    with app.app_context():  # the records import opens an operator scope, which takes the app's key
        refs = [ref for _, ref in build_sizes(owner, sizes, app.config["TERMS_VERSION"], fill=fill)]
    client = app.test_client()
    sign_in(app, client)
    database(app).engine.dispose()
    return refs, f"session={client.get_cookie('session').value}"


def measure(cases: list[tuple[str, int, str, str]], seconds: int, connections: int) -> None:
    hello_rate = None
    for name, port, path, cookie in cases:
        check(port, path, cookie)
        wrk(port, path, cookie, 2, connections)  # warm-up
        rate, p50, p99 = wrk(port, path, cookie, seconds, connections)
        hello_rate = hello_rate or rate
        print(
            f"{name:28s} {rate:9.1f} req/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   "
            f"{rate / hello_rate:6.3f} x hello   load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--sizes", default="1000,50000", help="lines of each measured company")
    parser.add_argument("--port", type=int, default=18301, help="hello's; the portal's is the next")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    suffix = uuid.uuid4().hex[:8]
    schema, role = f"mgd_bench_{suffix}", f"mgd_bench_app_{suffix}"
    admin = make_engine(args.database_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS'))
    owner_url = make_url(args.database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    owner, app_db = owner_url.render_as_string(False), owner_url.set(username=role).render_as_string(False)
    processes: list[subprocess.Popen] = []
    workdir = Path(tempfile.mkdtemp(prefix="mgd-bench-serve-"))
    secret = secrets.token_urlsafe(32)
    try:
        upgrade(owner)
        grant_app_role(owner, app_db)
        sizes = [int(size) for size in args.sizes.split(",")]
        refs, cookie = dataset_and_session(owner, app_db, secret, workdir, [*sizes, *[500] * 20])
        env = production_env(secret, app_db, workdir)
        hello, portal = args.port, args.port + 1
        processes.append(start_gunicorn("hello:app", hello, env, workdir / "hello.log"))
        processes.append(start_gunicorn("mgd.wsgi:app", portal, env, workdir / "mgd.log"))
        cases = [("hello (bare Flask)", hello, "/", ""), ("MGD /login", portal, "/login", "")]
        for size, ref in zip(sizes, refs, strict=False):
            for name, page in PAGES:
                cases.append((f"{name}, {size:,} lines", portal, f"/empresa/{ref}{page}", cookie))
        from mgd.gunicorn_conf import threads, workers  # noqa: PLC0415

        print(
            f"gunicorn: {workers} workers x {threads} threads (mgd.gunicorn_conf); "
            f"wrk: 2 threads, {args.connections} connections, {args.seconds} s per case"
        )
        measure(cases, args.seconds, args.connections)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=150)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            connection.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"database: PostgreSQL as role {role} (Row-Level Security on); companies of {args.sizes} lines "
        "and 20 of ~500; the same administrator in each"
    )


if __name__ == "__main__":
    main()

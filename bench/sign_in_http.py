"""Benchmark: complete sign-ins over HTTP under gunicorn, as the production roles, per core-second of the
portal's workers and of their PostgreSQL backends together.

Creates an owner role, a portal role (``LOGIN NOSUPERUSER NOBYPASSRLS``) and a database of their own
(import_billing.py's `production_database`), migrates as the owner, adds `--users` users (in-process, the
same keys as the served portal), starts gunicorn with `mgd.gunicorn_conf` and production settings (serve.py's
`production_env`: Redis for rate limits and jobs, the portal's role for the database, behind one proxy hop),
and has `--clients` threads sign in for `--seconds`, as browsers do: GET /login, POST /login (argon2id),
GET+POST /login/channel (a code by email: issued, queued in the outbox, audited), GET+POST /login/code (the
code, read from the outbox by the benchmark as a superuser), until the redirect to the user's area. Each
sign-in comes from its own address (X-Forwarded-For), as many users' would, so the per-address limits do not
stop the run.

Reports sign-ins/s of wall time, and per CPU-second of the gunicorn workers plus the portal role's PostgreSQL
backends (sampled from /proc before and after): what one core does, counting the database. Redis's own CPU is
not counted. Then drops the database and both roles.

Usage: python bench/sign_in_http.py [--admin-url URL] [--clients N] [--seconds S] [--runs N] [--users N]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from exports import serve
from import_billing import ADMIN_URL, MGD, backends, cpu_seconds, production_database
from mgd import create_app
from mgd.crypto import derived_key
from mgd.db import database, get_session, utcnow
from mgd.notify.models import OutboxMessage
from mgd.security.models import User
from mgd.security.passwords import _hasher, hash_password, verify_password
from serve import production_env

PORT = 18321
PASSWORD = "Zx9kPq2mWv"
CSRF = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
COOKIE = re.compile(r"^([^=;\s]+)=([^;]*)")
_addresses = itertools.count(1)


def add_users(env: dict, count: int) -> None:
    app = create_app(
        {
            "ENV": "development",
            "SECRET_KEY": env["MGD_SECRET_KEY"],
            "DATABASE_URL": env["MGD_DATABASE_URL"],
            "INSTANCE_PATH": env["MGD_INSTANCE_PATH"],
        }
    )
    with app.app_context():
        session = get_session()
        password_hash = hash_password(PASSWORD)
        for n in range(count):
            session.add(
                User(
                    email=f"user{n}@bench.es",
                    name=f"User {n}",
                    password_hash=password_hash,
                    password_is_temporary=False,
                    terms_version=app.config["TERMS_VERSION"],
                    access_data_confirmed_at=utcnow(),
                    mobile="+34600000000",
                )
            )
        session.commit()


class Outbox:
    """Reads the codes sent, as a superuser (its backend is not the portal role's: not counted), decrypted
    with the served portal's keys."""

    def __init__(self, env: dict, superuser_url: str) -> None:
        self.app = create_app(
            {
                "ENV": "development",
                "SECRET_KEY": env["MGD_SECRET_KEY"],
                "ENCRYPTION_KEYS": env["MGD_ENCRYPTION_KEYS"],
                "DATABASE_URL": superuser_url,
                "INSTANCE_PATH": env["MGD_INSTANCE_PATH"],
            }
        )
        self.lock = threading.Lock()

    def code(self, email: str) -> str:
        with self.lock, self.app.app_context():
            session = get_session()
            body = session.scalars(
                select(OutboxMessage.body_text)
                .where(OutboxMessage.recipient == email)
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            ).one()
            session.rollback()
        return re.search(r"\b(\d{6})\b", body).group(1)


class Browser:
    """One browser's requests over one keep-alive connection, its cookies and its address."""

    def __init__(self) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        self.cookies: dict[str, str] = {}
        number = next(_addresses)
        self.address = f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, bytes]:
        headers = {"X-Forwarded-For": self.address, "X-Forwarded-Proto": "https", "Host": "bench.example"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"https://bench.example{path}"
            headers["Origin"] = "https://bench.example"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            found = COOKIE.match(header)
            if found:
                self.cookies[found.group(1)] = found.group(2)
        return response.status, response.headers.get("Location", ""), content

    def form(self, path: str, fields: dict) -> tuple[int, str]:
        status, _, page = self.request("GET", path)
        assert status == 200, (path, status)
        token = CSRF.search(page)
        status, location, _ = self.request(
            "POST", path, {**fields, "csrf_token": (token.group(1) or token.group(2)).decode()}
        )
        return status, location


def sign_in(outbox: Outbox, email: str) -> None:
    browser = Browser()
    try:
        for path, fields in (
            ("/login", {"email": email, "password": PASSWORD}),
            ("/login/channel", {"channel": "email"}),
        ):
            status, location = browser.form(path, fields)
            assert status == 302, (path, status, location)
        _status, location = browser.form("/login/code", {"code": outbox.code(email)})
        assert location.endswith("/mi-area"), location
    finally:
        browser.connection.close()


def run(outbox: Outbox, clients: int, seconds: float, users: int) -> tuple[int, float]:
    done, errors, lock = [0], [], threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(offset: int) -> None:
        n = offset
        while time.perf_counter() < deadline:
            try:
                sign_in(outbox, f"user{n % users}@bench.es")
            except Exception as exc:  # reported after the run
                errors.append(repr(exc))
                return
            n += clients
            with lock:
                done[0] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} clients failed; the first: {errors[0]}")
    return done[0], time.perf_counter() - started


def verification_cpu() -> float:
    """CPU seconds of one argon2id verification here and now: a yardstick of what a CPU-second is worth on a
    machine shared with other work (its CPU time grows with the contention too)."""
    password_hash = hash_password(PASSWORD)
    started = time.process_time()
    for _ in range(10):
        verify_password(password_hash, PASSWORD)
    return (time.process_time() - started) / 10


def cpu_of(pids: list[int]) -> dict[int, float]:
    return {pid: seconds for pid in pids if (seconds := cpu_seconds(pid)) is not None}


def workers(master: int) -> list[int]:
    return [master, *map(int, Path(f"/proc/{master}/task/{master}/children").read_text().split())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default=ADMIN_URL, help="a superuser, to create and drop the run's roles"
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--users",
        type=int,
        default=3000,
        help="users (each signs in at most a few times: codes per user are capped)",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # the database and roles are dropped still

    with production_database(args.admin_url, "signin") as db, tempfile.TemporaryDirectory() as folder:
        workdir, secret = Path(folder), secrets.token_urlsafe(32)
        env = production_env(secret, db.app_url, workdir) | {
            "MGD_DATABASE_OWNER_URL": db.owner_url,
            "MGD_ENCRYPTION_KEYS": derived_key(secret),
            "MGD_PROXY_HOPS": "1",
        }
        subprocess.run([MGD, "db", "upgrade"], env=env, check=True, capture_output=True)  # noqa: S603
        add_users(env, args.users)
        superuser_url = make_url(args.admin_url).set(database=db.name).render_as_string(False)
        outbox = Outbox(env, superuser_url)
        server = serve(PORT, env, workdir / "gunicorn.log")
        admin = create_engine(args.admin_url).connect()
        try:
            from mgd import gunicorn_conf  # noqa: PLC0415

            print(
                f"gunicorn (mgd.gunicorn_conf, production settings): {gunicorn_conf.workers} workers x "
                f"{gunicorn_conf.threads} threads; PostgreSQL as {db.app} (Row-Level Security on); "
                f"{os.cpu_count()} CPUs; {args.clients} clients; "
                f"argon2id m={_hasher.memory_cost} KiB, t={_hasher.time_cost}, p={_hasher.parallelism}",
                flush=True,
            )
            run(outbox, args.clients, 5, args.users)  # warm up: every worker and connection
            results = []
            for number in range(1, args.runs + 1):
                load = os.getloadavg()[0]
                before_workers = cpu_of(workers(server.pid))
                before_db = cpu_of(backends(admin, db.app))
                done, wall = run(outbox, args.clients, args.seconds, args.users)
                after_workers = cpu_of(workers(server.pid))
                after_db = cpu_of(backends(admin, db.app))
                app_cpu = sum(after_workers.get(p, 0) - before_workers.get(p, 0) for p in after_workers)
                db_cpu = sum(after_db[p] - before_db.get(p, 0) for p in after_db)
                results.append((done, wall, app_cpu, db_cpu))
                yardstick = verification_cpu()
                print(
                    f"run {number}: {done} sign-ins in {wall:.1f} s = {done / wall:.1f}/s (load average "
                    f"{load:.1f}); CPU: workers {app_cpu:.1f} s + PostgreSQL {db_cpu:.1f} s: "
                    f"{done / app_cpu:.1f} per worker CPU-second, {done / (app_cpu + db_cpu):.1f} per "
                    f"core-second counting the database "
                    f"({1000 * (app_cpu + db_cpu) / done:.1f} ms of CPU a sign-in = "
                    f"{(app_cpu + db_cpu) / done / yardstick:.1f} argon2id verifications, one of which took "
                    f"{1000 * yardstick:.1f} ms of CPU in this process just after)",
                    flush=True,
                )
            per_core = statistics.median(d / (a + b) for d, _, a, b in results)
            per_worker = statistics.median(d / a for d, _, a, _ in results)
            print(
                f"median: {per_core:.1f} sign-ins per core-second counting the database "
                f"({per_worker:.1f} per worker CPU-second)"
            )
        finally:
            admin.close()
            database(outbox.app).engine.dispose()
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=150)


if __name__ == "__main__":
    main()

"""Benchmark: complete sign-ins per second on one core (password, code by email, code), through the app.

Each sign-in is what a browser does: GET /login, POST /login (argon2id verification with the parameters in
use), POST /login/channel (a code is issued and queued), POST /login/code (the code, read from the outbox), in
one process and one thread, with CSRF on, against a freshly migrated database. Reports wall-clock and CPU-time
rates per run and their medians, and the argon2id verification alone.
Usage: python bench/sign_in.py [--database-url URL] [--users N] [--seconds S] [--runs R]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from mgd import create_app
from mgd.db import database, get_session, utcnow
from mgd.extensions import limiter
from mgd.migrate import upgrade
from mgd.notify.models import OutboxMessage
from mgd.security.models import User
from mgd.security.passwords import _hasher, hash_password, verify_password

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
PASSWORD = "Zx9kPq2mWv"


def token(page: str) -> str:
    match = CSRF.search(page)
    return match.group(1) or match.group(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        url = args.database_url or f"sqlite:///{Path(workdir) / 'bench.sqlite3'}"
        upgrade(url)
        app = create_app(
            {
                "ENV": "development",
                "SECRET_KEY": "bench",
                "DATABASE_URL": url,
                "INSTANCE_PATH": workdir,
                "SMS_BACKEND": "file",
                "MAIL_BACKEND": "file",
                "LOCKOUT_THRESHOLD": 1000,
            }
        )
        limiter.enabled = False  # every sign-in comes from one address: the per-IP limit would stop the run
        with app.app_context():
            session = get_session()
            password_hash = hash_password(PASSWORD)
            for n in range(args.users):
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
        rates = [sign_in_rate(app, args.users, args.seconds) for _ in range(args.runs)]
        database(app).engine.dispose()
    print(f"argon2id: m={_hasher.memory_cost} KiB, t={_hasher.time_cost}, p={_hasher.parallelism}")
    print(f"argon2id verification alone: {verification_ms(password_hash):.1f} ms (median of 50)")
    for n, (done, wall, cpu) in enumerate(rates, 1):
        print(
            f"run {n}: {done} sign-ins in {wall:.1f} s: {done / wall:.1f}/s, {done / cpu:.1f}/s of CPU time"
        )
    wall_rate = statistics.median(done / wall for done, wall, _ in rates)
    cpu_rate = statistics.median(done / cpu for done, _, cpu in rates)
    print(f"median: {wall_rate:.1f} complete sign-ins/s on one core ({cpu_rate:.1f}/s per second of CPU)")


def sign_in_rate(app, users: int, seconds: float) -> tuple[int, float, float]:
    """Signs in for `seconds`, as a browser would; returns sign-ins, wall-clock seconds, CPU seconds."""
    done, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        email = f"user{done % users}@bench.es"
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token(page)})
        page = client.get("/login/channel").get_data(as_text=True)
        client.post("/login/channel", data={"channel": "email", "csrf_token": token(page)})
        page = client.get("/login/code").get_data(as_text=True)
        response = client.post("/login/code", data={"code": last_code(app, email), "csrf_token": token(page)})
        assert response.headers["Location"] == "/mi-area", response.status
        done += 1
    return done, time.perf_counter() - started, time.process_time() - cpu_started


def last_code(app, email: str) -> str:
    with app.app_context():
        body = (
            get_session()
            .scalars(
                select(OutboxMessage.body_text)
                .where(OutboxMessage.recipient == email)
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            )
            .one()
        )
    return re.search(r"\b(\d{6})\b", body).group(1)


def verification_ms(password_hash: str) -> float:
    timings = []
    for _ in range(50):
        started = time.perf_counter()
        assert verify_password(password_hash, PASSWORD)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


if __name__ == "__main__":
    main()

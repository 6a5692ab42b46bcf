"""Benchmark: the back office's order queue with a million orders among several companies, every page at any
depth, over HTTP under gunicorn, as the production roles.

Creates for the run an owner role, a portal role and a database of their own
(``import_billing.production_database``, dropped at the end), migrates as the owner, imports companies of
several sizes (``lines_page.build_sizes``: 20,000, 10,000, 5,000, 2,000 lines and 16 of 500) and writes
``--orders`` orders (default 1,000,000) with one line each, spread over the companies in proportion to their
lines, as the superuser in SQL (``INSERT … SELECT``): states 40 % submitted, 10 % in progress, 40 % completed,
5 % rejected, 5 % cancelled; the five kinds in turn; ``state_changed_at`` over the last year. Then
``VACUUM ANALYZE``. The portal runs under gunicorn (``mgd.gunicorn_conf``, production settings as
``serve.py``), connected as the portal's role (Row-Level Security on; the queue reads in an operator scope).
As an advisor signed in over HTTP: the submitted queue (every kind) and the submitted tariff changes at
eleven depths each (the first page, each tenth, the last: each the page after the order before it, as the
queue's "next" link asks for it), ``--repeat`` times each, and ``--walk`` pages by "next" from the first.
Every request is a GET on a new connection, the whole answer read. Prints the median, 95th percentile and
largest time of each, and the load average.
Usage: python bench/orders_queue.py [--admin-url URL] [--orders N] [--repeat N] [--walk N]
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select, text

import list_depth
from import_billing import ADMIN_URL, production_database
from lines_page import CSRF, build_sizes
from list_depth import NEXT, get, report
from mgd import create_app
from mgd.db import database, get_session, make_engine
from mgd.extensions import limiter
from mgd.migrate import grant_app_role, register_operator_key, upgrade
from mgd.notify.models import OutboxMessage
from mgd.security.services import create_staff
from mgd.web.paging import cursor_token
from serve import production_env, start_gunicorn

PORT = 18304
QUIET = Path("/tmp/mgd-quiet")  # noqa: S108 (the shared machine's lock: other sessions wait while it exists)
SIZES = [20_000, 10_000, 5_000, 2_000, *[500] * 16]
TARGET_MS = 50
KINDS = ("tariff_change", "voicemail_reset", "premium_block", "roaming", "enquiry")

# The orders of one company: ``:count`` of them over its lines, the states by the order's number (40 %
# submitted, 10 % in progress, 40 % completed, 5 % rejected, 5 % cancelled), the kinds in turn, moved into
# their state at a moment of the last year (a multiplicative hash spreads them).
ORDERS = """
INSERT INTO orders (tenant_id, kind, state, sub_state, state_changed_at, payload, idempotency_key,
    created_at, updated_at)
SELECT :tenant, (ARRAY['tariff_change','voicemail_reset','premium_block','roaming','enquiry'])[1 + g % 5],
    CASE WHEN g % 20 < 8 THEN 'submitted' WHEN g % 20 < 10 THEN 'in_progress'
        WHEN g % 20 < 18 THEN 'completed' WHEN g % 20 < 19 THEN 'rejected' ELSE 'cancelled' END,
    CASE WHEN g % 20 IN (8, 9) THEN 'with_advisor' END,
    now() - ((g::bigint * 7919) % 31536000) * interval '1 second', '{}'::json, 'bench-' || g,
    now() - ((g::bigint * 7919) % 31536000) * interval '1 second' - interval '1 hour',
    now() - ((g::bigint * 7919) % 31536000) * interval '1 second'
FROM generate_series(1, :count) AS g
"""
ORDER_LINES = """
INSERT INTO order_lines (tenant_id, order_id, line_id)
SELECT o.tenant_id, o.id, lines.ids[1 + (o.id % lines.n)::int]
FROM orders o,
    (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM lines WHERE tenant_id = :tenant) AS lines
WHERE o.tenant_id = :tenant
"""


def build_orders(superuser_url: str, companies: list[int], sizes: list[int], total: int) -> None:
    engine = make_engine(superuser_url)
    lines = sum(sizes)
    with engine.begin() as connection:
        for company, size in zip(companies, sizes, strict=True):
            count = total * size // lines
            connection.execute(text(ORDERS), {"tenant": company, "count": count})
            connection.execute(text(ORDER_LINES), {"tenant": company})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE orders"))
        connection.execute(text("VACUUM ANALYZE order_lines"))
    engine.dispose()


def advisor_session(owner: str, app_db: str, secret: str, workdir: Path) -> tuple[list[int], str]:
    """Import the companies, then sign an advisor in (first sign-in: a new password) with a test client of
    an app on the same secret key: the cookie the served portal accepts, and the companies' ids."""
    settings = {
        "ENV": "development",
        "SECRET_KEY": secret,
        "DATABASE_URL": app_db,
        "INSTANCE_PATH": str(workdir),
    }
    app = create_app({**settings, "SMS_BACKEND": "file", "MAIL_BACKEND": "file", "SESSION_IDLE_MINUTES": 600})
    limiter.enabled = False
    register_operator_key(owner, database(app).operator_key)
    with app.app_context():
        companies = [
            company for company, _ in build_sizes(owner, SIZES, app.config["TERMS_VERSION"], members=2)
        ]
        session = get_session()
        _user, password = create_staff(session, "advisor@operador.es", "Advisor", "advisor")
        session.commit()
    client = app.test_client()

    def post(url, data):
        token = CSRF.search(client.get(url).get_data(as_text=True)).group(1)
        return client.post(url, data={**data, "csrf_token": token})

    post("/login", {"email": "advisor@operador.es", "password": password})
    post("/login/channel", {"channel": "email"})
    with app.app_context():
        body = (
            get_session().scalars(select(OutboxMessage.body_text).order_by(OutboxMessage.id.desc())).first()
        )
    post("/login/code", {"code": re.search(r"\b(\d{6})\b", body).group(1)})
    answer = post("/password", {"password": "Asesora2026x", "confirm": "Asesora2026x"})
    if answer.status_code != 302:
        raise SystemExit(f"the advisor's sign-in stopped at /password: {answer.status_code}")
    database(app).engine.dispose()
    return companies, f"session={client.get_cookie('session').value}"


def depth_paths(superuser_url: str, base: str, state: str, kind: str | None) -> tuple[list, int]:
    """(name, path) of the queue at eleven depths, each the page after the order before it; and how many
    orders the queue holds."""
    where = "state = :s" + (" AND kind = :k" if kind else "")  # (fixed texts, the values bound)
    query = f"?state={state}" + (f"&kind={kind}" if kind else "")
    with make_engine(superuser_url).connect() as connection:
        counted = text(f"SELECT count(*) FROM orders WHERE {where}")  # noqa: S608
        total = connection.scalar(counted, {"s": state, "k": kind})
        pages = -(-total // 50)
        paths = [("page 1", base + query)]
        for page in [pages * k // 10 for k in range(1, 10)] + [pages]:
            row = connection.execute(
                text(f"SELECT state_changed_at, id FROM orders WHERE {where} "  # noqa: S608
                     "ORDER BY state_changed_at, id OFFSET :o LIMIT 1"),
                {"s": state, "k": kind, "o": (page - 1) * 50 - 1},
            ).one()  # fmt: skip
            paths.append((f"page {page:,}", f"{base}{query}&after={quote(cursor_token(list(row)))}"))
    return paths, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default=ADMIN_URL, help="a superuser, to create and drop the run's roles"
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20, help="requests of each depth")
    parser.add_argument("--walk", type=int, default=100, help="pages by the queue's next link")
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="wait for the shared machine's quiet lock (/tmp/mgd-quiet) to be free, hold it while measuring",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # the database and roles are dropped still
    list_depth.PORT = PORT  # (its ``get`` reads the port from its module)
    with production_database(args.admin_url, "orders") as run:
        workdir, secret, process = (
            Path(tempfile.mkdtemp(prefix="mgd-bench-orders-")),
            secrets.token_urlsafe(32),
            None,
        )
        superuser = args.admin_url.rsplit("/", 1)[0] + f"/{run.name}"
        try:
            upgrade(run.owner_url)
            grant_app_role(run.owner_url, run.app_url)
            started = time.perf_counter()
            companies, cookie = advisor_session(run.owner_url, run.app_url, secret, workdir)
            build_orders(superuser, companies, SIZES, args.orders)
            with make_engine(superuser).connect() as connection:
                total = connection.scalar(text("SELECT count(*) FROM orders"))
                biggest = connection.scalar(
                    text("SELECT max(n) FROM (SELECT count(*) AS n FROM orders GROUP BY tenant_id) AS c")
                )
            print(
                f"dataset: {total:,} orders (one line each) among {len(companies)} companies (the largest "
                f"{biggest:,}); built in {time.perf_counter() - started:.0f} s; PostgreSQL as {run.app} "
                "(Row-Level Security on, the queue in an operator scope)",
                flush=True,
            )
            env = production_env(secret, run.app_url, workdir)
            process = start_gunicorn("mgd.wsgi:app", PORT, env, workdir / "mgd.log")
            if args.quiet:
                while QUIET.exists():
                    time.sleep(15)
                QUIET.touch()
            try:
                measure(superuser, cookie, args)
            finally:
                if args.quiet:
                    QUIET.unlink(missing_ok=True)
        finally:
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=150)
            shutil.rmtree(workdir, ignore_errors=True)


def measure(superuser: str, cookie: str, args) -> None:
    base = "/backoffice/pedidos"
    worst = 0.0
    for state, kind in (("submitted", None), ("submitted", "tariff_change"), ("completed", None)):
        paths, total = depth_paths(superuser, base, state, kind)
        label = f"{state}{' ' + kind if kind else ', every kind'} ({total:,})"
        for name, path in paths:
            _, body = get(path, cookie)  # warm-up, and a check that it is the queue
            if "/backoffice/pedidos/" not in body and name != paths[-1][0]:
                raise SystemExit(f"GET {path}: not a page of the queue")
            timings = [get(path, cookie)[0] for _ in range(args.repeat)]
            worst = max(worst, sorted(timings)[len(timings) // 2])
            report(f"{label}, {name}", timings)
    timings, _, _ = list_depth.walk(f"{base}?state=submitted", cookie, NEXT, most=args.walk)
    report(f"submitted, next from page 1, {args.walk} pages", timings)
    print(f"largest median of a depth: {worst:.1f} ms (target < {TARGET_MS} ms)", flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: every page of a long list, first to last, over HTTP under gunicorn, as the production roles.

Builds a fresh PostgreSQL schema with companies of several sizes (``lines_page.build_sizes``): by default one
of 200,000 lines, 19 % of a table of about 1,050,000 lines, among companies of 350,000, 250,000, 150,000,
50,000, 20,000 and 20 of 500 lines, so that the planner sees a table like production's. The portal runs under
gunicorn (``mgd.gunicorn_conf``, production settings, as ``serve.py``) in a database of its own, migrated as
an owner role and connected as a portal role (``import_billing.production_database``: Row-Level Security on);
the database and both roles are dropped at the end.

As the measured company's administrator: the lines list by number at eleven depths (the first page, each
tenth, the last; each the page after the line before it, as its "next" link asks for it), ``--repeat`` times
each; then, following the pages' own links, ``--walk`` pages by "next" from the first page and by "previous"
from the last, by number descending, of the company's most common tariff, by alias, by cost centre descending
and by status (each walk must reach a second page); the users list (200 members)
and the activity list to their ends. Every request is a GET on a new connection, the whole answer read.
Prints the median, 95th percentile and largest time of each, by depth for the walks (first page, each tenth,
last page), and the load average. The companies but for their first 500 lines are copies in SQL
(``build_sizes(fill=True)``), as a superuser (COPY); the portal reads as its own role, under the policies.
Usage: python bench/list_depth.py [--admin-url URL] [--sizes 200000,...] [--repeat N] [--walk N] [--quiet]
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
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text

from import_billing import ADMIN_URL, production_database
from mgd.db import make_engine
from mgd.migrate import grant_app_role, upgrade
from mgd.web.paging import COUNT_LIMIT, cursor_token
from serve import dataset_and_session, production_env, start_gunicorn

PORT = 18303
QUIET = Path("/tmp/mgd-quiet")  # noqa: S108 (the shared machine's lock: other sessions wait while it exists)
NEXT, PREVIOUS = re.compile(r'<a href="([^"]+)" rel="next">'), re.compile(r'<a href="([^"]+)" rel="prev">')
COUNT = re.compile(r"<span>((?:Más de )?[\d.,\xa0 ]+ (?:líneas?|lines?))</span>")


def get(path: str, cookie: str) -> tuple[float, str]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    body = response.read().decode()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise SystemExit(f"GET {path}: {response.status}")
    return elapsed, body


def walk(start: str, cookie: str, link: re.Pattern, most: int | None = None) -> tuple[list[float], str, str]:
    """Follow ``link`` from ``start`` to the end (or ``most`` pages): each page's time, the last page's
    path and body."""
    get(start, cookie)  # warm-up
    timings, path = [], start
    while True:
        elapsed, body = get(path, cookie)
        timings.append(elapsed)
        found = link.search(body)
        if not found or (most and len(timings) >= most):
            return timings, path, body
        path = found.group(1).replace("&amp;", "&")


def report(name: str, timings: list[float], shown: str = "") -> None:
    tenths = [timings[0]] + [timings[len(timings) * k // 10] for k in range(1, 10)] + [timings[-1]]
    p95 = statistics.quantiles(timings, n=20)[-1] if len(timings) > 1 else timings[0]
    print(
        f"{name:42s} pages {len(timings):5d}  median {statistics.median(timings):6.1f} ms  "
        f"p95 {p95:6.1f} ms  max {max(timings):6.1f} ms  load {os.getloadavg()[0]:.1f}  {shown}\n"
        f"{'':42s} first, each tenth, last: {' '.join(f'{t:.0f}' for t in tenths)} ms",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default=ADMIN_URL, help="a superuser, to create and drop the run's roles"
    )
    parser.add_argument("--sizes", default="200000,350000,250000,150000,50000,20000")
    parser.add_argument("--repeat", type=int, default=20, help="requests of each depth")
    parser.add_argument("--walk", type=int, default=100, help="pages of each walk by the links")
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="wait for the shared machine's quiet lock (/tmp/mgd-quiet) to be free, hold it while measuring",
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # the database and roles are dropped still
    with production_database(args.admin_url, "depth") as run:
        workdir, secret, process = (
            Path(tempfile.mkdtemp(prefix="mgd-bench-depth-")),
            secrets.token_urlsafe(32),
            None,
        )
        try:
            upgrade(run.owner_url)
            grant_app_role(run.owner_url, run.app_url)
            started = time.perf_counter()
            refs, cookie = dataset_and_session(
                run.owner_url, run.app_url, secret, workdir, [*sizes, *[500] * 20]
            )
            with make_engine(args.admin_url.rsplit("/", 1)[0] + f"/{run.name}").connect() as connection:
                total = connection.scalar(
                    text("SELECT count(*) FROM lines")
                )  # (as a superuser: every company)
            print(
                f"dataset: {sizes[0]:,} lines in the measured company of {total:,} ({sizes[0] / total:.0%}); "
                f"companies of {', '.join(f'{s:,}' for s in sizes[1:])} and 20 of ~500; "
                f"built in {time.perf_counter() - started:.0f} s; "
                f"PostgreSQL as {run.app} (Row-Level Security on)",
                flush=True,
            )
            env = production_env(secret, run.app_url, workdir)
            process = start_gunicorn("mgd.wsgi:app", PORT, env, workdir / "mgd.log")
            if args.quiet:
                while QUIET.exists():
                    time.sleep(15)
                QUIET.touch()
            try:
                measure(refs[0], cookie, args.admin_url.rsplit("/", 1)[0] + f"/{run.name}", args)
            finally:
                if args.quiet:
                    QUIET.unlink(missing_ok=True)
        finally:
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=150)
            shutil.rmtree(workdir, ignore_errors=True)


def depth_paths(
    admin_url: str, company_ref: str, lines: str, repeat: int
) -> tuple[list[tuple[str, str]], int]:
    """(name, path) of the lines list by number at eleven depths (the first page, each tenth, the last),
    each path the page after the line that precedes it with the count the first page made, as its "next"
    link carries them, read as a superuser; and the tariff most of the company's lines have."""
    with make_engine(admin_url).connect() as connection:
        company = connection.scalar(
            text("SELECT id FROM companies WHERE public_ref = :r"), {"r": company_ref}
        )
        total = connection.scalar(text("SELECT count(*) FROM lines WHERE tenant_id = :c"), {"c": company})
        pages = -(-total // 50)
        paths = [("page 1", lines)]
        for page in [pages * k // 10 for k in range(1, 10)] + [pages]:
            before = connection.scalar(
                text("SELECT number FROM lines WHERE tenant_id = :c ORDER BY number OFFSET :o LIMIT 1"),
                {"c": company, "o": (page - 1) * 50 - 1},
            )
            token = cursor_token([before], min(total, COUNT_LIMIT + 1))
            paths.append((f"page {page:,}", f"{lines}?after={quote(token)}"))
        tariff = connection.scalar(
            text(
                "SELECT tariff_id FROM lines WHERE tenant_id = :c GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
            ),
            {"c": company},
        )
    return paths, tariff


def measure(ref: str, cookie: str, admin_url: str, args) -> None:
    lines = f"/empresa/{ref}/lineas"
    paths, tariff = depth_paths(admin_url, ref, lines, args.repeat)
    for name, path in paths:
        get(path, cookie)  # warm-up
        report(f"lines by number, {name}", [get(path, cookie)[0] for _ in range(args.repeat)])
    timings, last, body = walk(lines, cookie, NEXT, most=args.walk)
    report(f"lines by number, next from page 1, {args.walk} pages", timings)
    _, last, body = walk(path, cookie, NEXT)  # the last page
    shown = COUNT.search(body)
    timings, _, _ = walk(last, cookie, PREVIOUS, most=args.walk)
    report(
        f"lines by number, previous from the last, {args.walk} pages",
        timings,
        shown.group(1) if shown else "",
    )
    for name, query in (
        ("by number descending", "sort=-number"),
        # (every company of the dataset has fixed lines only: a filter by kind would show none or all)
        ("of one tariff by number", f"tariff={tariff}"),
        ("by alias", "sort=alias"),
        ("by cost centre descending", "sort=-cost_centre"),
        ("by status", "sort=status"),
    ):
        timings, _, _ = walk(f"{lines}?{query}", cookie, NEXT, most=args.walk)
        if len(timings) < 2:  # a walk that stops on its first page measures nothing
            raise SystemExit(f"lines {name}: no next page")
        report(f"lines {name}, {args.walk} pages", timings)
    timings, _, _ = walk(f"/empresa/{ref}/usuarios", cookie, NEXT)
    report("users, to the last page", timings)
    timings, _, _ = walk(f"/empresa/{ref}/actividad", cookie, NEXT)
    report("activity, to the last page", timings)


if __name__ == "__main__":
    main()

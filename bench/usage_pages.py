"""Benchmark: the consumption pages of a company with 5,000 lines and millions of usage records over six
months, among other companies with as many records again, served by gunicorn over HTTP from PostgreSQL, as
the production roles (Row-Level Security on), signed in as its administrator.

Creates for the run an owner role, a portal role and a database of their own (import_billing.py's
``production_database``), migrates and imports the companies as `mgd` would (import_billing.py's dataset:
the big company's lines on one billing account), makes the monthly partitions of ``usage_records`` with the
migration's ``mgd_usage_partition`` and writes the records with one ``INSERT … SELECT`` per month as the
superuser (the records import is timed by its own benchmark), then their daily sums (``usage_daily``) from
them, as the import keeps them, and ``VACUUM ANALYZE``. Then times GET over HTTP: the company's records (the
first page and a page 10,000 pages deep, by its keyset cursor), a line's month, the company's month (its
totals per type), the allowance page (its first and last keyset page of 50 lines), the cycle's rankings and
the lines page (50 lines with their allowance marks). The big company's cycle is set to end today, so that
its bars sum a whole month. Several sizes (``--records 1000000,10000000``) are measured in one run, records
added between them. Prints the median and 95th
percentile of each with the load average. Drops the database and roles.
Usage: python bench/usage_pages.py [--admin-url URL] [--records N[,N…]] [--repeat N] [--quiet] [--pause]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, make_url, text

from billing_pages import PORT, Case, Processes, admin_session, timed
from import_billing import ADMIN_URL, dataset, import_companies, production_database
from mgd.crypto import derived_key
from mgd.usage.filters import cursor_token
from mgd.web.paging import cursor_token as paging_token
from serve import production_env, start_gunicorn

MADRID = ZoneInfo("Europe/Madrid")
# ms: issue #13; the lines page's, issue "Company administration" (a page of 50 lines < 50 ms)
TARGETS = {"page": 50, "line month": 20, "company month": 300, "allowances": 100, "lines": 50}
MONTHS = 6
DEEP = 10_000  # pages of 50 records

# One month of one company's records: ``:count`` records spread evenly over the month's seconds and over its
# lines (each record's line picked by a multiplicative hash of its number, so a line's records spread over the
# month); 40 % calls (a third received), 15 % SMS, 2 % MMS, 40 % data, 3 % premium; 5 % in roaming; billed
# before the current month.
RECORDS = """
INSERT INTO usage_records (tenant_id, line_id, record_id, started_at, kind, direction, destination, country,
    roaming_zone, duration_s, bytes, units, cost_cents, billed, invoice_number)
SELECT :tenant, lines.ids[1 + ((g::bigint * 7919) % lines.n)::int], :prefix || g,
    :start + (g::bigint * :span / :count) * interval '1 second',
    k.kind, CASE WHEN k.kind IN ('voice', 'sms') AND g % 3 = 0 THEN 'in' ELSE 'out' END,
    CASE WHEN k.kind IN ('voice', 'sms', 'mms') THEN '+3460' || lpad((g % 10000000)::text, 7, '0') END,
    CASE WHEN g % 20 = 0 THEN 'FR' END, CASE WHEN g % 20 = 0 THEN 'eu' END,
    CASE WHEN k.kind = 'voice' THEN 5 + g % 600 ELSE 0 END,
    CASE WHEN k.kind = 'data' THEN 100000 + (g % 997) * 50000 ELSE 0 END,
    CASE WHEN k.kind IN ('sms', 'mms', 'premium') THEN 1 ELSE 0 END,
    CASE k.kind WHEN 'premium' THEN 120 WHEN 'voice' THEN g % 40 WHEN 'sms' THEN 9 ELSE 0 END,
    :billed, CASE WHEN :billed THEN :invoice END
FROM generate_series(1, :count) AS g,
    (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM lines WHERE tenant_id = :tenant) AS lines,
    LATERAL (SELECT CASE WHEN g % 100 < 40 THEN 'voice' WHEN g % 100 < 55 THEN 'sms'
        WHEN g % 100 < 57 THEN 'mms' WHEN g % 100 < 97 THEN 'data' ELSE 'premium' END AS kind) AS k
"""
DAILY = """
INSERT INTO usage_daily (tenant_id, line_id, day, kind, direction, billed, roaming, records, duration_s,
    bytes, units, cost_cents)
SELECT tenant_id, line_id, (started_at AT TIME ZONE 'Europe/Madrid')::date, kind, direction, billed,
    roaming_zone IS NOT NULL, count(*), sum(duration_s), sum(bytes), sum(units), sum(cost_cents)
FROM usage_records GROUP BY 1, 2, 3, 4, 5, 6, 7
"""


def months(today: date) -> list[tuple[datetime, datetime]]:
    """The last ``MONTHS`` calendar months (Madrid) to the current one, as UTC instants [start, end)."""
    first = today.replace(day=1)
    found = []
    for _ in range(MONTHS):
        following = (first + timedelta(days=32)).replace(day=1)
        found.append((_instant(first), _instant(following)))
        first = (first - timedelta(days=1)).replace(day=1)
    return found[::-1]


def cycle_ending(today: date) -> int:
    """The cycle day (1–28) whose current cycle has run longest by ``today``: the day after it (the 1st when
    that is past the 28th, a calendar month then, of which at least 28 days have passed)."""
    following = (today + timedelta(days=1)).day
    return following if following <= 28 else 1


def _instant(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=MADRID).astimezone(UTC)


def write_usage(database_url: str, records: int, batch: int = 0, pause=lambda: None) -> tuple[int, int, int]:
    """The big company's ``records`` and as many again spread over the other companies (by their lines),
    written as the superuser (``batch``: a second call adds as many more, with record ids of their own), then
    every daily sum made again; the big company's id, its first line's id and the number of daily sums.
    ``pause()`` is called before each statement (``QuietLock.wait``: another session is timing something)."""
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    span = months(now.astimezone(MADRID).date())
    started = time.perf_counter()
    with engine.begin() as connection:
        for start, _end in span:  # Madrid's month starts in the last hours of the UTC month before
            for month in (start.date(), (start + timedelta(days=1)).date()):
                connection.execute(text("SELECT mgd_usage_partition(:month)"), {"month": month})
        companies = connection.execute(
            text("SELECT tenant_id, count(*) FROM lines GROUP BY tenant_id ORDER BY count(*) DESC")
        ).all()
    big = companies[0][0]
    if batch == 0:  # the big company's cycle ends today: its bars and rankings sum a whole month of use
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE billing_accounts SET cycle_day = :day WHERE tenant_id = :tenant"),
                {"day": cycle_ending(now.astimezone(MADRID).date()), "tenant": big},
            )
    others = sum(count for _tenant, count in companies[1:])
    for tenant, lines in companies:
        share = records if tenant == big else records * lines // max(others, 1)
        for number, (start, end) in enumerate(span):
            last = number == len(span) - 1
            until = min(end, now) if last else end
            pause()
            with engine.begin() as connection:
                connection.execute(
                    text(RECORDS),
                    {
                        "tenant": tenant,
                        "prefix": f"{tenant}-{number}-{batch}-",
                        "start": start,
                        "span": int((until - start).total_seconds()),
                        "count": max(share // MONTHS, 1),
                        "billed": not last,
                        "invoice": f"F-{start:%Y%m}-{tenant}",
                    },
                )
        print(f"  company {tenant}: {lines:,} lines, ~{share:,} records", flush=True)
    pause()
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL work_mem = '256MB'"))
        connection.execute(text("TRUNCATE usage_daily"))
        connection.execute(text(DAILY))
        daily = connection.scalar(text("SELECT count(*) FROM usage_daily"))
        total = connection.scalar(text("SELECT count(*) FROM usage_records"))
        first_line = connection.scalar(text("SELECT min(id) FROM lines WHERE tenant_id = :t"), {"t": big})
    print(
        f"usage: {total:,} records over {MONTHS} months (+{records:,} of the big company), {daily:,} daily "
        f"sums, written in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    pause()
    with create_engine(database_url, isolation_level="AUTOCOMMIT").connect() as connection:
        started = time.perf_counter()
        connection.execute(text("VACUUM ANALYZE"))
        size = connection.scalar(
            text(
                "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
                "WHERE c.relname LIKE 'usage_records_%' AND c.relkind = 'r'"
            )
        )
    print(
        f"VACUUM ANALYZE: {time.perf_counter() - started:.0f} s; usage_records with indexes: {size}",
        flush=True,
    )
    engine.dispose()
    return big, first_line, daily


def cursors(database_url: str, tenant: int, since: datetime, until: datetime) -> list[tuple[int, str]]:
    """The depth and cursor of the company's second page of billed records and of the page ``DEEP`` pages
    in, or its last when there are fewer (found once here by OFFSET, as clicking "older" reaches them)."""
    engine = create_engine(database_url)
    where = "tenant_id = :t AND billed AND started_at >= :s AND started_at < :u"
    values = {"t": tenant, "s": since, "u": until}
    found = []
    with engine.connect() as connection:
        count = connection.scalar(text(f"SELECT count(*) FROM usage_records WHERE {where}"), values)  # noqa: S608
        for depth in (1, min(DEEP, (count - 1) // 50)):
            row = connection.execute(
                text(
                    f"SELECT started_at, id FROM usage_records WHERE {where} "  # noqa: S608
                    "ORDER BY started_at DESC, id DESC OFFSET :o LIMIT 1"
                ),
                values | {"o": depth * 50 - 1},
            ).one()
            found.append((depth + 1, cursor_token((row[0], row[1]))))
    engine.dispose()
    return found


def last_lines_page(database_url: str, tenant: int) -> str:
    """The keyset token of the big company's last page of lines in service by number (the allowance page's
    order): the number of the line before its last 50."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        number = connection.scalar(
            text(
                "SELECT number FROM lines WHERE tenant_id = :t AND status <> 'cancelled' "
                "ORDER BY number DESC OFFSET 50 LIMIT 1"
            ),
            {"t": tenant},
        )
    engine.dispose()
    return paging_token([number])


def measure(
    reference: str,
    cookie: str,
    processes: Processes,
    args,
    *,
    pages: list[tuple[int, str]],
    line_id: int,
    last_page: str,
) -> None:
    base = f"/empresa/{reference}/consumo"
    today = datetime.now(MADRID).date()
    oldest = months(today)[0][0].astimezone(MADRID).date()
    whole = f"from={oldest.isoformat()}&to={today.isoformat()}&state=billed"
    last_month_end = today.replace(day=1) - timedelta(days=1)
    month = f"from={last_month_end.replace(day=1).isoformat()}&to={last_month_end.isoformat()}&state=billed"
    cases = [
        Case(
            f"company records, page {number:,} of the billed ones (keyset; no totals)",
            f"{base}?{whole}&after={cursor}",
            TARGETS["page"],
            b"data-record",
        )
        for number, cursor in pages
    ]
    cases += [
        Case(
            "the company's month: its totals per type and first page",
            f"{base}?{month}",
            TARGETS["company month"],
            b'id="usage-totals"',
        ),
        Case(
            "a line's month: its first page, totals and allowance",
            f"{base}/lineas/{line_id}?{month}",
            TARGETS["line month"],
            b"data-record",
        ),
        Case(
            "allowance bars, first page (50 lines by number)",
            f"{base}/disponible",
            TARGETS["allowances"],
            b"<meter",
        ),
        Case(
            "allowance bars, last page (keyset)",
            f"{base}/disponible?{urlencode({'after': last_page})}",
            TARGETS["allowances"],
            b"<meter",
        ),
        Case(
            "lines page, first page (50 lines with their allowance marks)",
            f"/empresa/{reference}/lineas",
            TARGETS["lines"],
            b"<table",
        ),
        Case("the cycle's rankings (4 SVG charts)", f"{base}/ranking", None, b"<svg"),
    ]
    for case in cases:
        timed(case, cookie, args.repeat, processes)


class QuietLock:
    """``--quiet``: the machine's quiet lock (``/tmp/mgd-quiet``, the other sessions pause their heavy work
    while it exists) held around the timed requests only: waits until nobody holds it, takes it, drops it."""

    PATH = Path("/tmp/mgd-quiet")  # noqa: S108

    def __init__(self, wanted: bool) -> None:
        self.wanted = wanted

    def wait(self) -> None:
        """Until nobody holds the lock (writing the data does not take it, but leaves others quiet)."""
        while self.wanted and self.PATH.exists():
            time.sleep(15)

    def __enter__(self) -> None:
        if self.wanted:
            self.wait()
            self.PATH.touch()
            print(f"quiet lock taken (load average {os.getloadavg()[0]:.1f})", flush=True)

    def __exit__(self, *_exc) -> None:
        if self.wanted:
            self.PATH.unlink(missing_ok=True)
            print("quiet lock dropped", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default=ADMIN_URL, help="a superuser, to create and drop the run's roles"
    )
    parser.add_argument("--big-lines", type=int, default=5_000)
    parser.add_argument("--others", type=int, default=20, help="other companies (2 to 200 lines)")
    parser.add_argument(
        "--records",
        default="1000000",
        help="the big company's records; several sizes, growing, comma-separated (1000000,10000000): "
        "each is measured, then records are added up to the next",
    )
    parser.add_argument("--repeat", type=int, default=20, help="requests per page")
    parser.add_argument(
        "--quiet", action="store_true", help="hold /tmp/mgd-quiet during the timed requests only"
    )
    parser.add_argument(
        "--pause",
        metavar="FILE",
        help="before the timed requests of each size, print the database and wait until FILE exists (to "
        "profile it; FILE is removed)",
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.records.split(",")]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # the database and roles are dropped still

    with production_database(args.admin_url, "usage") as run, tempfile.TemporaryDirectory() as folder:
        workdir, secret = Path(folder), secrets.token_urlsafe(32)
        env = production_env(secret, run.app_url, workdir) | {
            "MGD_DATABASE_OWNER_URL": run.owner_url,
            "MGD_ENCRYPTION_KEYS": derived_key(secret),  # the key of the in-process app that signs in
        }
        document = dataset(args.big_lines, args.others, None)
        import_companies(env, workdir, document)
        superuser = make_url(args.admin_url).set(database=run.name).render_as_string(False)
        reference, cookie = admin_session(env, document["companies"][0]["fiscal_id"])
        written = 0
        for batch, size in enumerate(sizes):
            big, line_id, _daily = write_usage(superuser, size - written, batch, QuietLock(args.quiet).wait)
            written = size
            today = datetime.now(MADRID).date()
            pages = cursors(superuser, big, months(today)[0][0], _instant(today.replace(day=1)))
            last_page = last_lines_page(superuser, big)
            if args.pause:
                print(f"database {run.name}, portal role {run.app}: waiting for {args.pause}", flush=True)
                while not Path(args.pause).exists():
                    time.sleep(5)
                Path(args.pause).unlink()
            print(f"-- {size:,} records of the big company", flush=True)
            server = start_gunicorn("mgd.wsgi:app", PORT, env, workdir / "gunicorn.log")
            try:
                from mgd.gunicorn_conf import threads, workers  # noqa: PLC0415

                print(
                    f"gunicorn (mgd.gunicorn_conf, production settings): {workers} workers x {threads} "
                    f"threads; PostgreSQL as {run.app} (Row-Level Security on); {os.cpu_count()} CPUs",
                    flush=True,
                )
                processes = Processes(server.pid, args.admin_url, run.app)
                try:
                    with QuietLock(args.quiet):
                        measure(
                            reference,
                            cookie,
                            processes,
                            args,
                            pages=pages,
                            line_id=line_id,
                            last_page=last_page,
                        )
                finally:
                    processes.admin.close()
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=150)


if __name__ == "__main__":
    main()

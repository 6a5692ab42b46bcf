"""Benchmark: the lines page of a company with 50,000 lines, on PostgreSQL, through the app.

Builds a fresh schema: one company with 50,000 lines (every line with an alias and a cost centre, a fifth
assigned to one of 200 members) among 20 other companies of about 500 lines each; the portal connects as a
role that owns no table, so Row-Level Security is on, as in production. Then times, through the app
(Werkzeug's test client, one process, the admin signed in), GET of the lines page: the first and the 500th
page of 50, the 500th sorted by alias descending, searches and a filter. Reports the median and 95th
percentile of each.
Usage: python bench/lines_page.py [--database-url URL] [--lines N] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
import uuid
from urllib.parse import quote

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from mgd import create_app
from mgd.db import database, get_session, make_engine, set_tenant, utcnow
from mgd.extensions import limiter
from mgd.migrate import grant_app_role, register_operator_key, upgrade
from mgd.notify.models import OutboxMessage
from mgd.security.models import User
from mgd.security.passwords import hash_password
from mgd.tenants.demo import demo_document
from mgd.tenants.models import Company, Line, Membership
from mgd.tenants.records.importer import import_records
from mgd.tenants.records.validate import parse_document

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
APP_ROLE = "mgd_app"
PASSWORD = "Zx9kPq2mWv"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def build(owner_url: str, lines: int, terms_version: str) -> tuple[int, str]:
    """Import the dataset and label it; returns the big company's id and reference."""
    big = demo_document(companies=1, seed=7, lines_per_company=lines)
    small = demo_document(companies=21, seed=1489, lines_per_company=500)
    taken = {line["number"] for line in big["companies"][0]["lines"]}
    for company in small["companies"]:  # two generators may draw the same number: keep it in the big one
        company["lines"] = [line for line in company["lines"] if line["number"] not in taken]
    document = {"tariffs": big["tariffs"], "companies": big["companies"] + small["companies"][1:]}
    engine = make_engine(owner_url)
    with Session(engine) as session:
        import_records(session, parse_document(json.dumps(document)))
        session.commit()
        company = session.scalar(select(Company).where(Company.fiscal_id == big["companies"][0]["fiscal_id"]))
        users = add_members(session, company.id, 200, terms_version)
        session.execute(
            text(
                "UPDATE lines SET alias = 'Línea ' || id, "
                "cost_centre = 'CC-' || lpad((id % 40)::text, 2, '0'), "
                "user_id = CASE WHEN id % 5 = 0 THEN (:first + id % 200) END WHERE tenant_id = :company"
            ),
            {"first": users[0].id, "company": company.id},
        )
        session.commit()
        reference = company.public_ref
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))  # what autovacuum does after a bulk load
    engine.dispose()
    return company.id, reference


#: Lines a company of ``build_sizes(..., fill=True)`` gets from the records import; the rest are SQL copies.
IMPORTED = 500

FILL = text(
    """
    WITH model AS (
        SELECT kind, product, status, tariff_id, billing_account_id,
               row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS n
        FROM lines WHERE tenant_id = :company
    )
    INSERT INTO lines (tenant_id, number, kind, product, status, tariff_id, billing_account_id,
                       created_at, updated_at)
    SELECT :company,
           CASE WHEN kind = 'fixed' THEN '+348' ELSE '+347' END || (10000000 + :base + g)::text,
           kind, product, status, tariff_id, billing_account_id, now(), now()
    FROM generate_series(1, :count) AS g JOIN model ON model.k = g % model.n
    ON CONFLICT DO NOTHING
    """
)


def build_sizes(
    owner_url: str, sizes: list[int], terms_version: str, members: int = 200, *, fill: bool = False
) -> list[tuple[int, str]]:
    """Companies of the given sizes in lines (each imported as its own document, so that a large dataset
    never sits in memory whole), labelled as ``build`` labels its company; ``member0@bench.es`` administers
    every company and ``members`` - 1 others are viewers of the first. Returns each company's id and
    reference, in the order of ``sizes``. ``fill``: import ``IMPORTED`` lines of each and copy them in SQL up
    to its size, with new numbers (``+347…``, ``+348…``, a million apart between companies): a dataset of a
    million lines in minutes instead of the importer's INSERTs as a non-superuser owner."""
    engine, taken, fiscal_ids, found = make_engine(owner_url), set(), set(), []
    seed = 7
    for size in sizes:
        while True:  # a seed whose company has a fiscal ID of its own
            document = demo_document(
                companies=1, seed=seed, lines_per_company=min(size, IMPORTED) if fill else size
            )
            company, seed = document["companies"][0], seed + 1000
            if company["fiscal_id"] not in fiscal_ids:
                break
        fiscal_ids.add(company["fiscal_id"])
        company["lines"] = [line for line in company["lines"] if line["number"] not in taken]
        taken.update(line["number"] for line in company["lines"])
        with Session(engine) as session:
            import_records(session, parse_document(json.dumps(document)))
            session.commit()
            found.append(session.scalar(select(Company).where(Company.fiscal_id == company["fiscal_id"])))
            if fill and size > IMPORTED:
                set_tenant(session, found[-1].id)
                session.execute(
                    FILL, {"company": found[-1].id, "base": 1_000_000 * len(found), "count": size - IMPORTED}
                )
                session.commit()
        del document, company
    with Session(engine) as session:
        users = add_members(session, found[0].id, members, terms_version)
        for company in found[1:]:  # (Row-Level Security binds a non-superuser owner: one company at a time)
            set_tenant(session, company.id)
            session.add(Membership(tenant_id=company.id, user_id=users[0].id, role="admin"))
            session.flush()
        set_tenant(session, found[0].id)
        session.execute(
            text(
                "UPDATE lines SET alias = 'Línea ' || id, "
                "cost_centre = 'CC-' || lpad((id % 40)::text, 2, '0'), "
                "user_id = CASE WHEN id % 5 = 0 AND tenant_id = :company THEN (:first + id % :members) END"
            ),
            {"first": users[0].id, "company": found[0].id, "members": members},
        )
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return [(company.id, company.public_ref) for company in found]


def add_members(session: Session, company_id: int, count: int, terms_version: str) -> list[User]:
    """``count`` members of the company, ``member0@bench.es`` (its administrator, who ``sign_in``) to
    ``member{count - 1}@bench.es`` (viewers), with the password ``PASSWORD``; flushed."""
    set_tenant(session, company_id)
    password_hash = hash_password(PASSWORD)
    users = []
    for n in range(count):
        user = User(
            email=f"member{n}@bench.es",
            name=f"Member {n:03d}",
            password_hash=password_hash,
            password_is_temporary=False,
            mobile="+34600000000",
            terms_version=terms_version,
            access_data_confirmed_at=utcnow(),
        )
        session.add(user)
        users.append(user)
    session.flush()
    for n, user in enumerate(users):
        session.add(Membership(tenant_id=company_id, user_id=user.id, role="admin" if n == 0 else "viewer"))
    session.flush()
    return users


def sign_in(app, client) -> None:
    def post(url, data):
        token = CSRF.search(client.get(url).get_data(as_text=True)).group(1)
        return client.post(url, data={**data, "csrf_token": token})

    post("/login", {"email": "member0@bench.es", "password": PASSWORD})
    post("/login/channel", {"channel": "email"})
    with app.app_context():
        body = (
            get_session().scalars(select(OutboxMessage.body_text).order_by(OutboxMessage.id.desc())).first()
        )
    post("/login/code", {"code": re.search(r"\b(\d{6})\b", body).group(1)})


def timed(client, url: str, repeat: int) -> tuple[float, float, str]:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        body = response.get_data(as_text=True)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    shown = re.search(r"<span>((?:More than |Más de )?[\d.,\xa0 ]+ (?:lines?|líneas?))</span>", body)
    return (
        statistics.median(timings),
        statistics.quantiles(timings, n=20)[-1],
        shown.group(1) if shown else "?",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    schema = f"mgd_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.database_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        connection.execute(
            text(
                f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        )
    owner_url = make_url(args.database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    app_url = owner_url.set(username=APP_ROLE, password=None)
    owner, app_db = owner_url.render_as_string(False), app_url.render_as_string(False)
    try:
        upgrade(owner)
        grant_app_role(owner, app_db)
        with tempfile.TemporaryDirectory() as workdir:
            app = create_app(
                {
                    "ENV": "development",
                    "SECRET_KEY": "bench",
                    "DATABASE_URL": app_db,
                    "INSTANCE_PATH": workdir,
                    "SMS_BACKEND": "file",
                    "MAIL_BACKEND": "file",
                    "SESSION_IDLE_MINUTES": 600,
                }
            )
            limiter.enabled = False
            register_operator_key(owner, database(app).operator_key)  # as `mgd db upgrade` does
            started = time.perf_counter()
            with app.app_context():  # the records import opens an operator scope, which takes the app's key
                company_id, ref = build(owner, args.lines, app.config["TERMS_VERSION"])
            print(
                f"dataset: {args.lines} lines in the company + ~10,000 in 20 others, built in "
                f"{time.perf_counter() - started:.1f} s"
            )
            client = app.test_client()
            sign_in(app, client)
            with app.app_context():
                session = get_session()
                set_tenant(session, company_id)
                kind, tariff = session.execute(select(Line.kind, Line.tariff_id).limit(1)).one()
                from mgd.web.paging import cursor_token  # noqa: PLC0415 (serve.py imports this file for earlier code too)

                # Pages are keyset pages: the 500th is the one after the 24,999th line of the order.
                deep = session.scalar(select(Line.number).order_by(Line.number).offset(24_999).limit(1))
                by_alias = session.execute(
                    select(func.coalesce(Line.alias, ""), Line.id)
                    .order_by(func.coalesce(Line.alias, "").desc(), Line.id.desc())
                    .offset(24_999)
                    .limit(1)
                ).one()
                tenth = session.scalar(
                    select(Line.number)
                    .where(Line.kind == kind, Line.tariff_id == tariff)
                    .order_by(Line.number)
                    .offset(449)
                    .limit(1)
                )
            base = f"/empresa/{ref}/lineas"
            cases = [
                ("page 1", base),
                ("page 500", f"{base}?after={quote(cursor_token([deep]))}"),
                (
                    "page 500, sorted by alias descending",
                    f"{base}?sort=-alias&after={quote(cursor_token(by_alias))}",
                ),
                ("search 'cc-07' (cost centre), page 1", f"{base}?q=cc-07"),
                ("search a number fragment '6123', page 1", f"{base}?q=6123"),
                (
                    f"{kind} lines of one tariff, page 10",
                    f"{base}?kind={kind}&tariff={tariff}&after={quote(cursor_token([tenth]))}",
                ),
            ]
            for name, url in cases:
                client.get(url)  # warm-up
                median, p95, shown = timed(client, url, args.repeat)
                print(f"{name:45s} median {median:6.1f} ms  p95 {p95:6.1f} ms  ({shown})")
            database(app).engine.dispose()
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    print(f"repeat: {args.repeat} per case; database: PostgreSQL as role {APP_ROLE} (Row-Level Security on)")


if __name__ == "__main__":
    main()

"""Fixtures: one migrated database per run (SQLite, or PostgreSQL from MGD_TEST_DATABASE_URL), one app,
and a session per test inside a transaction that is rolled back afterwards. For races, a second app whose
commits really happen, served by a threaded server (``live_server``; its browser is in tests/live.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from mgd import create_app
from mgd.db import Base, database, get_session, make_engine
from mgd.extensions import limiter
from mgd.jobs import bind_actors, broker_of
from mgd.migrate import grant_app_role, register_operator_key, upgrade
from mgd.models import import_all
from tests.live import CSRF, smtp_inbox, threaded_server, twilio_endpoint

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_sessionfinish(session, exitstatus):
    """In CI every service and Chromium are there: a skipped test there is a failure, not a pass."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if IN_CI and skipped and exitstatus == 0:
        names = ", ".join(report.nodeid for report in skipped[:5])
        reporter.write_line(f"CI: {len(skipped)} skipped test(s) count as failures here: {names}", red=True)
        session.exitstatus = 1


def pytest_configure(config):
    if IN_CI and not os.environ.get("MGD_TEST_DATABASE_URL"):
        raise pytest.UsageError("CI=true but MGD_TEST_DATABASE_URL is not set: CI must test on PostgreSQL")
    if IN_CI and not os.environ.get("MGD_TEST_BROKER_URL"):
        raise pytest.UsageError("CI=true but MGD_TEST_BROKER_URL is not set: CI must test the real brokers")


#: On PostgreSQL the portal connects as this role, which owns no table: Row-Level Security binds it.
APP_ROLE = "mgd_app"


@contextmanager
def private_schema(base_url: str, prefix: str) -> Iterator[str]:
    """A new schema in the PostgreSQL database of ``base_url`` (and the app role, if missing), dropped
    afterwards; yields the URL of its owner."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        connection.execute(
            text(
                f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        )
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def fresh_database(tmp_path_factory, name: str) -> Iterator[str]:
    """A new, empty database, as its owner: a SQLite file, or a private schema in MGD_TEST_DATABASE_URL."""
    base = os.environ.get("MGD_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp(name) / 'test.sqlite3'}"
        return
    with private_schema(base, f"mgd_{name}") as url:
        yield url


def as_app_role(database_url: str) -> str:
    """What the portal connects with: on PostgreSQL the same schema as a role that owns none of its tables."""
    if not database_url.startswith("postgresql"):
        return database_url
    return make_url(database_url).set(username=APP_ROLE, password=None).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A fresh database for this run, as its owner: a SQLite file, or a private schema in MGD_TEST_DATABASE_URL."""
    with fresh_database(tmp_path_factory, "test") as url:
        yield url


def settings(tmp: Path, database_url: str, **more) -> dict:
    return {
        "ENV": "testing",
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp),
        "SMS_BACKEND": "file",
        "MAIL_BACKEND": "file",
        **more,
    }


@pytest.fixture(scope="session")
def app_database_url(database_url):
    return as_app_role(database_url)


@pytest.fixture(scope="session")
def app(database_url, app_database_url, tmp_path_factory):
    upgrade(database_url)
    grant_app_role(database_url, app_database_url)
    app = create_app(
        settings(
            tmp_path_factory.mktemp("instance"),
            app_database_url,
            DATABASE_OWNER_URL=database_url if database_url != app_database_url else "",
        )
    )
    register_operator_key(database_url, database(app).operator_key)
    yield app
    database(app).engine.dispose()


@pytest.fixture
def bound(app):
    """Every session of the app joins one connection whose transaction is rolled back after the test.

    Commits made by the code under test (views, actors, commands) only release a savepoint.
    """
    db = database(app)
    connection = db.engine.connect()
    outer = connection.begin()
    original = db.sessions
    db.sessions = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield connection
    finally:
        db.sessions = original
        outer.rollback()
        connection.close()


@pytest.fixture
def db_session(app, bound):
    """The session of an app context kept open for the test (services and actors called directly).

    Web tests use ``client`` instead: Flask would run every request inside this same app context.
    """
    with app.app_context():
        yield get_session()


@pytest.fixture
def client(app, bound):
    return app.test_client()


@pytest.fixture
def make_app(app, bound, app_database_url, tmp_path):
    """Build another app with some settings changed (``make_app(PROXY_HOPS=1)``). Its sessions join the test's
    rolled-back transaction unless it has a database of its own; the suite's app gets its broker back after."""
    made = []

    def make(**more):
        other = create_app(settings(tmp_path, more.pop("DATABASE_URL", app_database_url), **more))
        if other.config["DATABASE_URL"] == app_database_url:
            database(other).sessions = database(app).sessions
        made.append(other)
        return other

    yield make
    for other in made:
        database(other).engine.dispose()
    bind_actors(broker_of(app))


@pytest.fixture
def outbox_files(app):
    """The SMS and mail files of the file senders, emptied before the test."""
    paths = Path(app.config["SMS_FILE"]), Path(app.config["MAIL_FILE"])
    for path in paths:
        path.unlink(missing_ok=True)
    return paths


@pytest.fixture
def twilio_server():
    """A local Twilio-compatible endpoint (``received``, ``reply_status``)."""
    with twilio_endpoint() as server:
        yield server


@pytest.fixture
def smtp_server():
    """A local SMTP server: (controller, inbox)."""
    with smtp_inbox() as peers:
        yield peers


def csrf_token(client, path: str = "/") -> str:
    """The CSRF token from a page, as a browser would read it from the form."""
    match = CSRF.search(client.get(path, follow_redirects=True).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture(scope="session")
def live_app(app, tmp_path_factory):
    """A second portal over a database of its own (migrated as owner, used as the app role) where commits really
    happen, as they do in production: what ``live_server`` serves. Its tables are emptied after each test."""
    with fresh_database(tmp_path_factory, "live") as owner_url:
        upgrade(owner_url)
        grant_app_role(owner_url, as_app_role(owner_url))
        portal = create_app(
            settings(
                tmp_path_factory.mktemp("live"),
                as_app_role(owner_url),
                DATABASE_OWNER_URL=owner_url if owner_url != as_app_role(owner_url) else "",
            )
        )
        register_operator_key(owner_url, database(portal).operator_key)
        bind_actors(broker_of(app))
        try:
            yield portal
        finally:
            database(portal).engine.dispose()


def _empty_tables(owner_url: str) -> None:
    import_all()
    tables = list(reversed(Base.metadata.sorted_tables))
    engine = make_engine(owner_url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                names = ", ".join(table.name for table in tables)
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    connection.execute(table.delete())
    finally:
        engine.dispose()


@pytest.fixture
def live_server(app, live_app, monkeypatch) -> Iterator[str]:
    """``live_app`` answering on a local port, one thread per request; yields its base URL.

    Rate limits are off: they are per address and an attacker has many, so every guard tested here must hold
    without them. Messages stay in the outbox table (no worker), where tests read the codes.
    """
    monkeypatch.setattr(limiter, "enabled", False)
    bind_actors(broker_of(live_app))
    try:
        with threaded_server(live_app) as base_url:
            yield base_url
    finally:
        broker_of(live_app).flush_all()
        bind_actors(broker_of(app))
        _empty_tables(live_app.config["DATABASE_OWNER_URL"] or live_app.config["DATABASE_URL"])


def stored_text(app, table: str, row_id: int) -> str:
    """Every column of one row as the database holds it (plain SQL, no column type decodes it), joined."""
    with app.app_context():
        row = get_session().execute(text(f"SELECT * FROM {table} WHERE id = :id"), {"id": row_id}).one()  # noqa: S608
    return " ".join(str(value) for value in row)

"""The suite's fixtures: one migrated database per run (SQLite, or PostgreSQL from MGD_TEST_DATABASE_URL), one
app, and a session per test inside a transaction that is rolled back afterwards. For races, a second app whose
commits really happen, served by a threaded server (``live_server``; its browser is in tests/live.py). Then the
data several directories share: the records of every product mix, Acme and its members, the `mgd` command.

Plain helpers live in importable modules (tests/kit.py, accounts.py, factories.py, environment.py, live.py):
import those, never a conftest."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import sessionmaker

from mgd import create_app
from mgd.cli import main
from mgd.db import database, get_session
from mgd.extensions import limiter
from mgd.jobs import bind_actors, broker_of
from mgd.migrate import grant_app_role, register_operator_key, upgrade
from mgd.tenants.records.importer import import_records
from mgd.tenants.records.validate import parse_document
from tests.accounts import Company, add_member, create_company
from tests.environment import IN_CI, as_app_role, drop_app_role, empty_tables, fresh_database, settings
from tests.factories import COMPANIES, TARIFFS
from tests.live import smtp_inbox, threaded_server, twilio_endpoint


def pytest_sessionfinish(session, exitstatus):
    """In CI every service and Chromium are there: a skipped test there is a failure, not a pass. The run's
    PostgreSQL role goes: a test run leaves no role behind in the cluster."""
    drop_app_role()
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


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A fresh database for this run, as its owner: a SQLite file, or a private schema in MGD_TEST_DATABASE_URL."""
    with fresh_database(tmp_path_factory, "test") as url:
        yield url


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
        empty_tables(live_app.config["DATABASE_OWNER_URL"] or live_app.config["DATABASE_URL"])


# ---- data several directories share ----------------------------------------------------------------------


@pytest.fixture
def companies(app, bound):
    """The records of ``COMPANIES`` (a company of every product mix) imported: companies to register."""
    limiter.reset()
    with app.app_context():
        session = get_session()
        import_records(
            session, parse_document(json.dumps({"tariffs": TARIFFS, "companies": list(COMPANIES.values())}))
        )
        session.commit()
    return COMPANIES


@pytest.fixture
def acme(app, bound) -> Company:
    """Acme: three lines; Ana (admin), Bob (manager), Carla (viewer)."""
    limiter.reset()
    company = create_company(app, "Acme S.L.", 3)
    add_member(app, company, "ana@acme.es", "admin")
    add_member(app, company, "bob@acme.es", "manager")
    add_member(app, company, "carla@acme.es", "viewer")
    return company


@pytest.fixture
def mgd(tmp_path, monkeypatch):
    """Run `mgd …` against a database of its own; returns (exit code, stdout, stderr)."""
    for name in ("MGD_DATABASE_URL", "MGD_BROKER_URL", "MGD_SMS_BACKEND", "MGD_MAIL_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MGD_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("MGD_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")

    def run(*args: str):
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    assert run("db", "upgrade")[0] == 0
    return run

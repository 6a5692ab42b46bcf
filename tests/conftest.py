"""Fixtures: one migrated database per run (SQLite, or PostgreSQL from MGD_TEST_DATABASE_URL), one app,
and a session per test inside a transaction that is rolled back afterwards."""

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
from mgd.db import database, get_session, make_engine
from mgd.migrate import grant_app_role, upgrade
from tests.live import CSRF, smtp_inbox, twilio_endpoint

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


def as_app_role(owner_url: str) -> str:
    """The same PostgreSQL database and schema, as the portal's role (which owns none of its tables)."""
    return make_url(owner_url).set(username=APP_ROLE, password=None).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A fresh database for this run, as its owner: a SQLite file, or a private schema in MGD_TEST_DATABASE_URL."""
    base = os.environ.get("MGD_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    with private_schema(base, "mgd_test") as url:
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
    """What the portal connects with: on PostgreSQL the same schema as a role that owns none of its tables."""
    return as_app_role(database_url) if database_url.startswith("postgresql") else database_url


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

"""Where the suite runs: a fresh database per need (a SQLite file, or a private schema of MGD_TEST_DATABASE_URL
used as a role that owns none of its tables), the settings of a test app, and whether this is CI."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from mgd.db import Base, make_engine
from mgd.models import import_all

IN_CI = os.environ.get("CI", "").lower() == "true"

#: On PostgreSQL the portal connects as this role, which owns no table: Row-Level Security binds it. One per run
#: (runs may share a server), created with the first schema and dropped when the run ends (``drop_app_role``).
APP_ROLE = f"mgd_app_{uuid.uuid4().hex[:10]}"


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


def drop_app_role() -> None:
    """Drop this run's app role, if it was made (its grants went with the schemas; its sessions, if any are left,
    end by themselves)."""
    base = os.environ.get("MGD_TEST_DATABASE_URL")
    if not base:
        return
    admin = make_engine(base)
    try:
        with admin.begin() as connection:
            if not connection.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}
            ).first():
                return
            connection.execute(text(f"DROP OWNED BY {APP_ROLE}"))
            connection.execute(text(f"DROP ROLE {APP_ROLE}"))
    finally:
        admin.dispose()


def as_app_role(database_url: str) -> str:
    """What the portal connects with: on PostgreSQL the same schema as a role that owns none of its tables."""
    if not database_url.startswith("postgresql"):
        return database_url
    return make_url(database_url).set(username=APP_ROLE, password=None).render_as_string(hide_password=False)


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


def empty_tables(owner_url: str) -> None:
    """Delete every row of every table of the database at ``owner_url`` (the live portal's, between tests)."""
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

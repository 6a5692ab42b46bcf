"""Alembic environment: the URL comes from the caller (``mgd db upgrade``), the schema from the models."""

from alembic import context

from mgd.db import Base, make_engine
from mgd.models import import_all

import_all()
config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine(config.attributes["database_url"])
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    if sqlite:
        _sqlite_keys(connection, on=False)
    try:
        with context.begin_transaction():
            context.run_migrations()
    except BaseException:
        if connection.in_transaction():  # nothing of a failed migration is kept
            connection.rollback()
        raise
    finally:
        if sqlite:
            if connection.in_transaction():  # after success only: the reads autogenerate leaves open
                connection.commit()
            _sqlite_keys(connection, on=True)
    if sqlite:  # what the keys would have refused during the migration, refused now
        broken = connection.connection.driver_connection.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration left rows without the row their key names: {broken[:5]}")


def _sqlite_keys(connection, *, on: bool) -> None:
    """Turn SQLite's foreign keys off for a migration, as SQLite asks for schema changes: a batch alteration
    copies a table and drops the old one, and with keys on that drop deletes (``ON DELETE CASCADE``) every
    row that refers to it — 0e723e89012d's new column on ``billing_accounts`` emptied ``invoices`` and their
    charges. The pragma is ignored inside a transaction, so it is sent to the driver before one begins."""
    driver = connection.connection.driver_connection
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    if driver.execute("PRAGMA foreign_keys").fetchone()[0] != int(on):
        raise RuntimeError("SQLite's foreign keys could not be switched: is a transaction open?")


run_migrations_online()

"""Migrations build exactly the schema the models describe, and their downgrade removes it again."""

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from mgd.db import Base, make_engine
from mgd.migrate import downgrade, upgrade
from mgd.models import import_all

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("MGD_TEST_DATABASE_URL") else [])


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    base = os.environ["MGD_TEST_DATABASE_URL"]
    schema = f"mgd_migrations_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_matches_the_models_and_downgrade_undoes_it(empty_database):
    import_all()
    upgrade(empty_database)
    engine = make_engine(empty_database)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
    assert tables(empty_database) == set(Base.metadata.tables) | {"alembic_version"}
    downgrade(empty_database, "base")
    assert tables(empty_database) == {"alembic_version"}
    upgrade(empty_database)
    assert tables(empty_database) == set(Base.metadata.tables) | {"alembic_version"}

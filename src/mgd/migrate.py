"""Alembic, driven from code: the revisions live in the repository's ``migrations/`` folder."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url

from mgd.db import make_engine

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    if not (MIGRATIONS / "env.py").exists():
        raise RuntimeError(
            f"migrations not found at {MIGRATIONS}: install MGD from its repository (pip install -e .)"
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def grant_app_role(owner_url: str, app_url: str) -> None:
    """On PostgreSQL, give the portal's role (``app_url``'s user) the use of every table of the owner's
    schema but Alembic's. The portal's role owns nothing, so forced Row-Level Security binds it."""
    owner, app = make_url(owner_url), make_url(app_url)
    if owner.get_backend_name() != "postgresql" or not app.username or app.username == owner.username:
        return
    engine = make_engine(owner_url)
    try:
        with engine.begin() as connection:
            quote = connection.dialect.identifier_preparer.quote
            schema = quote(connection.execute(text("SELECT current_schema()")).scalar_one())
            role = quote(app.username)
            for statement in (
                f"GRANT USAGE ON SCHEMA {schema} TO {role}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
                f"REVOKE ALL ON {schema}.alembic_version FROM {role}",
            ):
                connection.execute(text(statement))
    finally:
        engine.dispose()

"""Alembic, driven from code: the revisions ship inside the package, in ``mgd/migrations/versions/``."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url

from mgd.db import make_engine

#: Alembic's environment (env.py, script.py.mako) and the revisions (versions/): package data of ``mgd``.
MIGRATIONS = Path(__file__).resolve().with_name("migrations")


def alembic_config(database_url: str | None, encryption_keys: str | None = None) -> Config:
    if not (MIGRATIONS / "env.py").is_file():
        raise RuntimeError(f"migrations not found at {MIGRATIONS}: this installation of MGD is incomplete")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["database_url"] = database_url
    # Revisions that encrypt or decrypt stored secrets use these keys (else MGD_ENCRYPTION_KEYS, or the key
    # derived from MGD_SECRET_KEY, read from the environment).
    config.attributes["encryption_keys"] = encryption_keys
    return config


def upgrade(database_url: str, revision: str = "head", encryption_keys: str | None = None) -> None:
    command.upgrade(alembic_config(database_url, encryption_keys), revision)


def downgrade(database_url: str, revision: str, encryption_keys: str | None = None) -> None:
    command.downgrade(alembic_config(database_url, encryption_keys), revision)


class NotASourceTree(RuntimeError):
    """New revisions belong in the repository, not in an installed copy of the package."""


def revision(message: str, database_url: str | None = None) -> Path:
    """Write a new, empty revision into ``mgd/migrations/versions/`` and return its path. With
    ``database_url`` (a database migrated to the newest revision), Alembic fills it with the differences
    between that database and the models: a draft, to be read and corrected by hand (docs/development.md)."""
    if not (MIGRATIONS.parents[2] / "pyproject.toml").is_file():
        raise NotASourceTree(
            f"{MIGRATIONS} is not in a checkout of the repository: create revisions from an editable install"
        )
    config = alembic_config(database_url)
    ruff = _ruff()
    if ruff:  # a generated revision is formatted and sorted like the rest of the code
        config.set_section_option("post_write_hooks", "hooks", "ruff_fix, ruff_format")
        for hook, arguments in (("ruff_fix", "check --fix-only --quiet"), ("ruff_format", "format --quiet")):
            config.set_section_option("post_write_hooks", f"{hook}.type", "exec")
            config.set_section_option("post_write_hooks", f"{hook}.executable", ruff)
            config.set_section_option(
                "post_write_hooks", f"{hook}.options", f"{arguments} REVISION_SCRIPT_FILENAME"
            )
    script = command.revision(config, message=message, autogenerate=database_url is not None)
    if isinstance(script, list):
        [script] = script
    return Path(script.path)


def _ruff() -> str | None:
    """The ruff of this virtualenv (beside the interpreter, even when it is not on PATH), else PATH's."""
    beside = Path(sys.executable).with_name("ruff")
    return str(beside) if beside.is_file() else shutil.which("ruff")


#: The functions the portal's role calls: the operator key's check (every policy), and the one that makes a
#: month's partition of usage_records (``mgd.usage.partitions``).
APP_FUNCTIONS = ("mgd_operator_scope()", "mgd_usage_partition(date)")


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
            for function in APP_FUNCTIONS:  # those the revisions applied so far have made
                if connection.scalar(text("SELECT to_regprocedure(:f) IS NOT NULL"), {"f": function}):
                    connection.execute(text(f"GRANT EXECUTE ON FUNCTION {schema}.{function} TO {role}"))
    finally:
        engine.dispose()


OPERATOR_FUNCTION = """
CREATE OR REPLACE FUNCTION mgd_operator_scope() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN encode(sha256(convert_to(coalesce(current_setting('mgd.operator', true), ''), 'UTF8')), 'hex')
            = '{digest}'
        THEN 'on' ELSE '' END
$$
"""


def register_operator_key(owner_url: str, key: str) -> None:
    """On PostgreSQL, make ``key`` (``mgd.db.operator_key``) the one that opens an operator scope under
    Row-Level Security. The policies call ``mgd_operator_scope()``, which answers ``on`` when the SHA-256 of
    the transaction's ``mgd.operator`` is the one written here: the database never holds the key itself, and
    only the tables' owner can change the function. Run by ``mgd db upgrade``, so again after a new
    ``MGD_SECRET_KEY``."""
    if make_url(owner_url).get_backend_name() != "postgresql":
        return
    digest = hashlib.sha256(key.encode()).hexdigest()
    engine = make_engine(owner_url)
    try:
        with engine.begin() as connection:
            if not _has_operator_function(connection):
                return  # migrated to a revision older than 5e691ffea26d: the policies take no key
            connection.execute(text(OPERATOR_FUNCTION.format(digest=digest)))
    finally:
        engine.dispose()


def _has_operator_function(connection) -> bool:
    return connection.scalar(text("SELECT to_regprocedure('mgd_operator_scope()') IS NOT NULL"))

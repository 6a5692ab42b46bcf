"""`mgd db revision` writes a new revision after the newest one, date-prefixed, into a copy of the source tree
(the repository's own versions/ stays untouched); --autogenerate drafts it from the configured database."""

import re
import shutil
import subprocess
from datetime import datetime

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import text

import mgd.migrate
from mgd.cli import main
from mgd.db import make_engine
from mgd.migrate import alembic_config, upgrade

HEAD = ScriptDirectory.from_config(alembic_config(None)).get_current_head()


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A copy of the repository's migrations, where a checkout keeps them; returns its versions folder."""
    migrations = tmp_path / "src" / "mgd" / "migrations"
    shutil.copytree(mgd.migrate.MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "pyproject.toml").write_text("")
    shutil.copy2(mgd.migrate.MIGRATIONS.parents[2] / "ruff.toml", tmp_path / "ruff.toml")
    monkeypatch.setattr(mgd.migrate, "MIGRATIONS", migrations)
    for name in ("MGD_DATABASE_URL", "MGD_DATABASE_OWNER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MGD_INSTANCE_PATH", str(tmp_path / "instance"))
    return migrations / "versions"


def revise(*args: str):
    return CliRunner().invoke(main, ["db", "revision", *args], catch_exceptions=False)


def test_an_empty_revision_follows_the_newest_one_and_is_named_by_date_and_message(checkout):
    before = {path.name for path in checkout.glob("*.py")}
    result = revise("-m", "Add the line nicknames")
    assert result.exit_code == 0, result.output
    [created] = [path for path in checkout.glob("*.py") if path.name not in before]
    assert re.fullmatch(
        rf"{datetime.now().astimezone():%Y%m%d}_[0-9a-f]{{12}}_add_the_line_nicknames\.py", created.name
    )
    assert str(created) in result.output and "downgrade" in result.output
    source = created.read_text()
    assert f'down_revision: str | None = "{HEAD}"' in source
    assert "def downgrade() -> None:\n    pass" in source
    script = ScriptDirectory.from_config(alembic_config(None))
    assert script.get_current_head() == created.name.split("_")[1]


# SQLite cannot reflect the lines' indexes on ``coalesce(…)`` (see tests/test_migrations.py): it warns and
# leaves them out of the comparison.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_autogenerate_drafts_the_difference_between_the_database_and_the_models(
    checkout, tmp_path, monkeypatch
):
    url = f"sqlite:///{tmp_path / 'draft.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE tariffs ADD COLUMN leftover VARCHAR(20)"))
    engine.dispose()
    monkeypatch.setenv("MGD_DATABASE_URL", url)
    before = {path.name for path in checkout.glob("*.py")}
    result = revise("-m", "drop the leftover", "--autogenerate")
    assert result.exit_code == 0, result.output
    [created] = [path for path in checkout.glob("*.py") if path.name not in before]
    source = created.read_text()
    assert re.search(r"drop_column\(\s*\"leftover\"", source), source
    assert "add_column" in source.split("def downgrade")[1]
    # formatted like the rest of the code (ruff runs on the new file), so that `make lint` passes
    ruff = mgd.migrate._ruff()
    for check in (["check"], ["format", "--check"]):
        result = subprocess.run([ruff, *check, created], capture_output=True, text=True, check=False)  # noqa: S603
        assert result.returncode == 0, result.stdout + result.stderr


def test_autogenerate_needs_a_database_at_the_newest_revision(checkout, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    monkeypatch.setenv("MGD_DATABASE_URL", url)
    upgrade(url, ScriptDirectory.from_config(alembic_config(None)).get_revision(HEAD).down_revision)
    before = set(checkout.glob("*.py"))
    result = CliRunner().invoke(main, ["db", "revision", "-m", "too early", "--autogenerate"])
    assert result.exit_code == 1 and "not up to date" in result.output
    assert set(checkout.glob("*.py")) == before


def test_an_installed_copy_takes_no_new_revision(checkout):
    (checkout.parents[3] / "pyproject.toml").unlink()
    before = set(checkout.glob("*.py"))
    result = CliRunner().invoke(main, ["db", "revision", "-m", "lost"])
    assert result.exit_code == 1 and "not in a checkout of the repository" in result.output
    assert set(checkout.glob("*.py")) == before

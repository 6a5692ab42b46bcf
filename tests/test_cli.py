"""The `mgd` command as an operator uses it: on a fresh database, with files written by someone else."""

import json
import re
from pathlib import Path

from click.testing import CliRunner

from mgd.cli import main

USAGE_EXAMPLE = Path(__file__).parents[1] / "docs" / "usage-example.csv"
EXAMPLE = Path(__file__).parents[1] / "docs" / "records-example.json"


def test_help_documents_every_command():
    output = CliRunner().invoke(main, ["--help"]).output
    for command in ("db", "records", "demo", "serve", "worker", "usage"):
        assert re.search(rf"^  {command}\s+\S", output, re.MULTILINE), command
    assert "import" in CliRunner().invoke(main, ["records", "--help"]).output


def test_import_reports_what_it_did_and_is_idempotent(mgd):
    code, out, _ = mgd("records", "import", str(EXAMPLE))
    assert code == 0
    assert "lines: 6 were created, 0 were updated, 0 unchanged" in out
    code, out, _ = mgd("records", "import", str(EXAMPLE))
    assert "lines: 0 were created, 0 were updated, 6 unchanged" in out


def test_usage_files_go_through_the_same_import(mgd, tmp_path):
    """The usage example (docs/usage.md) with the records document, in one transaction; again: nothing new. A
    usage file among billing files in a folder is recognised by its name."""
    code, out, _ = mgd("records", "import", str(EXAMPLE), str(USAGE_EXAMPLE))
    assert code == 0 and "usage_records: 8 were created, 0 were updated, 0 unchanged" in out, out
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "usage-2026-11.csv").write_text(USAGE_EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    code, out, _ = mgd("records", "import", str(folder))
    assert code == 0 and "usage_records: 0 were created, 0 were updated, 8 unchanged" in out, out
    (folder / "usage-2026-11.csv").write_text("company,line\n", encoding="utf-8")
    code, _, err = mgd("records", "import", str(folder))
    assert code == 1 and "usage-2026-11.csv line 1: record_id: null — is a required field" in err, err


def test_usage_partitions_on_sqlite_say_there_are_none(mgd):
    code, out, _ = mgd("usage", "partitions")
    assert code == 0 and "one plain table" in out
    assert mgd("usage", "partitions", "--detach-before", "2026-13")[0] == 2


def test_dry_run_writes_nothing(mgd):
    code, out, _ = mgd("records", "import", "--dry-run", str(EXAMPLE))
    assert code == 0 and "lines: 6 would be created" in out and "nothing was written" in out
    assert "lines: 6 were created" in mgd("records", "import", str(EXAMPLE))[1]


def test_a_bad_file_exits_non_zero_naming_the_place(mgd, tmp_path):
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["companies"][1]["lines"][0]["number"] = "698 76"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    code, _, err = mgd("records", "import", str(bad))
    assert code == 1
    assert (
        'error: companies[1].lines[0].number: "698 76" — this is not a Spanish fixed or mobile number' in err
    )
    assert "Nothing was imported (1 error(s))." in err
    assert "lines: 6 were created" in mgd("records", "import", str(EXAMPLE))[1]


def test_a_file_that_is_not_utf8_is_refused(mgd, tmp_path):
    bad = tmp_path / "latin1.json"
    bad.write_bytes('{"companies": [{"name": "Peña"}]}'.encode("latin-1"))
    code, _, err = mgd("records", "import", str(bad))
    assert code == 1 and "not UTF-8 text" in err


def test_demo_loads_once_and_prints_examples(mgd):
    code, out, _ = mgd("demo", "--companies", "12", "--if-empty")
    assert code == 0
    for mix in ("only_fixed", "only_mobile", "fixed_and_mobile", "convergent"):
        assert f"[pyme · {mix}]" in out
    assert "fiscal ID:" in out and "IBAN of the" in out
    assert "and 7 help articles." in out
    code, out, _ = mgd("demo", "--if-empty")
    assert (code, out.strip()) == (0, "The database already has companies: demo data not loaded.")


def test_a_bad_setting_stops_the_command_naming_it(mgd, monkeypatch):
    monkeypatch.setenv("MGD_SMS_BACKEND", "pigeon")
    code, _, err = mgd("records", "import", str(EXAMPLE))
    assert code == 1 and "MGD_SMS_BACKEND: 'pigeon' is not one of" in err


def test_worker_needs_a_broker(mgd):
    code, _, err = mgd("worker")
    assert code == 1 and "MGD_BROKER_URL is empty" in err


def test_serve_production_migrates_then_becomes_gunicorn_with_the_portals_settings(
    mgd, monkeypatch, tmp_path
):
    from mgd import cli  # noqa: PLC0415

    fresh = tmp_path / "fresh.sqlite3"
    monkeypatch.setenv("MGD_DATABASE_URL", f"sqlite:///{fresh}")
    monkeypatch.setenv("MGD_BROKER_URL", "redis://127.0.0.1:6379/10")
    calls = []
    monkeypatch.setattr(cli.os, "execv", lambda path, argv: calls.append((path, argv)))
    code, out, _ = mgd("serve", "--production", "--host", "10.0.0.2", "--port", "8000")
    assert code == 0 and "gunicorn on 10.0.0.2:8000" in out
    [(_, argv)] = calls
    assert argv[1:] == [
        "-m",
        "gunicorn",
        "-c",
        "python:mgd.gunicorn_conf",
        "--bind",
        "10.0.0.2:8000",
        "mgd.wsgi:app",
    ]
    assert fresh.exists()  # migrated before serving


def test_serve_production_needs_a_broker(mgd):
    code, _, err = mgd("serve", "--production")
    assert code == 1 and "MGD_BROKER_URL is empty: gunicorn runs no jobs" in err


def test_serve_production_refuses_unsafe_production_settings(mgd, monkeypatch):
    monkeypatch.setenv("MGD_ENV", "production")
    monkeypatch.setenv("MGD_SECRET_KEY", "x")
    code, _, err = mgd("serve", "--production")
    assert code == 1 and "configuration: MGD_SECRET_KEY: needs 32 random bytes" in err


def test_the_gunicorn_settings_fit_the_portal():
    from mgd import gunicorn_conf  # noqa: PLC0415

    assert gunicorn_conf.workers >= 3 and gunicorn_conf.worker_class == "gthread"
    assert gunicorn_conf.accesslog is None and gunicorn_conf.secure_scheme_headers == {}
    assert gunicorn_conf.timeout >= 60

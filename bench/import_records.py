"""Benchmark: `mgd records import` of 100,000 lines across 2,000 companies, first import and re-import.

Writes the dataset (the demo generator, 50 lines a company) to a JSON file, creates a fresh schema in the
database, and times the import's three parts: reading and validating the document, writing it, committing.
Usage: python bench/import_records.py [--database-url URL] [--companies N] [--lines-per-company N] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from mgd import create_app
from mgd.db import database, make_engine
from mgd.migrate import register_operator_key, upgrade
from mgd.tenants.demo import demo_document
from mgd.tenants.records.importer import import_records
from mgd.tenants.records.validate import parse_document

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def fresh_database(base_url: str, workdir: Path) -> tuple[str, callable]:
    """A database with the migrated schema and nothing else, and a function that removes it."""
    if make_url(base_url).get_backend_name() == "sqlite":
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        upgrade(url)
        return url, lambda: None
    schema = f"mgd_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    upgrade(url)

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url, drop


def timed_import(url: str, path: Path) -> dict[str, float]:
    engine = make_engine(url)
    # The import opens an operator scope, which takes the key of an app (registered as `mgd db upgrade` does).
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(path.parent)})
    register_operator_key(url, database(app).operator_key)
    try:
        started = time.perf_counter()
        records = parse_document(path.read_text(encoding="utf-8"))
        validated = time.perf_counter()
        with app.app_context(), Session(engine) as session:
            report = import_records(session, records)
            written = time.perf_counter()
            session.commit()
        done = time.perf_counter()
    finally:
        engine.dispose()
        database(app).engine.dispose()
    return {
        "validate": validated - started,
        "write": written - validated,
        "commit": done - written,
        "total": done - started,
        "created": report.counts["lines"].created,
        "unchanged": report.counts["lines"].unchanged,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--companies", type=int, default=2000)
    parser.add_argument("--lines-per-company", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="fresh databases to import into")
    args = parser.parse_args()
    lines = args.companies * args.lines_per_company
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "records.json"
        path.write_text(json.dumps(demo_document(args.companies, lines_per_company=args.lines_per_company)))
        print(f"dataset: {args.companies} companies, {lines} lines, {path.stat().st_size / 1e6:.1f} MB")
        first, again = [], []
        for run in range(args.runs):
            url, drop = fresh_database(args.database_url, Path(workdir))
            try:
                first.append(timed_import(url, path))
                again.append(timed_import(url, path))
            finally:
                drop()
            assert first[-1]["created"] == lines and again[-1]["unchanged"] == lines
            print(
                f"run {run + 1}: first import {first[-1]['total']:.2f} s "
                f"(validate {first[-1]['validate']:.2f}, write {first[-1]['write']:.2f}, "
                f"commit {first[-1]['commit']:.2f}); re-import {again[-1]['total']:.2f} s"
            )
    for name, results in (("first import", first), ("re-import", again)):
        median = statistics.median(r["total"] for r in results)
        print(f"{name}: median {median:.2f} s = {lines / median:,.0f} lines/s")


if __name__ == "__main__":
    main()

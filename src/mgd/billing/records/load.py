"""The billing half of ``mgd records import``: sources in, checked, staged, written; or ``RecordsInvalid``
naming every problem, with nothing written. Flushes, never commits (the command commits or rolls back).
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from sqlalchemy.orm import Session

from mgd.billing.records import staging
from mgd.billing.records.rows import (
    Errors,
    FastCharges,
    Resolver,
    Row,
    charge_row,
    invoice_row,
    payment_row,
)
from mgd.billing.records.sources import KINDS, DocumentSource, FileSource, kind_of
from mgd.billing.records.staging import Counts, Problem, Stage
from mgd.db import operator_scope, utcnow
from mgd.tenants.records.importer import import_document, import_records
from mgd.tenants.records.validate import MAX_ERRORS, RecordError, Records, RecordsInvalid, parse_document

log = logging.getLogger(__name__)
Source = FileSource | DocumentSource
_PLACEHOLDER = re.compile(r"\{(\d+):(\d+)\}")


def file_sources(paths: list[Path]) -> list[FileSource]:
    """The billing files among ``paths`` (directories: their files), invoices first, then charges, then
    payments, each kind by name; raises ``RecordsInvalid`` for a file whose name says no kind."""
    files: list[Path] = []
    for path in paths:
        files += sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    unknown = [
        RecordError(
            str(path), None, f"is not a billing file: name it {', '.join(KINDS)}[-anything].csv|.jsonl"
        )
        for path in files
        if kind_of(path) is None and not path.is_dir()
    ]
    if unknown:
        raise RecordsInvalid(unknown)
    known = [(KINDS.index(kind_of(path)), path.name, path) for path in files]
    return [FileSource(path, KINDS[kind]) for kind, _name, path in sorted(known)]


def document_source(records: Records) -> DocumentSource | None:
    """The invoices and payments of a records document (after ``import_records`` wrote its companies)."""
    source = DocumentSource(records)
    return source if source.companies else None


def import_files(session: Session, document: str | Path | None, files: list[Path]) -> dict[str, object]:
    """What ``mgd records import`` does before committing: the records document (``document``, its text or
    its file, read as a stream) and its companies' invoices and payments, then the billing ``files``; the
    counts of each table."""
    sources: list[Source] = list(file_sources(files))
    counts: dict[str, object] = {}
    if document is not None:
        if isinstance(document, Path):
            records, report = import_document(session, document)
        else:
            records = parse_document(document)
            report = import_records(session, records)
        counts |= report.counts
        sources = [source for source in [document_source(records)] if source] + sources
    if sources:
        counts |= import_billing(session, sources)
    return counts


def import_billing(session: Session, sources: list[Source]) -> dict[str, Counts]:
    """Check every record of ``sources``, then write them all, or raise ``RecordsInvalid`` (nothing written
    by this function: the caller rolls back what came before)."""
    errors = Errors()
    started = time.perf_counter()
    with operator_scope(session, "records import: billing"):
        stage = Stage(session)
        resolver = Resolver(session, before_query=stage.pause)
        with stage:
            for index, source in enumerate(sources):
                _stage_source(index, source, errors, resolver, stage)
        if errors.total:
            raise RecordsInvalid(errors.kept, errors.total)
        staged = time.perf_counter()
        problems = stage.problems(MAX_ERRORS)
        if problems:
            raise RecordsInvalid([_error(p, sources) for p in problems])
        checked = time.perf_counter()
        counts = stage.write(utcnow())
        stage.drop()
        session.flush()
    log.info(
        "billing import: %s records read and staged in %.1f s, checked in %.1f s, written in %.1f s"
        " (summaries: %s rows deleted, %s inserted, in %.1f s of which summing %.1f s)",
        sum(stage.staged.values()),
        staged - started,
        checked - staged,
        time.perf_counter() - checked,
        stage.summaries.deleted,
        stage.summaries.inserted,
        stage.summaries.seconds,
        stage.summaries.summing,
    )
    return counts


def _stage_source(index: int, source: Source, errors: Errors, resolver: Resolver, stage: Stage) -> None:
    if isinstance(source, FileSource) and source.kind == "charges" and source.is_csv:
        _stage_csv_charges(index, source, errors, resolver, stage)
        return
    run, position = None, 0
    for kind, row, record, tenant_id, invoice in source.records(errors, resolver):
        if kind == "charges":
            values = charge_row(row, resolver, tenant_id, invoice)
            if values is None or errors.total:
                continue
            key = (values[0], values[1])
            position = position + 1 if key == run else 1
            run = key
            stage.add(kind, (index, record, *values[:2], position, *values[2:]))
            continue
        values = (invoice_row if kind == "invoices" else payment_row)(row, resolver, tenant_id)
        if values is not None and not errors.total:  # after a first error, only checking goes on
            stage.add(kind, (index, record, *values))


def _stage_csv_charges(
    index: int, source: FileSource, errors: Errors, resolver: Resolver, stage: Stage
) -> None:
    """As ``_stage_source``, the common case checked by ``FastCharges``, the others by ``charge_row``."""
    header: list[str] = []
    fast: FastCharges | None = None
    run, position = None, 0
    buffer = stage.buffers["charges"]
    for line, values in source.csv_rows(errors, header):
        if fast is None:
            fast = FastCharges(resolver, header)
        charge = fast(values)
        if charge is None:
            row = Row(dict(zip(header, values, strict=True)), f"{source.place(line)}: ", errors)
            charge = charge_row(row, resolver, None, None)
            if charge is None:
                continue
        if errors.total:
            continue
        tenant_id, invoice = charge[0], charge[1]
        if run is not None and tenant_id == run[0] and invoice == run[1]:
            position += 1
        else:
            run, position = charge, 1
        buffer.append((index, line, tenant_id, invoice, position, *charge[2:]))
        if len(buffer) >= staging.BUFFER:
            stage.flush("charges")


def _error(problem: Problem, sources: list[Source]) -> RecordError:
    def place(source: int, record: int) -> str:
        return sources[source].place(record)

    rule = _PLACEHOLDER.sub(lambda m: place(int(m.group(1)), int(m.group(2))), problem.rule)
    separator = "." if isinstance(sources[problem.source], DocumentSource) else ": "
    return RecordError(place(problem.source, problem.record) + separator + problem.field, problem.value, rule)

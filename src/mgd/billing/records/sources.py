"""Where billing records come from: a CSV or JSONL file of one kind (read a record at a time, so memory stays
flat whatever the file's size), or the ``invoices`` and ``payments`` of the companies of a records document.

Each source yields ``(kind, row, record, tenant_id, invoice)``: ``record`` numbers the record in its source
(a file's line), ``tenant_id`` and ``invoice`` are given when the document's nesting implies them.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from mgd.billing.records.rows import FIELDS, Errors, Resolver, Row, check_fields
from mgd.tenants.records.validate import Records

KINDS = tuple(FIELDS)
SUFFIXES = (".csv", ".jsonl")
_KIND_OF_NAME = re.compile(rf"({'|'.join(KINDS)})(?:[-_.].*)?")

Record = tuple[str, Row, int, int | None, str | None]


def kind_of(path: Path) -> str | None:
    """The kind of records a file holds, by its name: ``invoices.csv``, ``charges-2026-10.jsonl``…"""
    if path.suffix.lower() not in SUFFIXES:
        return None
    found = _KIND_OF_NAME.fullmatch(path.stem.lower())
    return found.group(1) if found else None


class FileSource:
    """One CSV (with a header line) or JSONL file of one kind of record."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path, self.kind, self.name = path, kind, path.name

    def place(self, record: int) -> str:
        return f"{self.name} line {record}"

    def records(self, errors: Errors, resolver: Resolver) -> Iterator[Record]:
        reader = self._csv if self.is_csv else self._jsonl
        yield from reader(errors)

    @property
    def is_csv(self) -> bool:
        return self.path.suffix.lower() == ".csv"

    def _csv(self, errors: Errors) -> Iterator[Record]:
        header: list[str] = []
        for line, values in self.csv_rows(errors, header):
            row = Row(dict(zip(header, values, strict=True)), f"{self.place(line)}: ", errors)
            yield self.kind, row, line, None, None

    def csv_rows(self, errors: Errors, header: list[str]) -> Iterator[tuple[int, list[str]]]:
        """(line, values) of each record of a CSV file whose header fits its kind; ``header`` is filled with
        the header's field names before the first."""
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            try:
                header += [name.strip() for name in next(reader, [])]
                if not self._header_fits(header, errors):
                    return
                width = len(header)
                for values in reader:
                    if len(values) == width:
                        yield reader.line_num, values
                    elif values:
                        rule = f"has this many fields; the header has {width}"
                        errors.add(self.place(reader.line_num), len(values), rule)
            except UnicodeDecodeError as exc:
                errors.add(self.place(reader.line_num + 1), None, f"not UTF-8 text ({exc.reason})")
            except csv.Error as exc:
                errors.add(self.place(reader.line_num), None, f"not CSV: {exc}")

    def _header_fits(self, header: list[str], errors: Errors) -> bool:
        if not header:
            errors.add(
                self.place(1), None, "is empty: a CSV file starts with a header line naming its fields"
            )
            return False
        before = errors.total
        seen: set[str] = set()
        for name in header:
            if name in seen:
                errors.add(f"{self.place(1)}: {name}", name, "is named twice in the header")
            seen.add(name)
        check_fields(dict.fromkeys(header, ""), self.kind, f"{self.place(1)}: ", errors)
        return errors.total == before

    def _jsonl(self, errors: Errors) -> Iterator[Record]:
        with self.path.open("rb") as handle:
            for line, data in enumerate(handle, 1):
                try:
                    text = data.decode("utf-8-sig" if line == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    errors.add(self.place(line), None, f"not UTF-8 text ({exc.reason})")
                    continue
                if not text.strip():
                    continue
                try:
                    raw = json.loads(text, parse_float=Decimal)
                except (ValueError, RecursionError) as exc:
                    errors.add(self.place(line), None, f"not JSON: {getattr(exc, 'msg', exc)}")
                    continue
                if not isinstance(raw, dict):
                    errors.add(self.place(line), None, "must be a JSON object")
                    continue
                prefix = f"{self.place(line)}: "
                if check_fields(raw, self.kind, prefix, errors):
                    yield self.kind, Row(raw, prefix, errors), line, None, None


class DocumentSource:
    """The ``invoices`` (with their ``charges``) and ``payments`` of a records document's companies, which
    the document's own import has written first."""

    name = "document"

    def __init__(self, records: Records) -> None:
        self.companies = [company for company in records.companies if company.billing]
        self.places: list[str] = []

    def place(self, record: int) -> str:
        return self.places[record]

    def _row(
        self, raw: object, place: str, kind: str, errors: Errors, implied: tuple[str, ...]
    ) -> Row | None:
        self.places.append(place)
        if not isinstance(raw, dict):
            errors.add(place, raw, "must be an object")
            return None
        fields = {key: value for key, value in raw.items() if not (kind == "invoices" and key == "charges")}
        if not check_fields(fields, kind, f"{place}.", errors, implied):
            return None
        return Row(fields, f"{place}.", errors)

    def records(self, errors: Errors, resolver: Resolver) -> Iterator[Record]:
        for company in self.companies:
            tenant_id = resolver.tenants.get(company.fiscal_id) or resolver.tenant_of(
                Row({}, f"{company.path}.", errors), company.fiscal_id, company.fiscal_id
            )
            if tenant_id is None:
                continue
            for index, raw in enumerate(company.billing.get("invoices", [])):
                place = f"{company.path}.invoices[{index}]"
                row = self._row(raw, place, "invoices", errors, ("company",))
                if row is not None:
                    yield "invoices", row, len(self.places) - 1, tenant_id, None
                charges = raw.get("charges", []) if isinstance(raw, dict) else []
                number = raw.get("number") if isinstance(raw, dict) else None
                if not isinstance(charges, list):
                    errors.add(f"{place}.charges", charges, "must be a list")
                    continue
                for position, charge in enumerate(charges):
                    row = self._row(
                        charge, f"{place}.charges[{position}]", "charges", errors, ("company", "invoice")
                    )
                    if row is not None and isinstance(number, str):
                        yield "charges", row, len(self.places) - 1, tenant_id, number
            for index, raw in enumerate(company.billing.get("payments", [])):
                row = self._row(raw, f"{company.path}.payments[{index}]", "payments", errors, ("company",))
                if row is not None:
                    yield "payments", row, len(self.places) - 1, tenant_id, None

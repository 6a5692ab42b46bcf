"""``mgd records import`` reads its document as a stream, a company at a time: the same records, the same
errors, the same writes as reading it whole."""

import json

import pytest

from mgd.tenants.records.importer import import_document, import_records
from mgd.tenants.records.validate import RecordsInvalid, parse_document, read_document
from tests.tenants.test_records_import import EXAMPLE, counts, example


def _read(path, text: str):
    path.write_text(text, encoding="utf-8")
    handed = []
    records = read_document(path, handed.extend)
    return records, handed


def _errors(call) -> list[str]:
    with pytest.raises(RecordsInvalid) as caught:
        call()
    return [str(error) for error in caught.value.errors]


def test_the_stream_reads_what_a_whole_reading_reads(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8")
    whole = parse_document(text)
    records, handed = _read(tmp_path / "records.json", text)
    assert records.lines_handed == len(handed) == sum(len(c.lines) for c in whole.companies) > 0
    assert handed == [line for company in whole.companies for line in company.lines]
    assert all(company.lines == [] for company in records.companies)
    assert [c.fiscal_id for c in records.companies] == [c.fiscal_id for c in whole.companies]
    assert [c.billing_accounts for c in records.companies] == [c.billing_accounts for c in whole.companies]
    assert records.tariffs == whole.tariffs


@pytest.mark.parametrize(
    "text",
    [
        # the companies before the tariffs (a line's tariff of the file is checked as it is read)
        json.dumps({"companies": example()["companies"], "tariffs": example()["tariffs"]}),
        json.dumps(example()) + "\n[]",  # more after the document
        json.dumps(example())[:-200],  # cut short
        json.dumps({**example(), "colour": "red"}),
        json.dumps(example()).replace("Talleres", "Talleres\\u0000"),
        json.dumps({**example(), "companies": {}}),
    ],
    ids=["companies first", "extra data", "cut short", "unknown field", "escaped NUL", "not a list"],
)
def test_documents_the_stream_cannot_follow_are_read_whole_with_the_same_errors(tmp_path, text):
    path = tmp_path / "records.json"
    path.write_text(text, encoding="utf-8")
    try:
        whole = parse_document(text)
    except RecordsInvalid as refused:
        assert _errors(lambda: read_document(path, lambda lines: None)) == [str(e) for e in refused.errors]
        return
    records, handed = _read(path, text)
    assert records.lines_handed == 0 and handed is not None
    assert [len(c.lines) for c in records.companies] == [len(c.lines) for c in whole.companies]


def test_errors_of_the_stream_are_those_of_a_whole_reading(tmp_path):
    document = example()
    document["companies"][0]["lines"][1]["number"] = "612 34 56"
    document["companies"][2]["lines"][0]["number"] = document["companies"][0]["lines"][0]["number"]
    document["companies"][1]["segment"] = "autonomo"
    text = json.dumps(document)
    path = tmp_path / "records.json"
    path.write_text(text, encoding="utf-8")
    expected = _errors(lambda: parse_document(text))
    assert len(expected) == 3
    assert _errors(lambda: read_document(path, lambda lines: None)) == expected


def test_a_streamed_import_writes_what_an_import_of_the_whole_document_writes(db_session, tmp_path):
    path = tmp_path / "records.json"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    records, report = import_document(db_session, path)
    assert records.lines_handed > 0
    written = counts(db_session)
    assert report.counts["lines"].created == written["lines"] > 0
    _records, again = import_document(db_session, path)
    assert not again.changed and again.counts["lines"].unchanged == written["lines"]
    assert not import_records(db_session, parse_document(path.read_text(encoding="utf-8"))).changed


def test_a_document_read_again_whole_stages_its_lines_once(db_session, tmp_path):
    """Companies before tariffs: the lines handed while streaming are forgotten, the whole reading's kept."""
    path = tmp_path / "records.json"
    path.write_text(json.dumps({"companies": example()["companies"], "tariffs": example()["tariffs"]}))
    records, report = import_document(db_session, path)
    assert records.lines_handed == 0
    lines = sum(len(company["lines"]) for company in example()["companies"])
    assert report.counts["lines"].created == counts(db_session)["lines"] == lines


def test_a_streamed_document_that_clashes_with_stored_lines_writes_nothing(db_session, tmp_path):
    path = tmp_path / "records.json"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    import_document(db_session, path)
    before = counts(db_session)
    document = example()
    document["companies"][0]["fiscal_id"] = "X1234567L"
    document["companies"][0]["name"] = "Intruso"
    path.write_text(json.dumps(document), encoding="utf-8")
    messages = _errors(lambda: import_document(db_session, path))
    assert messages and all(m.endswith("belongs to another company") for m in messages)
    assert messages[0].startswith("companies[0].lines[0].number")
    assert counts(db_session) == before

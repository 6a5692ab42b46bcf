"""Malformed records documents: each is refused whole with the place of its problem, never a traceback,
and nothing is written, through `mgd records import` and on the suite's database (PostgreSQL in CI)."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mgd.db import operator_scope
from mgd.tenants.models import Company, Tariff
from mgd.tenants.records.importer import import_records
from mgd.tenants.records.validate import RecordsInvalid, parse_document

VALID = {
    "tariffs": [{"code": "M", "name": "Móvil", "family": "mobile", "monthly_fee_eur": 10}],
    "companies": [
        {
            "fiscal_id": "B12345674",
            "name": "Talleres Gómez S.L.",
            "segment": "pyme",
            "interlocutors": [{"name": "Lucía Gómez", "email": "lucia@example.es"}],
            "billing_accounts": [{"ref": "CM", "kind": "mobile", "iban": "ES7921000813610123456789"}],
            "lines": [
                {
                    "number": "611111111",
                    "kind": "mobile",
                    "product": "mobile",
                    "tariff": "M",
                    "billing_account": "CM",
                }
            ],
        }
    ],
}


def changed(path: list, value) -> str:
    """The valid document with the value at ``path`` replaced, as JSON text."""
    document = copy.deepcopy(VALID)
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return json.dumps(document)


def renamed(path: list, old: str, new: str) -> str:
    document = copy.deepcopy(VALID)
    target = document
    for step in path:
        target = target[step]
    target[new] = target.pop(old)
    return json.dumps(document)


DEEP = "[" * 100_000 + "]" * 100_000
BIG = "9" * 5000

#: (document text, the start of the error line it must print)
MALFORMED = {
    "deep nesting": (DEEP, "document: null — is nested too deeply"),
    "deep nesting in a field": (
        changed(["companies", 0, "name"], json.loads("[" * 500 + "]" * 500)),
        "companies[0].name: [[[",
    ),
    "5,000-digit integer": (
        json.dumps(VALID).replace('"monthly_fee_eur": 10', f'"monthly_fee_eur": {BIG}'),
        "tariffs[0].monthly_fee_eur: 99999",
    ),
    "5,000-digit integer for a text": (
        json.dumps(VALID).replace('"number": "611111111"', f'"number": {BIG}'),
        "companies[0].lines[0].number: 99999",
    ),
    "NUL in a name": (
        changed(["companies", 0, "name"], "Talleres\x00Gómez"),
        'companies[0].name: "Talleres\\u0000',
    ),
    "NUL in a tariff code of a line": (
        changed(["companies", 0, "lines", 0, "tariff"], "M\x00"),
        "companies[0].lines[0].tariff:",
    ),
    "NUL in a key": (renamed(["companies", 0], "name", "na\x00me"), "companies[0].na\\x00me:"),
    "lone surrogate in an email": (
        changed(["companies", 0, "interlocutors", 0, "email"], "lu\ud800cia@example.es"),
        'companies[0].interlocutors[0].email: "lu\\ud800cia',
    ),
    "lone surrogate in a key": (renamed(["tariffs", 0], "name", "\udfff"), "tariffs[0].\\udfff:"),
    "escape control character": (changed(["tariffs", 0, "name"], "M\x1b[31m"), "tariffs[0].name:"),
    "document is a list": ("[]", "document: [] — must be an object"),
    "tariffs is an object": (changed(["tariffs"], {}), "tariffs: {} — must be a list"),
    "a tariff is a number": (changed(["tariffs", 0], 5), "tariffs[0]: 5 — must be an object"),
    "lines is a text": (changed(["companies", 0, "lines"], "x"), 'companies[0].lines: "x" — must be a list'),
    "a line is null": (changed(["companies", 0, "lines", 0], None), "companies[0].lines[0]: null"),
    "an interlocutor's name is a list": (
        changed(["companies", 0, "interlocutors", 0, "name"], []),
        "companies[0].interlocutors[0].name: [] — must be a non-empty text",
    ),
    "an IBAN is a number": (
        changed(["companies", 0, "billing_accounts", 0, "iban"], 5),
        "companies[0].billing_accounts[0].iban: 5 — must be a text",
    ),
    "a fee is a boolean": (
        changed(["tariffs", 0, "monthly_fee_eur"], True),
        "tariffs[0].monthly_fee_eur: true",
    ),
    "a fee is infinite": (
        json.dumps(VALID).replace('"monthly_fee_eur": 10', '"monthly_fee_eur": 1e999999'),
        "tariffs[0].monthly_fee_eur:",
    ),
    "a segment is an object": (changed(["companies", 0, "segment"], {"a": 1}), "companies[0].segment:"),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_the_command_refuses_a_malformed_document_naming_the_place(mgd, tmp_path, name):
    document, place = MALFORMED[name]
    path = tmp_path / "records.json"
    path.write_text(document, encoding="utf-8", errors="surrogatepass")
    code, out, err = mgd("records", "import", str(path))  # an exception would propagate here
    assert code == 1
    assert f"error: {place}" in err, err
    assert "Nothing was imported" in err and "Traceback" not in err + out
    code, out, _ = mgd("records", "import", "--dry-run", str(path))
    assert code == 1 and "were created" not in out


def test_a_file_with_a_raw_nul_or_surrogate_bytes_is_refused(mgd, tmp_path):
    nul = tmp_path / "nul.json"
    nul.write_bytes(json.dumps(VALID, ensure_ascii=False).replace("Gómez S.L.", "G\x00mez").encode())
    code, _, err = mgd("records", "import", str(nul))
    assert code == 1 and "error: line 1, column" in err and "Invalid control character" in err
    surrogate = tmp_path / "surrogate.json"
    surrogate.write_bytes(
        json.dumps(VALID, ensure_ascii=False)
        .replace("Gómez S.L.", "G\ud800")
        .encode("utf-8", "surrogatepass")
    )
    code, _, err = mgd("records", "import", str(surrogate))
    assert code == 1 and "not UTF-8 text" in err


def _nothing_stored(session) -> bool:
    with operator_scope(session, "test"):
        return not session.scalar(select(func.count()).select_from(Company)) and not session.scalar(
            select(func.count()).select_from(Tariff)
        )


@pytest.mark.parametrize("name", MALFORMED)
def test_the_suites_database_is_never_reached_by_a_malformed_document(db_session, name):
    document, place = MALFORMED[name]
    with pytest.raises(RecordsInvalid) as caught:
        import_records(db_session, parse_document(document))
    assert any(str(error).startswith(place) for error in caught.value.errors)
    assert _nothing_stored(db_session)


# ---- generated documents ----------------------------------------------------------------------------------

NASTY_TEXT = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(codec=None, categories=("Cc", "Cs", "Nd", "No", "Zs")), max_size=10),
    st.sampled_from(["", " ", "\x00", "\ud800", "²", "٣٣٣", "x" * 10_000]),
)
NASTY_NUMBER = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False),
)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | NASTY_NUMBER | NASTY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NASTY_TEXT, inner, max_size=3),
    max_leaves=8,
)


def _paths(value, prefix=()):
    """Every place inside the valid document: where a generated value goes."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


PLACES = [path for path in _paths(VALID) if path]


def _encode(value) -> str:
    return json.dumps(value, default=str, allow_nan=True)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(place=st.sampled_from(PLACES), value=JSON_VALUE)
def test_the_validator_accepts_or_names_a_place_for_any_value_anywhere(place, value):
    """Any JSON value at any place of a valid document: accepted, or refused with errors that each name a
    place and print (no exception of another kind)."""
    document = copy.deepcopy(VALID)
    target = document
    for step in place[:-1]:
        target = target[step]
    target[place[-1]] = value
    try:
        parse_document(_encode(document))
    except RecordsInvalid as refused:
        assert refused.errors
        for error in refused.errors:
            assert error.path
            str(error).encode("utf-8")  # printable to a terminal: no lone surrogate left

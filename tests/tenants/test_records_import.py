import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mgd.db import operator_scope
from mgd.tenants.models import BillingAccount, Company, Interlocutor, Line, Tariff
from mgd.tenants.records.importer import import_records
from mgd.tenants.records.validate import RecordsInvalid, parse_document

EXAMPLE = Path(__file__).parents[2] / "docs" / "records-example.json"


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def run_import(session, document: dict | str):
    text = document if isinstance(document, str) else json.dumps(document)
    return import_records(session, parse_document(text))


def counts(session) -> dict[str, int]:
    with operator_scope(session, "test"):
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Tariff, Company, Interlocutor, BillingAccount, Line)
        }


def errors_of(session, document) -> list[str]:
    with pytest.raises(RecordsInvalid) as caught:
        run_import(session, document)
    return [str(error) for error in caught.value.errors]


def test_the_documented_example_imports(db_session):
    report = run_import(db_session, example())
    assert {name: c.created for name, c in report.counts.items()} == {
        "tariffs": 3,
        "companies": 3,
        "interlocutors": 4,
        "billing_accounts": 5,
        "lines": 6,
    }
    company = db_session.scalar(select(Company).where(Company.fiscal_id == "12345678Z"))
    assert (company.fiscal_id_kind, company.segment, company.name) == ("nif", "pyme", "Ana Ruiz Ortega")
    assert len(company.public_ref) >= 16 and company.fiscal_id not in company.public_ref
    with operator_scope(db_session, "test"):
        line = db_session.scalar(select(Line).where(Line.number == "+34612345680"))
        assert (line.kind, line.status, line.billing_account.iban) == (
            "mobile",
            "suspended",
            "ES9121000418450200051332",
        )
        person = db_session.scalar(
            select(Interlocutor).where(Interlocutor.email == "lucia.gomez@talleresgomez.es")
        )
        assert person.phone == "+34612345678"
    tariff = db_session.scalar(select(Tariff).where(Tariff.code == "MOVIL-10GB"))
    assert (tariff.monthly_fee_eur, tariff.data_gb, tariff.voice_minutes) == (Decimal("12.50"), 10, 500)


def test_importing_the_same_file_twice_changes_nothing(db_session):
    run_import(db_session, example())
    with operator_scope(db_session, "test"):
        before = {line.number: line.updated_at for line in db_session.scalars(select(Line))}
    report = run_import(db_session, example())
    assert not report.changed
    assert report.counts["lines"].unchanged == 6
    with operator_scope(db_session, "test"):
        db_session.expire_all()
        assert {line.number: line.updated_at for line in db_session.scalars(select(Line))} == before


def test_a_later_file_updates_and_adds_but_never_deletes(db_session):
    run_import(db_session, example())
    document = example()
    document["companies"][0]["name"] = "Talleres Gómez e Hijos S.L."
    document["companies"][0]["lines"][2]["status"] = "cancelled"
    document["companies"][1]["lines"] = [
        {
            "number": "698 11 22 33",
            "kind": "mobile",
            "product": "mobile",
            "tariff": "MOVIL-10GB",
            "billing_account": "CM-0002",
        }
    ]
    del document["companies"][2]
    report = run_import(db_session, document)
    assert (report.counts["companies"].updated, report.counts["companies"].unchanged) == (1, 1)
    assert (report.counts["lines"].created, report.counts["lines"].updated) == (1, 1)
    assert counts(db_session)["lines"] == 7
    assert counts(db_session)["companies"] == 3


def test_one_bad_record_and_nothing_is_written(db_session):
    document = example()
    document["companies"][2]["lines"][1]["number"] = "655 44 33"
    assert errors_of(db_session, document)
    assert counts(db_session) == dict.fromkeys(counts(db_session), 0)


def test_a_database_clash_writes_nothing_either(db_session):
    run_import(db_session, example())
    before = counts(db_session)
    document = example()
    document["companies"][0]["name"] = "Renamed S.L."
    document["companies"][1]["lines"][0]["tariff"] = "NO-SUCH-TARIFF"
    with pytest.raises(RecordsInvalid):
        run_import(db_session, document)
    assert counts(db_session) == before
    assert (
        db_session.scalar(select(Company.name).where(Company.fiscal_id == "B12345674"))
        == "Talleres Gómez S.L."
    )


def _break(path: str, value):
    """A copy of the example with one field changed (or removed when value is ...)."""
    document = copy.deepcopy(example())
    *parents, last = path.replace("]", "").replace("[", ".").split(".")
    node = document
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is ...:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("tariffs[0].code", "FIJO BASICO!", 'tariffs[0].code: "FIJO BASICO!" — must be 1-40 letters'),
        ("tariffs[1].code", "FIJO-BASICO", 'tariffs[1].code: "FIJO-BASICO" — repeats tariffs[0].code'),
        (
            "tariffs[0].family",
            "satellite",
            'tariffs[0].family: "satellite" — must be one of fixed, mobile, convergent',
        ),
        ("tariffs[0].monthly_fee_eur", -1, "tariffs[0].monthly_fee_eur: -1 — must be between 0 and"),
        (
            "tariffs[0].monthly_fee_eur",
            19.999,
            "tariffs[0].monthly_fee_eur: 19.999 — must have at most 2 decimals",
        ),
        ("tariffs[0].monthly_fee_eur", "19.90", 'tariffs[0].monthly_fee_eur: "19.90" — must be a number'),
        ("tariffs[0].monthly_fee_eur", ..., "tariffs[0].monthly_fee_eur: null — is required"),
        ("tariffs[1].voice_minutes", 10.5, "tariffs[1].voice_minutes: 10.5 — must have at most 0 decimals"),
        ("tariffs[0].colour", "red", 'tariffs[0].colour: "red" — is not a known field'),
        (
            "companies[0].fiscal_id",
            "B12345675",
            'companies[0].fiscal_id: "B12345675" — the check digit of this CIF',
        ),
        (
            "companies[1].fiscal_id",
            "ESB12345674",
            'companies[1].fiscal_id: "ESB12345674" — repeats companies[0]',
        ),
        (
            "companies[0].segment",
            "autonomo",
            'companies[0].segment: "autonomo" — must be one of pyme, mediana',
        ),
        ("companies[0].name", "  ", 'companies[0].name: "  " — must be a non-empty text'),
        ("companies[0].name", "x" * 201, 'companies[0].name: "xxxxxxx'),
        ("companies[0].lines", {}, "companies[0].lines: {} — must be a list"),
        (
            "companies[2].interlocutors[1].email",
            "marta.diaz@",
            'companies[2].interlocutors[1].email: "marta.diaz@" — not a valid email',
        ),
        (
            "companies[2].interlocutors[1].email",
            "Jorge.Navarro@navarro.es",
            'companies[2].interlocutors[1].email: "Jorge.Navarro@navarro.es" — repeats companies[2].interlocutors[0].email',
        ),
        (
            "companies[0].interlocutors[0].phone",
            "+44 20 7946 0958",
            'companies[0].interlocutors[0].phone: "+44 20 7946 0958" — only Spanish numbers',
        ),
        (
            "companies[0].billing_accounts[0].iban",
            "ES00 2100 0418 4502 0005 1332",
            'companies[0].billing_accounts[0].iban: "ES00 2100 0418 4502 0005 1332" — the check digit of this IBAN is wrong',
        ),
        (
            "companies[0].billing_accounts[1].iban",
            "2100 0418 46 0200051332",
            'companies[0].billing_accounts[1].iban: "2100 0418 46 0200051332" — the check digit of this Spanish account number',
        ),
        (
            "companies[0].billing_accounts[1].ref",
            "CF-0001",
            'companies[0].billing_accounts[1].ref: "CF-0001" — repeats companies[0].billing_accounts[0].ref',
        ),
        (
            "companies[0].billing_accounts[0].kind",
            "both",
            'companies[0].billing_accounts[0].kind: "both" — must be one of fixed, mobile',
        ),
        (
            "companies[0].lines[1].number",
            "612 34 56",
            'companies[0].lines[1].number: "612 34 56" — this is not a Spanish fixed or mobile number',
        ),
        (
            "companies[1].lines[0].number",
            "612345679",
            'companies[1].lines[0].number: "612345679" — repeats companies[0].lines[1].number',
        ),
        (
            "companies[0].lines[0].kind",
            "mobile",
            'companies[0].lines[0].kind: "mobile" — 91 123 45 67 is a fixed number',
        ),
        (
            "companies[0].lines[0].product",
            "mobile",
            'companies[0].lines[0].product: "mobile" — a fixed line cannot belong to a mobile product',
        ),
        (
            "companies[0].lines[0].tariff",
            "MOVIL-10GB",
            'companies[0].lines[0].tariff: "MOVIL-10GB" — is a mobile tariff, the line is fixed',
        ),
        (
            "companies[0].lines[0].billing_account",
            "CM-0001",
            'companies[0].lines[0].billing_account: "CM-0001" — is a mobile account, the line is fixed',
        ),
        (
            "companies[0].lines[0].status",
            "lost",
            'companies[0].lines[0].status: "lost" — must be one of active, suspended, cancelled',
        ),
        ("companies[0].lines[0].number", ..., "companies[0].lines[0].number: null — is required"),
        (
            "companies[0].lines[0].tariff",
            "NO-SUCH",
            'companies[0].lines[0].tariff: "NO-SUCH" — no tariff has this code',
        ),
        (
            "companies[0].lines[0].billing_account",
            "CF-9999",
            'companies[0].lines[0].billing_account: "CF-9999" — the company has no billing account with this ref',
        ),
    ],
)
def test_every_rule_names_the_place_the_value_and_the_rule(db_session, path, value, message):
    messages = errors_of(db_session, _break(path, value))
    assert any(m.startswith(message) for m in messages), messages
    assert counts(db_session)["companies"] == 0


def test_not_json_names_line_and_column(db_session):
    messages = errors_of(db_session, '{"tariffs": [}\n')
    assert messages == ["line 1, column 14: null — not JSON: Expecting value"]


def test_document_must_be_an_object(db_session):
    assert errors_of(db_session, "[]") == ["document: [] — must be an object"]


def test_all_errors_are_reported_at_once(db_session):
    document = example()
    for line in document["companies"][0]["lines"]:
        line["number"] = "123"
    messages = errors_of(db_session, document)
    assert [m.split(":")[0] for m in messages] == [f"companies[0].lines[{i}].number" for i in range(3)]


@pytest.mark.parametrize("number", ["612345679", "+34 6١٢٣٤٥٦٧٩", "６１２３４５６７９"])
def test_a_number_of_another_stored_company_is_refused(db_session, number):
    """Digits of other scripts are the same number: never a second spelling of another company's line."""
    run_import(db_session, example())
    other = {
        "companies": [
            {
                "fiscal_id": "X1234567L",
                "name": "Intruso",
                "segment": "pyme",
                "billing_accounts": [{"ref": "M", "kind": "mobile", "iban": "ES9121000418450200051332"}],
                "lines": [
                    {
                        "number": number,
                        "kind": "mobile",
                        "product": "mobile",
                        "tariff": "MOVIL-10GB",
                        "billing_account": "M",
                    }
                ],
            }
        ]
    }
    assert errors_of(db_session, other) == [
        'companies[0].lines[0].number: "+34612345679" — belongs to another company'
    ]


def test_stored_tariffs_and_billing_accounts_can_be_referenced(db_session):
    run_import(db_session, example())
    later = {
        "companies": [
            {
                "fiscal_id": "B12345674",
                "name": "Talleres Gómez S.L.",
                "segment": "pyme",
                "lines": [
                    {
                        "number": "622 00 11 22",
                        "kind": "mobile",
                        "product": "mobile",
                        "tariff": "MOVIL-10GB",
                        "billing_account": "CM-0001",
                    }
                ],
            }
        ]
    }
    report = run_import(db_session, later)
    assert report.counts["lines"].created == 1

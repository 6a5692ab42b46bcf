import json

from stdnum import iban
from stdnum.es import nif

from mgd.identifiers import normalize_phone
from mgd.tenants.demo import MIXES, demo_document, registration_examples
from mgd.tenants.records.validate import parse_document


def test_demo_data_passes_every_import_rule_and_covers_every_case():
    document = demo_document(companies=80)
    records = parse_document(json.dumps(document))
    assert {c.segment for c in records.companies} == {"pyme", "mediana", "grandes_clientes"}
    assert {c.fiscal_id_kind for c in records.companies} == {"cif", "nif", "nie"}
    mixes = {frozenset(line.product for line in c.lines) for c in records.companies}
    assert {
        frozenset({"fixed"}),
        frozenset({"mobile"}),
        frozenset({"fixed", "mobile"}),
        frozenset({"convergent"}),
    } <= mixes
    for company in document["companies"]:
        assert nif.is_valid(company["fiscal_id"]) or company["fiscal_id"][0] in "AB"
        assert all(iban.is_valid(a["iban"]) for a in company["billing_accounts"])
        assert all(normalize_phone(line["number"]).kind == line["kind"] for line in company["lines"])


def test_the_same_seed_gives_the_same_data():
    assert demo_document(companies=10, seed=5) == demo_document(companies=10, seed=5)
    assert demo_document(companies=10, seed=5) != demo_document(companies=10, seed=6)


def test_examples_cover_every_sme_product_mix_and_a_large_account():
    document = demo_document(companies=40)
    examples = registration_examples(document)
    assert [(e.segment, e.mix) for e in examples[:4]] == [("pyme", mix) for mix in MIXES]
    assert examples[4].segment == "grandes_clientes"
    both = next(e for e in examples if e.mix == "fixed_and_mobile")
    assert both.mobile and set(both.ibans) == {"fixed", "mobile"}
    by_fiscal_id = {c["fiscal_id"]: c for c in document["companies"]}
    for example in examples:
        company = by_fiscal_id[example.fiscal_id]
        assert example.email in {p["email"] for p in company["interlocutors"]}
        assert normalize_phone(example.phone).e164 in {line["number"] for line in company["lines"]}


def test_a_fixed_lines_per_company_size_for_benchmarks():
    document = demo_document(companies=20, lines_per_company=50)
    assert sum(len(c["lines"]) for c in document["companies"]) == 1000

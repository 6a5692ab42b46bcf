"""The records import of billing: invoices with their charges, payments and billing account details, from the
records document and from CSV/JSONL files of one kind each. Validated with every error's place, all or
nothing, idempotent, totals that add up."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mgd.billing.models import Invoice, InvoiceCharge, Payment
from mgd.billing.records import staging
from mgd.billing.records.load import import_files
from mgd.db import operator_scope
from mgd.tenants.models import BillingAccount, Company
from mgd.tenants.records.validate import RecordsInvalid
from tests.factories import TARIFFS, company_record

FIXED, MOBILE = "B12345674", "X1234567L"
CHARGE_FIELDS = [
    "company",
    "invoice",
    "line",
    "concept",
    "description",
    "net_cents",
    "vat_rate",
    "vat_cents",
    "total_cents",
]


def charge(line, concept, net, rate="21", **more):
    vat = int((Decimal(net) * Decimal(rate) / 100).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    return {
        "line": line,
        "concept": concept,
        "description": f"{concept} {line or 'account'}",
        "net_cents": net,
        "vat_rate": rate,
        "vat_cents": vat,
        "total_cents": net + vat,
    } | more


def invoice(number, charges, *, account="CM", month=9, status="issued", **more):
    net = sum(c["net_cents"] for c in charges)
    vat = sum(c["vat_cents"] for c in charges)
    return {
        "billing_account": account,
        "number": number,
        "period_start": f"2026-{month:02d}-01",
        "period_end": f"2026-{month:02d}-30",
        "issued_on": f"2026-{month + 1:02d}-05",
        "due_on": f"2026-{month + 1:02d}-25",
        "net_cents": net,
        "vat_cents": vat,
        "total_cents": net + vat,
        "status": status,
        "charges": charges,
    } | more


def document(invoices=(), payments=(), accounts=None) -> dict:
    both = company_record(
        MOBILE, "ambos@example.es", [("922222222", "fixed", "fixed"), ("622222222", "mobile", "mobile")]
    )
    both["billing_accounts"].sort(key=lambda a: a["ref"])
    if accounts:
        for account in both["billing_accounts"]:
            account.update(accounts.get(account["ref"], {}))
    if invoices:
        both["invoices"] = list(invoices)
    if payments:
        both["payments"] = list(payments)
    fixed = company_record(FIXED, "fijo@example.es", [("911111111", "fixed", "fixed")])
    return {"tariffs": TARIFFS, "companies": [both, fixed]}


def two_invoices() -> list[dict]:
    return [
        invoice(
            "FV-1",
            [
                charge(None, "fee", 1000),
                charge("+34622222222", "fee", 2500),
                charge("622222222", "usage", 333),
            ],
        ),
        invoice(
            "FV-2",
            [charge("+34622222222", "fee", 2500), charge("+34622222222", "discount", -500)],
            month=8,
            status="paid",
        ),
    ]


PAYMENT = {
    "billing_account": "CM",
    "reference": "PAY-1",
    "paid_on": "2026-09-20",
    "amount_cents": 2420,
    "method": "direct_debit",
}


def run(session, doc=None, files=()):
    return import_files(session, None if doc is None else json.dumps(doc), [Path(f) for f in files])


def errors_of(session, doc=None, files=()) -> list[str]:
    with pytest.raises(RecordsInvalid) as caught:
        run(session, doc, files)
    return [str(error) for error in caught.value.errors]


def stored(session) -> dict:
    with operator_scope(session, "test"):
        return {
            "invoices": {
                i.number: (i.status, i.net_cents, i.vat_cents, i.total_cents)
                for i in session.scalars(select(Invoice))
            },
            "charges": session.execute(
                select(
                    Invoice.number,
                    InvoiceCharge.position,
                    InvoiceCharge.concept,
                    InvoiceCharge.net_cents,
                    InvoiceCharge.line_id,
                )
                .join(Invoice, Invoice.id == InvoiceCharge.invoice_id)
                .order_by(Invoice.number, InvoiceCharge.position)
            ).all(),
            "payments": {
                p.reference: (p.amount_cents, p.method, p.paid_on) for p in session.scalars(select(Payment))
            },
        }


def write_csv(path: Path, rows: list[dict], fields: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def as_files(tmp_path: Path, invoices: list[dict], payments=(), fmt="csv", company=MOBILE) -> list[Path]:
    """The document's invoices, charges and payments as one file per kind."""
    heads = [{"company": company} | {k: v for k, v in i.items() if k != "charges"} for i in invoices]
    charges = [{"company": company, "invoice": i["number"]} | c for i in invoices for c in i["charges"]]
    pays = [{"company": company} | p for p in payments]
    files = []
    for name, rows in (("invoices", heads), ("charges", charges), ("payments", pays)):
        if not rows:
            continue
        if fmt == "csv":
            fields = CHARGE_FIELDS if name == "charges" else list(rows[0])
            files.append(
                write_csv(
                    tmp_path / f"{name}.csv",
                    [{k: ("" if v is None else v) for k, v in r.items()} for r in rows],
                    fields,
                )
            )
        else:
            files.append(write_jsonl(tmp_path / f"{name}.jsonl", rows))
    return files


# ---- the records document -----------------------------------------------------------------------------------


def test_invoices_charges_and_payments_of_the_document_import(db_session):
    counts = run(db_session, document(two_invoices(), [PAYMENT]))
    assert (counts["invoices"].created, counts["charges"].created, counts["payments"].created) == (2, 5, 1)
    data = stored(db_session)
    assert data["invoices"] == {"FV-1": ("issued", 3833, 805, 4638), "FV-2": ("paid", 2000, 420, 2420)}
    assert [(n, p, c, net) for n, p, c, net, _ in data["charges"]] == [
        ("FV-1", 1, "fee", 1000),
        ("FV-1", 2, "fee", 2500),
        ("FV-1", 3, "usage", 333),
        ("FV-2", 1, "fee", 2500),
        ("FV-2", 2, "discount", -500),
    ]
    assert data["charges"][0][4] is None  # the account's own fee
    assert len({line for *_, line in data["charges"][1:]}) == 1  # one line, written two ways
    assert data["payments"] == {"PAY-1": (2420, "direct_debit", date(2026, 9, 20))}


def test_importing_the_same_document_again_changes_nothing(db_session):
    run(db_session, document(two_invoices(), [PAYMENT]))
    before = stored(db_session)
    counts = run(db_session, document(two_invoices(), [PAYMENT]))
    assert all(not (c.created or c.updated or getattr(c, "removed", 0)) for c in counts.values())
    assert (counts["invoices"].unchanged, counts["charges"].unchanged, counts["payments"].unchanged) == (
        2,
        5,
        1,
    )
    assert stored(db_session) == before


def test_a_changed_status_updates_the_invoice(db_session):
    run(db_session, document(two_invoices()))
    changed = two_invoices()
    changed[0]["status"] = "overdue"
    counts = run(db_session, document(changed))
    assert (counts["invoices"].updated, counts["invoices"].unchanged, counts["charges"].updated) == (1, 1, 0)
    assert stored(db_session)["invoices"]["FV-1"][0] == "overdue"


def test_an_invoice_given_other_charges_gets_exactly_those(db_session):
    run(db_session, document(two_invoices()))
    changed = two_invoices()
    changed[0] = invoice("FV-1", [charge(None, "fee", 1000), charge("622222222", "usage", 400)])
    counts = run(db_session, document(changed))
    assert (counts["charges"].updated, counts["charges"].removed, counts["charges"].created) == (1, 1, 0)
    assert [(p, c, net) for n, p, c, net, _ in stored(db_session)["charges"] if n == "FV-1"] == [
        (1, "fee", 1000),
        (2, "usage", 400),
    ]


def test_an_invoice_without_charges_in_the_import_keeps_its_stored_ones(db_session):
    run(db_session, document(two_invoices()))
    changed = two_invoices()
    for item in changed:
        del item["charges"]
    changed[1]["status"] = "overdue"
    counts = run(db_session, document(changed))
    assert (counts["invoices"].updated, counts["charges"].created, counts["charges"].removed) == (1, 0, 0)
    assert len(stored(db_session)["charges"]) == 5


def test_billing_account_details_import_and_stay_when_not_given(db_session):
    details = {
        "CM": {
            "mandate": {"reference": "MGD-000123", "signed_on": "2024-03-01"},
            "billing_address": {"address": "Calle  Mayor 1", "postcode": "28013", "city": "Madrid"},
            "invoice_delivery": "email",
            "einvoice_emails": ["Facturas@Example.es", "conta@example.es"],
        }
    }
    run(db_session, document(accounts=details))
    with operator_scope(db_session, "test"):
        account = db_session.scalar(select(BillingAccount).where(BillingAccount.ref == "CM"))
        fixed = db_session.scalar(select(BillingAccount).where(BillingAccount.ref == "CF"))
    assert (account.mandate_reference, account.mandate_signed_on) == ("MGD-000123", date(2024, 3, 1))
    assert (
        account.billing_address,
        account.billing_postcode,
        account.billing_city,
        account.billing_province,
    ) == (
        "Calle Mayor 1",
        "28013",
        "Madrid",
        "Madrid",
    )
    assert (account.invoice_delivery, account.einvoice_emails) == (
        "email",
        "facturas@example.es conta@example.es",
    )
    assert (fixed.invoice_delivery, fixed.billing_postcode) == ("paper", None)
    counts = run(db_session, document())  # details not given: kept as stored
    assert counts["billing_accounts"].updated == 0
    with operator_scope(db_session, "test"):
        db_session.refresh(account)
    assert account.billing_postcode == "28013"


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        (
            {"billing_address": {"address": "x", "postcode": "2801", "city": "M"}},
            'billing_address.postcode: "2801" — a Spanish postcode has five digits',
        ),
        (
            {"billing_address": {"address": "x", "postcode": "53001", "city": "M"}},
            "no Spanish province has this postcode",
        ),
        (
            {"billing_address": {"address": "x", "postcode": "28001", "city": "M", "province": "Sevilla"}},
            'province: "Sevilla" — postcode 28001 is in Madrid',
        ),
        (
            {"billing_address": {"address": "x", "postcode": "28001"}},
            "billing_address.city: null — is required",
        ),
        ({"invoice_delivery": "email"}, "einvoice_emails: [] — must list one address or more"),
        (
            {"invoice_delivery": "paper", "einvoice_emails": ["a@example.es"]},
            "must be empty for invoices on paper",
        ),
        ({"invoice_delivery": "fax"}, 'invoice_delivery: "fax" — must be one of paper, email'),
        ({"invoice_delivery": "email", "einvoice_emails": ["no-at"]}, "einvoice_emails[0].email"),
        ({"mandate": {"reference": "é" * 3, "signed_on": "2024-01-01"}}, "mandate.reference"),
        (
            {"mandate": {"reference": "M-1", "signed_on": "01/01/2024"}},
            'mandate.signed_on: "01/01/2024" — must be a date written YYYY-MM-DD',
        ),
        ({"mandate": {"reference": "M-1"}}, "mandate.signed_on: null — is required"),
    ],
)
def test_billing_account_details_are_checked(db_session, details, expected):
    errors = errors_of(db_session, document(accounts={"CM": details}))
    assert any(expected in error and "companies[0].billing_accounts[1]" in error for error in errors), errors


# ---- the rules, each error at its place ----------------------------------------------------------------------


def bad(mutate) -> dict:
    invoices = two_invoices()
    mutate(invoices)
    return document(invoices, [PAYMENT])


RULES = [
    (lambda i: i[0].update(number="FV 1"), 'companies[0].invoices[0].number: "FV 1" — must be 1-40 letters'),
    (
        lambda i: i[1].update(number="FV-1"),
        'companies[0].invoices[1].number: "FV-1" — repeats companies[0].invoices[0]',
    ),
    (
        lambda i: i[0].update(status="lost"),
        'invoices[0].status: "lost" — must be one of issued, paid, overdue, disputed',
    ),
    (
        lambda i: i[0].update(billing_account="ZZ"),
        'invoices[0].billing_account: "ZZ" — the company has no billing account with this ref',
    ),
    (
        lambda i: i[0].update(issued_on="2026-10-32"),
        'invoices[0].issued_on: "2026-10-32" — must be a date written YYYY-MM-DD',
    ),
    (
        lambda i: i[0].update(period_end="2026-08-01"),
        'invoices[0].period_end: "2026-08-01" — must not be before period_start',
    ),
    (
        lambda i: i[0].update(due_on="2026-10-01"),
        'invoices[0].due_on: "2026-10-01" — must not be before issued_on',
    ),
    (lambda i: i[0].update(net_cents=12.5), "invoices[0].net_cents: 12.5 — must be whole cents"),
    (
        lambda i: i[0].update(total_cents=1),
        "invoices[0].total_cents: 1 — must be net_cents + vat_cents (4638)",
    ),
    (
        lambda i: i[0].update(net_cents=3834, total_cents=4639),
        "invoices[0].net_cents: 3834 — invoice FV-1: its charges add up to net 3833, VAT 805, total 4638",
    ),
    (lambda i: i[0].update(extra=1), "invoices[0].extra: 1 — is not a known field"),
    (lambda i: i[0].pop("due_on"), "invoices[0].due_on: null — is required"),
    (
        lambda i: i[0]["charges"][1].update(line="+34699999999"),
        'invoices[0].charges[1].line: "+34699999999" — the company has no line with this number',
    ),
    (
        lambda i: i[0]["charges"][1].update(line="+3491111111"),
        'invoices[0].charges[1].line: "+3491111111" — this is not a Spanish fixed or mobile number',
    ),
    (lambda i: i[0]["charges"][1].update(line="12"), 'invoices[0].charges[1].line: "12"'),
    (
        lambda i: i[0]["charges"][1].update(concept="gift"),
        'charges[1].concept: "gift" — must be one of fee, usage, one_off, discount, tax',
    ),
    (
        lambda i: i[0]["charges"][1].update(vat_rate="21.005"),
        'charges[1].vat_rate: "21.005" — must be a VAT rate in percent',
    ),
    (lambda i: i[0]["charges"][1].update(vat_rate="101"), 'charges[1].vat_rate: "101"'),
    (
        lambda i: i[0]["charges"][1].update(vat_cents=526, total_cents=3026),
        "charges[1].vat_cents: 526 — is not 21 % of net_cents 2500",
    ),
    (
        lambda i: i[0]["charges"][1].update(total_cents=1),
        "charges[1].total_cents: 1 — must be net_cents + vat_cents",
    ),
    (
        lambda i: i[1]["charges"][1].update(
            concept="discount", net_cents=500, vat_cents=105, total_cents=605
        ),
        "charges[1].net_cents: 500 — a discount cannot be positive",
    ),
    (lambda i: i[0]["charges"][1].update(description="\u0000"), "charges[1].description"),
    (lambda i: i[0]["charges"][1].update(description="x" * 201), 'charges[1].description: "xxx'),
    (lambda i: i[0]["charges"][1].pop("net_cents"), "charges[1].net_cents: null — is required"),
    (lambda i: i[0].update(charges={}), "invoices[0].charges: {} — must be a list"),
]


@pytest.mark.parametrize(("mutate", "expected"), RULES, ids=[rule[1][:60] for rule in RULES])
def test_each_rule_names_its_place_and_nothing_is_written(db_session, mutate, expected):
    errors = errors_of(db_session, bad(mutate))
    assert any(expected in error for error in errors), errors


@pytest.mark.parametrize(
    ("payment", "expected"),
    [
        ({"amount_cents": 0}, "payments[0].amount_cents: 0 — must be more than 0"),
        (
            {"method": "cheque"},
            'payments[0].method: "cheque" — must be one of direct_debit, transfer, card, other',
        ),
        ({"paid_on": ""}, 'payments[0].paid_on: "" — is required'),
        ({"reference": ""}, "payments[0].reference"),
        ({"billing_account": "NO"}, 'payments[0].billing_account: "NO"'),
    ],
)
def test_payment_rules(db_session, payment, expected):
    errors = errors_of(db_session, document(two_invoices(), [PAYMENT | payment]))
    assert any(expected in error for error in errors), errors


def test_a_repeated_payment_reference_is_refused(db_session):
    errors = errors_of(db_session, document(two_invoices(), [PAYMENT, PAYMENT | {"paid_on": "2026-09-21"}]))
    assert errors == ['companies[0].payments[1].reference: "PAY-1" — repeats companies[0].payments[0]']


def test_nothing_is_written_when_one_record_is_wrong(db_session):
    before = stored(db_session)
    errors_of(db_session, bad(lambda i: i[1].update(status="lost")))
    db_session.rollback()
    assert stored(db_session) == before
    with operator_scope(db_session, "test"):
        assert db_session.scalar(select(func.count()).select_from(Company)) == 0


# ---- files of one kind each ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_files_import_like_the_document_and_again_change_nothing(db_session, tmp_path, fmt):
    run(db_session, document())
    files = as_files(tmp_path, two_invoices(), [PAYMENT], fmt=fmt)
    counts = run(db_session, files=files)
    assert (counts["invoices"].created, counts["charges"].created, counts["payments"].created) == (2, 5, 1)
    first = stored(db_session)
    counts = run(db_session, files=[tmp_path])  # the directory: the same files
    assert (counts["invoices"].unchanged, counts["charges"].unchanged, counts["payments"].unchanged) == (
        2,
        5,
        1,
    )
    assert stored(db_session) == first
    assert first["invoices"]["FV-1"] == ("issued", 3833, 805, 4638)


def test_file_errors_name_the_file_line_and_field(db_session, tmp_path):
    run(db_session, document())
    invoices = two_invoices()
    invoices[1]["charges"][0]["net_cents"] = "25,00"
    invoices[0]["status"] = "lost"
    files = as_files(tmp_path, invoices)
    errors = errors_of(db_session, files=files)
    assert errors == [
        'invoices.csv line 2: status: "lost" — must be one of issued, paid, overdue, disputed',
        'charges.csv line 5: net_cents: "25,00" — must be whole cents: an integer between -10000000000000 and 10000000000000',
    ]


def test_charges_that_do_not_add_up_name_the_invoice_line(db_session, tmp_path):
    run(db_session, document())
    invoices = two_invoices()
    invoices[1]["vat_cents"] += 1
    invoices[1]["total_cents"] += 1
    errors = errors_of(db_session, files=as_files(tmp_path, invoices))
    assert errors == [
        "invoices.csv line 3: vat_cents: 421 — invoice FV-2: its charges add up to net 2000, VAT 420, total 2420 (cents)"
    ]


def test_charges_of_an_unknown_invoice_or_company(db_session, tmp_path):
    run(db_session, document())
    rows = [
        {"company": MOBILE, "invoice": "NOPE"} | charge(None, "fee", 100),
        {"company": "B00000000"} | {"invoice": "X"} | charge(None, "fee", 100),
        {"company": FIXED, "invoice": "Y"} | charge(None, "fee", 100),
    ]
    path = write_csv(
        tmp_path / "charges-october.csv", [{k: v or "" for k, v in r.items()} for r in rows], CHARGE_FIELDS
    )
    errors = errors_of(db_session, files=[path])
    assert errors == ['charges-october.csv line 3: company: "B00000000" — no company has this fiscal ID']
    db_session.rollback()
    run(db_session, document())
    rows[1]["company"] = FIXED
    path = write_csv(
        tmp_path / "charges-october.csv", [{k: v or "" for k, v in r.items()} for r in rows], CHARGE_FIELDS
    )
    assert errors_of(db_session, files=[path]) == [
        'charges-october.csv line 2: invoice: "NOPE" — the company has no invoice with this number',
        'charges-october.csv line 3: invoice: "X" — the company has no invoice with this number',
        'charges-october.csv line 4: invoice: "Y" — the company has no invoice with this number',
    ]


def test_a_stored_invoices_charges_can_be_replaced_by_a_charges_file(db_session, tmp_path):
    run(db_session, document(two_invoices()))
    rows = [{"company": MOBILE, "invoice": "FV-2"} | charge("622222222", "fee", 2000)]
    counts = run(db_session, files=[write_jsonl(tmp_path / "charges.jsonl", rows)])
    assert (counts["charges"].updated, counts["charges"].removed) == (1, 1)
    rows = [{"company": MOBILE, "invoice": "FV-2"} | charge("622222222", "fee", 1999)]
    errors = errors_of(db_session, files=[write_jsonl(tmp_path / "charges.jsonl", rows)])
    assert errors == [
        'charges.jsonl line 1: invoice: "FV-2" — the invoice has net 2000, VAT 420, total 2420; its charges '
        "here: its charges add up to net 1999, VAT 420, total 2419 (cents)"
    ]


def test_charges_of_one_invoice_must_follow_one_another(db_session, tmp_path):
    run(db_session, document())
    files = as_files(tmp_path, two_invoices(), fmt="jsonl")
    lines = files[1].read_text().splitlines()
    files[1].write_text("\n".join([lines[0], lines[3], *lines[1:3], lines[4]]) + "\n")
    errors = errors_of(db_session, files=files)
    assert errors == [
        'charges.jsonl line 3: invoice: "FV-1" — the charges of an invoice must follow one another '
        "(its first is charges.jsonl line 1)",
        'charges.jsonl line 5: invoice: "FV-2" — the charges of an invoice must follow one another '
        "(its first is charges.jsonl line 2)",
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "charges.csv line 1: null — is empty"),
        ("company,invoice\n", "charges.csv line 1: concept: null — is required"),
        (",".join(CHARGE_FIELDS) + ",colour\n", 'charges.csv line 1: colour: "" — is not a known field'),
        (
            ",".join(CHARGE_FIELDS) + ",line\n",
            'charges.csv line 1: line: "line" — is named twice in the header',
        ),
        (
            ",".join(CHARGE_FIELDS) + "\nX1234567L,FV-1\n",
            "charges.csv line 2: 2 — has this many fields; the header has 9",
        ),
        (",".join(CHARGE_FIELDS) + '\n"unclosed\n', "charges.csv line 2"),
    ],
)
def test_bad_csv_files(db_session, tmp_path, content, expected):
    run(db_session, document())
    path = tmp_path / "charges.csv"
    path.write_text(content, encoding="utf-8")
    errors = errors_of(db_session, files=[path])
    assert any(error.startswith(expected) for error in errors), errors


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"company": 1\n', "charges.jsonl line 1: null — not JSON"),
        (b"[1]\n", "charges.jsonl line 1: null — must be a JSON object"),
        (b"\n\n\xff\n", "charges.jsonl line 3: null — not UTF-8 text"),
        (b'{"company": "X1234567L"}\n', "charges.jsonl line 1: concept: null — is required"),
    ],
)
def test_bad_jsonl_files(db_session, tmp_path, content, expected):
    run(db_session, document())
    path = tmp_path / "charges.jsonl"
    path.write_bytes(content)
    errors = errors_of(db_session, files=[path])
    assert any(error.startswith(expected) for error in errors), errors


def test_a_file_whose_name_says_no_kind_is_refused(db_session, tmp_path):
    path = write_jsonl(tmp_path / "facturas.jsonl", [])
    assert errors_of(db_session, files=[path]) == [
        f"{path}: null — is not a billing file: name it invoices, charges, payments[-anything].csv|.jsonl"
    ]


def test_files_are_staged_in_batches(db_session, tmp_path, monkeypatch):
    """Memory stays flat: records go to the staging table a batch at a time, whatever the file's size."""
    monkeypatch.setattr(staging, "BUFFER", 2)
    sizes = []
    flush = staging.Stage.flush

    def watched(self, kind=None):
        sizes.append(max(len(rows) for rows in self.buffers.values()))
        flush(self, kind)

    monkeypatch.setattr(staging.Stage, "flush", watched)
    run(db_session, document())
    counts = run(db_session, files=as_files(tmp_path, two_invoices(), [PAYMENT]))
    assert counts["charges"].created == 5
    assert max(sizes) <= 2 and len(sizes) >= 3


def test_the_documented_example_files_import(db_session):
    docs = Path(__file__).parents[2] / "docs"
    counts = import_files(
        db_session, (docs / "records-example.json").read_text(encoding="utf-8"), [docs / "billing-example"]
    )
    assert (counts["invoices"].created, counts["charges"].created, counts["payments"].created) == (3, 8, 1)
    assert stored(db_session)["invoices"]["FM-2026-000123"] == ("paid", 4910, 1032, 5942)
    again = import_files(db_session, None, [docs / "billing-example"])
    assert (again["invoices"].unchanged, again["charges"].unchanged, again["payments"].unchanged) == (3, 8, 1)

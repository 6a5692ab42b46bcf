"""Invoice summaries (``mgd.billing.summaries``): every invoice's sums by concept and VAT rate and by line are
those of its charges, after an import, a re-import with changes, and the factories' invoices; an unchanged
re-import writes nothing; the pages read them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import case, delete, func, select, update

from mgd.billing import services, summaries
from mgd.billing.models import (
    ACCOUNT,
    CHARGE_CONCEPTS,
    Invoice,
    InvoiceCharge,
    InvoiceLineTotal,
    InvoiceVatTotal,
)
from mgd.db import operator_scope, tenant_scope
from mgd.tenants.models import MembershipScope
from mgd.tenants.records.validate import RecordsInvalid
from tests.billing.test_import import charge, document, invoice, run, two_invoices, write_jsonl
from tests.billing.test_services import two_companies_billed
from tests.factories import make_invoice, make_member


@pytest.fixture
def acme(db_session):
    return two_companies_billed(db_session)


def summary_mismatches(session) -> list:
    """Rows (table, key, stored sums, charges' sums) where an invoice's summaries differ from the sums of its
    charges, in both summary tables, over every company; [] when all agree (and every row has its invoice)."""
    amounts = ("net_cents", "vat_cents", "total_cents")
    line = func.coalesce(InvoiceCharge.line_id, ACCOUNT)
    by_concept = [
        func.sum(case((InvoiceCharge.concept == concept, InvoiceCharge.net_cents), else_=0))
        for concept in CHARGE_CONCEPTS
    ]
    sums = [func.sum(getattr(InvoiceCharge, name)) for name in amounts]
    found = []
    with operator_scope(session, "test"):
        for model, key, charged_key, charged_sums, stored_sums in (
            (
                InvoiceLineTotal,
                ("line_id", "vat_rate"),
                (line, InvoiceCharge.vat_rate),
                by_concept + sums,
                [f"{concept}_cents" for concept in CHARGE_CONCEPTS] + list(amounts),
            ),
            (
                InvoiceVatTotal,
                ("concept", "vat_rate"),
                (InvoiceCharge.concept, InvoiceCharge.vat_rate),
                sums,
                list(amounts),
            ),
        ):
            charged = session.execute(
                select(InvoiceCharge.invoice_id, *charged_key, *charged_sums).group_by(
                    InvoiceCharge.invoice_id, *charged_key
                )
            ).all()
            stored = session.execute(
                select(model.invoice_id, *(getattr(model, n) for n in (*key, *stored_sums)))
            ).all()
            width = len(key) + 1
            want = {tuple(row[:width]): tuple(int(v) for v in row[width:]) for row in charged}
            have: dict = {}
            for row in stored:
                at = tuple(row[:width])
                assert at not in have, f"{model.__tablename__}: {at} stored twice"
                have[at] = tuple(row[width:])
            found += [
                (model.__tablename__, at, have.get(at), want.get(at))
                for at in want.keys() | have.keys()
                if have.get(at) != want.get(at)
            ]
        orphans = select(InvoiceLineTotal).where(
            ~select(Invoice.id)
            .where(Invoice.tenant_id == InvoiceLineTotal.tenant_id, Invoice.id == InvoiceLineTotal.invoice_id)
            .exists()
        )
        found += [("without its invoice", row.invoice_id) for row in session.scalars(orphans)]
    return found


def summary_ids(session) -> set:
    """Each stored summary row as written: a rewritten row (deleted and inserted again) is a new one."""
    with operator_scope(session, "test"):
        line_rows = session.execute(
            select(
                InvoiceLineTotal.invoice_id,
                InvoiceLineTotal.line_id,
                InvoiceLineTotal.vat_rate,
                InvoiceLineTotal.written,
            )
        )
        return {
            *(("line", *row) for row in line_rows),
            *(("vat", i) for i in session.scalars(select(InvoiceVatTotal.id))),
        }


def test_the_import_writes_each_invoices_summaries(db_session):
    run(db_session, document(two_invoices()))
    assert summary_mismatches(db_session) == []
    with operator_scope(db_session, "test"):
        rows = db_session.execute(
            select(
                Invoice.number,
                InvoiceLineTotal.line_id == ACCOUNT,
                InvoiceLineTotal.fee_cents,
                InvoiceLineTotal.usage_cents,
                InvoiceLineTotal.discount_cents,
                InvoiceLineTotal.net_cents,
            )
            .join(Invoice, Invoice.id == InvoiceLineTotal.invoice_id)
            .order_by(Invoice.number, InvoiceLineTotal.line_id == ACCOUNT)
        ).all()
    # FV-1: the line's fee and usage, the account's fee; FV-2: the line's fee and discount (one row a line)
    assert rows == [
        ("FV-1", False, 2500, 333, 0, 2833),
        ("FV-1", True, 1000, 0, 0, 1000),
        ("FV-2", False, 2500, 0, -500, 2000),
    ]


def test_an_unchanged_reimport_writes_no_summary(db_session, caplog):
    run(db_session, document(two_invoices()))
    before = summary_ids(db_session)
    caplog.set_level("INFO", logger="mgd.billing.records.load")
    run(db_session, document(two_invoices()))
    assert summary_ids(db_session) == before  # nothing deleted and inserted again
    assert "summaries: 0 rows deleted, 0 inserted" in caplog.text


def test_changed_charges_change_the_summaries_and_only_theirs(db_session):
    run(db_session, document(two_invoices()))
    before = summary_ids(db_session)
    changed = two_invoices()
    # FV-1: the usage grows, the line's fee goes, a tax at another rate comes; FV-2 unchanged.
    changed[0] = invoice(
        "FV-1", [charge(None, "fee", 1000), charge("622222222", "usage", 400), charge(None, "tax", 50, "10")]
    )
    run(db_session, document(changed))
    assert summary_mismatches(db_session) == []
    after = summary_ids(db_session)
    assert len(before - after) == 3  # FV-1's line row, its 21 % fee and usage sums: replaced
    assert len(before & after) == 4  # the account's unchanged 21 % row, FV-2's line row and two sums: kept
    with operator_scope(db_session, "test"):
        fv1 = db_session.scalar(select(Invoice).where(Invoice.number == "FV-1"))
        vat = db_session.execute(
            select(InvoiceVatTotal.concept, InvoiceVatTotal.vat_rate, InvoiceVatTotal.net_cents)
            .where(InvoiceVatTotal.invoice_id == fv1.id)
            .order_by(InvoiceVatTotal.concept)
        ).all()
    assert vat == [
        ("fee", Decimal("21.00"), 1000),
        ("tax", Decimal("10.00"), 50),
        ("usage", Decimal("21.00"), 400),
    ]


def test_a_charges_file_replacing_an_invoices_charges_replaces_its_summaries(db_session, tmp_path):
    run(db_session, document(two_invoices()))
    rows = [{"company": "X1234567L", "invoice": "FV-2"} | charge("622222222", "fee", 2000)]
    run(db_session, files=[write_jsonl(tmp_path / "charges.jsonl", rows)])
    assert summary_mismatches(db_session) == []


def test_a_refused_import_leaves_the_summaries(db_session, tmp_path):
    run(db_session, document(two_invoices()))
    before = summary_ids(db_session)
    rows = [{"company": "X1234567L", "invoice": "FV-2"} | charge("622222222", "fee", 1999)]  # does not add up
    with pytest.raises(RecordsInvalid):
        run(db_session, files=[write_jsonl(tmp_path / "charges.jsonl", rows)])
    assert summary_ids(db_session) == before
    assert summary_mismatches(db_session) == []


def test_refresh_invoices_follows_charges_changed_elsewhere_and_is_idempotent(db_session, acme):
    company, invoice_id = acme["company"], acme["invoices"][-1].id
    assert summary_mismatches(db_session) == []
    with tenant_scope(db_session, company.id):
        db_session.execute(
            update(InvoiceCharge)
            .where(InvoiceCharge.invoice_id == invoice_id, InvoiceCharge.position == 1)
            .values(net_cents=InvoiceCharge.net_cents + 100, total_cents=InvoiceCharge.total_cents + 100)
        )
    assert summary_mismatches(db_session) != []  # stale until refreshed
    written = summaries.refresh_invoices(db_session, company.id, [invoice_id])
    assert (written.deleted, written.inserted) == (
        2,
        2,
    )  # the account's fee: by line, and by concept and rate
    assert summary_mismatches(db_session) == []
    assert summaries.refresh_invoices(db_session, company.id, [invoice_id]) == summaries.Written(0, 0)


def test_an_invoice_left_without_charges_is_left_without_summaries(db_session, acme):
    company, invoice_id = acme["company"], acme["invoices"][0].id
    with tenant_scope(db_session, company.id):
        db_session.execute(delete(InvoiceCharge).where(InvoiceCharge.invoice_id == invoice_id))
    summaries.refresh_invoices(db_session, company.id, [invoice_id])
    with tenant_scope(db_session, company.id):
        for model in (InvoiceLineTotal, InvoiceVatTotal):
            assert db_session.scalar(select(func.count()).where(model.invoice_id == invoice_id)) == 0
    assert summary_mismatches(db_session) == []
    assert summaries.refresh_invoices(db_session, company.id, []) == summaries.Written(0, 0)


def test_a_refresh_for_one_company_never_touches_anothers_invoices(db_session, acme):
    with operator_scope(db_session, "test"):
        other = db_session.scalar(select(Invoice.id).where(Invoice.tenant_id == acme["other"].id))
        db_session.execute(delete(InvoiceCharge).where(InvoiceCharge.invoice_id == other))
    before = summary_ids(db_session)
    # Another company's invoice id passed by mistake: the company's scope keeps it out.
    assert summaries.refresh_invoices(db_session, acme["company"].id, [other]) == summaries.Written(0, 0)
    assert summary_ids(db_session) == before


def test_the_detail_and_spend_read_the_summaries_not_the_charges(db_session, acme):
    """Shown by tampering: summaries changed by hand show on the pages (never done outside this test)."""
    company, invoice = acme["company"], acme["invoices"][-1]
    with tenant_scope(db_session, company.id):
        db_session.execute(
            update(InvoiceVatTotal)
            .where(InvoiceVatTotal.invoice_id == invoice.id, InvoiceVatTotal.concept == "fee")
            .values(net_cents=InvoiceVatTotal.net_cents + 7, total_cents=InvoiceVatTotal.total_cents + 7)
        )
        db_session.execute(
            update(InvoiceLineTotal)
            .where(InvoiceLineTotal.invoice_id == invoice.id, InvoiceLineTotal.line_id != ACCOUNT)
            .values(
                total_cents=InvoiceLineTotal.total_cents + 1000,
                net_cents=InvoiceLineTotal.net_cents + 1000,
                fee_cents=InvoiceLineTotal.fee_cents + 1000,
            )
        )
    detail = services.invoice_detail(db_session, acme["admin"], invoice)
    assert [(r.rate, r.base_cents) for r in detail.vat_breakdown] == [
        (Decimal("21.00"), invoice.net_cents + 7)
    ]
    top = services.top_lines(db_session, acme["admin"], periods=1)
    one, two = acme["lines"]
    assert {(spend.line.id, spend.total_cents) for spend in top} == {
        (one.id, 2000 + 420 + 350 + 74 + 1000),  # its summary row, +1000
        (two.id, 1500 + 315 - 500 - 105 + 1000),
    }


def test_a_limited_members_vat_breakdown_covers_only_its_lines(db_session, acme):
    company, invoice = acme["company"], acme["invoices"][-1]
    _one, two = acme["lines"]
    member = make_member(db_session, company.id, "limited@example.es", role="billing")
    with tenant_scope(db_session, company.id):
        member.limited = True
        db_session.add(MembershipScope(tenant_id=company.id, membership_id=member.id, line_id=two.id))
        db_session.flush()
    limited = services.invoice_detail(db_session, member, invoice)
    assert [(r.rate, r.base_cents, r.vat_cents) for r in limited.vat_breakdown] == [
        (Decimal("21.00"), 1500 - 500, 315 - 105)
    ]
    full = services.invoice_detail(db_session, acme["admin"], invoice)
    assert [(r.base_cents, r.vat_cents) for r in full.vat_breakdown] == [
        (invoice.net_cents, invoice.vat_cents)
    ]


def test_factories_make_summaries_for_every_invoice(db_session, acme):
    company, account = acme["company"], acme["account"]
    one, _two = acme["lines"]
    make_invoice(
        db_session,
        company,
        account,
        [(one, "fee", 1000), (None, "tax", 10), (one, "fee", 5)],
        rate=Decimal("10.00"),
    )
    make_invoice(db_session, company, account, [], issued_on=date(2026, 11, 5))
    assert summary_mismatches(db_session) == []

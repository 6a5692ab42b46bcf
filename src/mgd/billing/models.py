"""Invoices, their charges and payments: operator records of a company's billing accounts (records import).

Money is integer euro cents (``BigInteger``), never float. Every table is tenant-owned, with
``(tenant_id, id)`` unique and keys to other tenant tables that pair ``tenant_id`` (Citus;
``tests/test_tenant_keys.py``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Enum,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mgd.db import Base, BigId, TenantOwned, Timestamped
from mgd.tenants.models import BillingAccount, Line

INVOICE_STATUSES = ("issued", "paid", "overdue", "disputed")
#: What a charge is for: the monthly fees, metered usage, a one-off charge, a discount (negative) or a tax.
CHARGE_CONCEPTS = ("fee", "usage", "one_off", "discount", "tax")
#: ``InvoiceLineTotal.line_id`` of the charges of the account itself (no line).
ACCOUNT = 0
PAYMENT_METHODS = ("direct_debit", "transfer", "card", "other")


def _choice(name: str, values: tuple[str, ...]) -> Enum:
    return Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


class Invoice(TenantOwned, Timestamped, Base):
    """One invoice of a billing account: number (unique in the company), period, dates, amounts, status."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "id"),  # the Citus key; target of the charges' tenant-checked key
        # The list pages walk (issued_on, id) backwards, per company and per billing account (keyset pages).
        Index("ix_invoices_tenant_id_issued_on", "tenant_id", "issued_on", "id"),
        Index("ix_invoices_tenant_id_billing_account_id", "tenant_id", "billing_account_id", "issued_on"),
        ForeignKeyConstraint(
            ["tenant_id", "billing_account_id"],
            ["billing_accounts.tenant_id", "billing_accounts.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("total_cents = net_cents + vat_cents", name="total_is_net_plus_vat"),
        CheckConstraint("period_start <= period_end", name="period"),
        CheckConstraint("issued_on <= due_on", name="due_after_issue"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)  # no separate key to companies: the account's covers it
    billing_account_id: Mapped[int] = mapped_column(BigId)
    number: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    net_cents: Mapped[int] = mapped_column(BigInteger)
    vat_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(_choice("invoice_status", INVOICE_STATUSES))

    billing_account: Mapped[BillingAccount] = relationship(
        primaryjoin="and_(Invoice.tenant_id == BillingAccount.tenant_id, "
        "Invoice.billing_account_id == BillingAccount.id)",
        foreign_keys="[Invoice.tenant_id, Invoice.billing_account_id]",
        viewonly=True,
    )


class InvoiceCharge(TenantOwned, Base):
    """One charge of an invoice, for one line or (``line_id`` NULL) for the whole account. ``position`` orders
    an invoice's charges as the operator sent them and is their key in the records import.

    The line is named by ``(tenant_id, line_id)`` without a database foreign key: the records import, the only
    writer, resolves every line among the company's own, and lines are never deleted (they are cancelled).
    A key checked row by row would double the cost of loading millions of charges (bench/README.md)."""

    __tablename__ = "invoice_charges"
    __table_args__ = (
        UniqueConstraint("tenant_id", "invoice_id", "position"),
        UniqueConstraint("tenant_id", "id"),
        # An invoice's detail is read a page of lines at a time: which lines it bills, and their charges.
        Index("ix_invoice_charges_tenant_id_invoice_id_line_id", "tenant_id", "invoice_id", "line_id"),
        ForeignKeyConstraint(
            ["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"], ondelete="CASCADE"
        ),
        CheckConstraint("total_cents = net_cents + vat_cents", name="total_is_net_plus_vat"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)
    invoice_id: Mapped[int] = mapped_column(BigId)
    position: Mapped[int] = mapped_column(Integer)
    line_id: Mapped[int | None] = mapped_column(BigId)
    concept: Mapped[str] = mapped_column(_choice("charge_concept", CHARGE_CONCEPTS))
    description: Mapped[str] = mapped_column(String(200))
    net_cents: Mapped[int] = mapped_column(BigInteger)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))  # percent: 21.00
    vat_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)

    line: Mapped[Line | None] = relationship(
        primaryjoin="and_(InvoiceCharge.tenant_id == Line.tenant_id, InvoiceCharge.line_id == Line.id)",
        foreign_keys="[InvoiceCharge.tenant_id, InvoiceCharge.line_id]",
        viewonly=True,
    )


class Payment(TenantOwned, Timestamped, Base):
    """A payment received on a billing account; its reference is unique in the company."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "reference"),
        UniqueConstraint("tenant_id", "id"),
        Index("ix_payments_tenant_id_paid_on", "tenant_id", "paid_on", "id"),
        Index("ix_payments_tenant_id_billing_account_id", "tenant_id", "billing_account_id", "paid_on"),
        ForeignKeyConstraint(
            ["tenant_id", "billing_account_id"],
            ["billing_accounts.tenant_id", "billing_accounts.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)
    billing_account_id: Mapped[int] = mapped_column(BigId)
    paid_on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(_choice("payment_method", PAYMENT_METHODS))
    reference: Mapped[str] = mapped_column(String(40))

    billing_account: Mapped[BillingAccount] = relationship(
        primaryjoin="and_(Payment.tenant_id == BillingAccount.tenant_id, "
        "Payment.billing_account_id == BillingAccount.id)",
        foreign_keys="[Payment.tenant_id, Payment.billing_account_id]",
        viewonly=True,
    )


class InvoiceVatTotal(TenantOwned, Base):
    """An invoice's charges summed by concept and VAT rate (a handful of rows per invoice): the VAT breakdown
    (summed by rate) and the totals by concept, read by the detail page and the PDF instead of the charges.
    Written only by ``billing.summaries`` from the charges, whenever they change (``docs/billing.md``)."""

    __tablename__ = "invoice_vat_totals"
    __table_args__ = (
        UniqueConstraint("tenant_id", "invoice_id", "concept", "vat_rate"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(
            ["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"], ondelete="CASCADE"
        ),
        CheckConstraint("total_cents = net_cents + vat_cents", name="total_is_net_plus_vat"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)
    invoice_id: Mapped[int] = mapped_column(BigId)
    concept: Mapped[str] = mapped_column(_choice("charge_concept", CHARGE_CONCEPTS))
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    net_cents: Mapped[int] = mapped_column(BigInteger)
    vat_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)


class InvoiceLineTotal(TenantOwned, Base):
    """An invoice's charges summed by line and VAT rate, with the net amount of each concept in a column of
    its own: the PDF's summary by line, the spend page, and a limited member's VAT breakdown (its lines'
    rows). About one row per line (instead of ~20 charges), keyed by what it sums: ``line_id`` is
    ``ACCOUNT`` (0) for the account's own charges, which name no line. Written only by ``billing.summaries``,
    which deletes and inserts rows but never updates one; ``written`` tells which refresh wrote a row (the
    PDF cache's fingerprint reads it).

    Built to be cheap to write (bench/README.md, "Billing import"): no surrogate ``id`` (nothing refers to
    a row), the primary key as its only index, and no database keys (each would be checked row by row on
    every import): the line is named as in ``InvoiceCharge``, and the invoice and company are those of
    charges that have keys to both. Nothing deletes invoices or companies; code that comes to must delete
    these rows with them (``tests/billing/test_summaries.py`` checks every row has its invoice)."""

    __tablename__ = "invoice_line_totals"
    __table_args__ = (
        CheckConstraint("total_cents = net_cents + vat_cents", name="total_is_net_plus_vat"),
        CheckConstraint(
            "net_cents = " + " + ".join(f"{concept}_cents" for concept in CHARGE_CONCEPTS),
            name="net_is_the_concepts",
        ),
    )

    tenant_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    line_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), primary_key=True)
    fee_cents: Mapped[int] = mapped_column(BigInteger)
    usage_cents: Mapped[int] = mapped_column(BigInteger)
    one_off_cents: Mapped[int] = mapped_column(BigInteger)
    discount_cents: Mapped[int] = mapped_column(BigInteger)
    tax_cents: Mapped[int] = mapped_column(BigInteger)
    net_cents: Mapped[int] = mapped_column(BigInteger)
    vat_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    written: Mapped[int] = mapped_column(BigInteger)

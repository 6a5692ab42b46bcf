"""Billing: invoices, their charges and payments (tenant tables, Row-Level Security like the others), and the
billing account's direct-debit mandate, billing address and invoice delivery preference.

Money is integer euro cents. On PostgreSQL the three new tables get the forced ``tenant_isolation`` policy of
every tenant table (as ``7c1e5d2a9b40`` made it and ``5e691ffea26d`` keyed it); ``mgd db upgrade`` grants the
portal's role their use, as for every table.

Revision ID: b937207871b2
Revises: 3730f3d402f3
Create Date: 2026-12-01 12:07:29.560030
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b937207871b2"
down_revision: str | None = "3730f3d402f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("invoices", "invoice_charges", "payments")
# The policy of every tenant table since 5e691ffea26d (the company compared directly, the operator key in a
# sub-select that runs once per statement).
VISIBLE = (
    "tenant_id = NULLIF(current_setting('mgd.tenant_id', true), '')::bigint "
    "OR (SELECT mgd_operator_scope()) = 'on'"
)


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("billing_account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("net_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_cents", sa.BigInteger(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "issued",
                "paid",
                "overdue",
                "disputed",
                name="invoice_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("issued_on <= due_on", name=op.f("ck_invoices_due_after_issue")),
        sa.CheckConstraint("period_start <= period_end", name=op.f("ck_invoices_period")),
        sa.CheckConstraint(
            "total_cents = net_cents + vat_cents", name=op.f("ck_invoices_total_is_net_plus_vat")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "billing_account_id"],
            ["billing_accounts.tenant_id", "billing_accounts.id"],
            name=op.f("fk_invoices_tenant_id_billing_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_invoices_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_invoices_tenant_id_number")),
    )
    op.create_index(
        "ix_invoices_tenant_id_billing_account_id",
        "invoices",
        ["tenant_id", "billing_account_id", "issued_on"],
        unique=False,
    )
    op.create_index(
        "ix_invoices_tenant_id_issued_on", "invoices", ["tenant_id", "issued_on", "id"], unique=False
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("billing_account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "direct_debit",
                "transfer",
                "card",
                "other",
                name="payment_method",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_payments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "billing_account_id"],
            ["billing_accounts.tenant_id", "billing_accounts.id"],
            name=op.f("fk_payments_tenant_id_billing_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_payments_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "reference", name=op.f("uq_payments_tenant_id_reference")),
    )
    op.create_index(
        "ix_payments_tenant_id_billing_account_id",
        "payments",
        ["tenant_id", "billing_account_id", "paid_on"],
        unique=False,
    )
    op.create_index("ix_payments_tenant_id_paid_on", "payments", ["tenant_id", "paid_on", "id"], unique=False)
    op.create_table(
        "invoice_charges",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("invoice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "concept",
            sa.Enum(
                "fee",
                "usage",
                "one_off",
                "discount",
                "tax",
                name="charge_concept",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("net_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_rate", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("vat_cents", sa.BigInteger(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "total_cents = net_cents + vat_cents", name=op.f("ck_invoice_charges_total_is_net_plus_vat")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            name=op.f("fk_invoice_charges_tenant_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_charges")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_invoice_charges_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "invoice_id",
            "position",
            name=op.f("uq_invoice_charges_tenant_id_invoice_id_position"),
        ),
    )
    with op.batch_alter_table("billing_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mandate_reference", sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column("mandate_signed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("billing_address", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("billing_postcode", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("billing_city", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("billing_province", sa.String(length=40), nullable=True))
        # add_column does not create an Enum's CHECK constraint: it is declared explicitly.
        batch_op.add_column(
            sa.Column("invoice_delivery", sa.String(length=20), server_default="paper", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_billing_accounts_invoice_delivery"), "invoice_delivery IN ('paper', 'email')"
        )
        batch_op.add_column(sa.Column("einvoice_emails", sa.String(length=1000), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({VISIBLE}) WITH CHECK ({VISIBLE})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:  # dropped below with their tables; said here so the order is plain
            op.execute(f"DROP POLICY tenant_isolation ON {table}")
    with op.batch_alter_table("billing_accounts", schema=None) as batch_op:
        batch_op.drop_column("einvoice_emails")
        batch_op.drop_constraint(op.f("ck_billing_accounts_invoice_delivery"), type_="check")
        batch_op.drop_column("invoice_delivery")
        batch_op.drop_column("billing_province")
        batch_op.drop_column("billing_city")
        batch_op.drop_column("billing_postcode")
        batch_op.drop_column("billing_address")
        batch_op.drop_column("mandate_signed_on")
        batch_op.drop_column("mandate_reference")
    op.drop_table("invoice_charges")
    op.drop_index("ix_payments_tenant_id_paid_on", table_name="payments")
    op.drop_index("ix_payments_tenant_id_billing_account_id", table_name="payments")
    op.drop_table("payments")
    op.drop_index("ix_invoices_tenant_id_issued_on", table_name="invoices")
    op.drop_index("ix_invoices_tenant_id_billing_account_id", table_name="invoices")
    op.drop_table("invoices")

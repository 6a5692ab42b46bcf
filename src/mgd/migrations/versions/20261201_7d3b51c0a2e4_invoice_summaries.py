"""Invoice summaries: each invoice's charges summed by concept and VAT rate (``invoice_vat_totals``) and by
line, concept and VAT rate (``invoice_line_totals``), written with the charges (``mgd.billing.summaries``), so
that the detail's VAT breakdown, the PDF and the spend page never sum an invoice's charges (bench/README.md).

Tenant tables: on PostgreSQL they get the forced ``tenant_isolation`` policy of every tenant table (as
``b937207871b2`` gave the billing tables); ``mgd db upgrade`` grants the portal's role their use. The summaries of
the invoices already stored are computed here from their charges, as the operator's migration (no policy binds
the owner that runs it).

Revision ID: 7d3b51c0a2e4
Revises: e0aac472dff6
Create Date: 2026-12-01 15:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d3b51c0a2e4"
down_revision: str | None = "e0aac472dff6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("invoice_vat_totals", "invoice_line_totals")
# The policy of every tenant table since 5e691ffea26d (as in b937207871b2).
VISIBLE = (
    "tenant_id = NULLIF(current_setting('mgd.tenant_id', true), '')::bigint "
    "OR (SELECT mgd_operator_scope()) = 'on'"
)
CONCEPT = sa.Enum(
    "fee",
    "usage",
    "one_off",
    "discount",
    "tax",
    name="charge_concept",
    native_enum=False,
    create_constraint=True,
    length=20,
)


def _amounts(table: str) -> list:
    return [
        sa.Column("net_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_cents", sa.BigInteger(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "total_cents = net_cents + vat_cents", name=op.f(f"ck_{table}_total_is_net_plus_vat")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            name=op.f(f"fk_{table}_tenant_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f(f"uq_{table}_tenant_id_id")),
    ]


def upgrade() -> None:
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "invoice_vat_totals",
        sa.Column("id", id_type, autoincrement=True, nullable=False),
        sa.Column("tenant_id", id_type, nullable=False),
        sa.Column("invoice_id", id_type, nullable=False),
        sa.Column("concept", CONCEPT, nullable=False),
        sa.Column("vat_rate", sa.Numeric(precision=5, scale=2), nullable=False),
        *_amounts("invoice_vat_totals"),
        sa.UniqueConstraint(
            "tenant_id",
            "invoice_id",
            "concept",
            "vat_rate",
            name=op.f("uq_invoice_vat_totals_tenant_id_invoice_id_concept_vat_rate"),
        ),
    )
    op.create_table(
        "invoice_line_totals",
        sa.Column("id", id_type, autoincrement=True, nullable=False),
        sa.Column("tenant_id", id_type, nullable=False),
        sa.Column("invoice_id", id_type, nullable=False),
        sa.Column("line_id", id_type, nullable=True),
        sa.Column("concept", CONCEPT, nullable=False),
        sa.Column("vat_rate", sa.Numeric(precision=5, scale=2), nullable=False),
        *_amounts("invoice_line_totals"),
    )
    op.create_index(
        "ix_invoice_line_totals_tenant_id_invoice_id_line_id",
        "invoice_line_totals",
        ["tenant_id", "invoice_id", "line_id"],
    )
    op.execute(
        "INSERT INTO invoice_line_totals (tenant_id, invoice_id, line_id, concept, vat_rate, net_cents, vat_cents,"
        " total_cents) SELECT tenant_id, invoice_id, line_id, concept, vat_rate, sum(net_cents), sum(vat_cents),"
        " sum(total_cents) FROM invoice_charges GROUP BY tenant_id, invoice_id, line_id, concept, vat_rate"
    )
    op.execute(
        "INSERT INTO invoice_vat_totals (tenant_id, invoice_id, concept, vat_rate, net_cents, vat_cents,"
        " total_cents) SELECT tenant_id, invoice_id, concept, vat_rate, sum(net_cents), sum(vat_cents),"
        " sum(total_cents) FROM invoice_line_totals GROUP BY tenant_id, invoice_id, concept, vat_rate"
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({VISIBLE}) WITH CHECK ({VISIBLE})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:  # dropped below with their tables; said here so the order is plain
            op.execute(f"DROP POLICY tenant_isolation ON {table}")
    op.drop_index("ix_invoice_line_totals_tenant_id_invoice_id_line_id", table_name="invoice_line_totals")
    op.drop_table("invoice_line_totals")
    op.drop_table("invoice_vat_totals")

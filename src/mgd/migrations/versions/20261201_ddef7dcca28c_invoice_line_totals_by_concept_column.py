"""Invoice line totals by concept column: one row per invoice, line and VAT rate with the net amount of each
concept in a column (``fee_cents`` … ``tax_cents``), instead of a row per concept; keyed by what it sums, with
no surrogate ``id``, no other index and no foreign keys, and ``line_id`` 0 for the account's own charges. The
records import writes about half the rows it did, each with one index instead of three and no row-by-row key
checks (bench/README.md, "Billing import"). ``written`` stamps each row with the refresh that wrote it (the
PDF cache's fingerprint).

The rows are derived from the charges: the table is rebuilt in its new shape and filled from them, as the
operator's migration (no policy binds the owner that runs it); the downgrade does the same in the old shape.
The forced ``tenant_isolation`` policy is the one of every tenant table.

Revision ID: ddef7dcca28c
Revises: 20f405e67d11
Create Date: 2026-12-01 19:39:28.624768
"""

import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ddef7dcca28c"
down_revision: str | None = "20f405e67d11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "invoice_line_totals"
CONCEPTS = ("fee", "usage", "one_off", "discount", "tax")
# The policy of every tenant table since 5e691ffea26d (as in 7d3b51c0a2e4).
VISIBLE = (
    "tenant_id = NULLIF(current_setting('mgd.tenant_id', true), '')::bigint "
    "OR (SELECT mgd_operator_scope()) = 'on'"
)
SUMS = "sum(net_cents), sum(vat_cents), sum(total_cents)"


def _id_type():
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _amounts() -> list:
    return [
        sa.Column("net_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_cents", sa.BigInteger(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "total_cents = net_cents + vat_cents", name=op.f(f"ck_{TABLE}_total_is_net_plus_vat")
        ),
    ]


def _policy(postgres: bool) -> None:
    if postgres:
        op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {TABLE} USING ({VISIBLE}) WITH CHECK ({VISIBLE})")


def _drop(postgres: bool) -> None:
    if postgres:
        op.execute(f"DROP POLICY tenant_isolation ON {TABLE}")
    op.drop_table(TABLE)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_invoice_line_totals_tenant_id_invoice_id_line_id", table_name=TABLE)
    _drop(postgres)
    op.create_table(
        TABLE,
        sa.Column("tenant_id", _id_type(), nullable=False),
        sa.Column("invoice_id", _id_type(), nullable=False),
        sa.Column("line_id", _id_type(), nullable=False),
        sa.Column("vat_rate", sa.Numeric(precision=5, scale=2), nullable=False),
        *(sa.Column(f"{concept}_cents", sa.BigInteger(), nullable=False) for concept in CONCEPTS),
        *_amounts(),
        sa.Column("written", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "net_cents = " + " + ".join(f"{concept}_cents" for concept in CONCEPTS),
            name=op.f(f"ck_{TABLE}_net_is_the_concepts"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "invoice_id", "line_id", "vat_rate", name=op.f(f"pk_{TABLE}")),
    )
    by_concept = ", ".join(f"sum(CASE WHEN concept = '{c}' THEN net_cents ELSE 0 END)" for c in CONCEPTS)
    columns = ", ".join(f"{concept}_cents" for concept in CONCEPTS)
    op.execute(
        f"INSERT INTO {TABLE} (tenant_id, invoice_id, line_id, vat_rate, {columns}, net_cents, vat_cents,"  # noqa: S608
        f" total_cents, written) SELECT tenant_id, invoice_id, coalesce(line_id, 0), vat_rate, {by_concept},"
        f" {SUMS}, {time.time_ns()} FROM invoice_charges GROUP BY tenant_id, invoice_id, coalesce(line_id, 0),"
        " vat_rate"
    )
    _policy(postgres)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _drop(postgres)
    op.create_table(
        TABLE,
        sa.Column("id", _id_type(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", _id_type(), nullable=False),
        sa.Column("invoice_id", _id_type(), nullable=False),
        sa.Column("line_id", _id_type(), nullable=True),
        sa.Column(
            "concept",
            sa.Enum(*CONCEPTS, name="charge_concept", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column("vat_rate", sa.Numeric(precision=5, scale=2), nullable=False),
        *_amounts(),
        sa.ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            name=op.f(f"fk_{TABLE}_tenant_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f(f"uq_{TABLE}_tenant_id_id")),
    )
    op.create_index(
        "ix_invoice_line_totals_tenant_id_invoice_id_line_id", TABLE, ["tenant_id", "invoice_id", "line_id"]
    )
    op.execute(
        f"INSERT INTO {TABLE} (tenant_id, invoice_id, line_id, concept, vat_rate, net_cents, vat_cents,"  # noqa: S608
        f" total_cents) SELECT tenant_id, invoice_id, line_id, concept, vat_rate, {SUMS} FROM invoice_charges"
        " GROUP BY tenant_id, invoice_id, line_id, concept, vat_rate"
    )
    _policy(postgres)

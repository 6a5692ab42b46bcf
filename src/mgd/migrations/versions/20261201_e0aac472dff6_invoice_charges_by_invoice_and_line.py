"""Invoice charges by invoice and line: an invoice's detail page reads the lines it bills and their charges a
page of lines at a time, instead of every charge of a 10,000-line invoice (bench/README.md).

Revision ID: e0aac472dff6
Revises: 424f42a223f7
Create Date: 2026-12-01 13:03:13.349156
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e0aac472dff6"
down_revision: str | None = "424f42a223f7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_invoice_charges_tenant_id_invoice_id_line_id",
        "invoice_charges",
        ["tenant_id", "invoice_id", "line_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_invoice_charges_tenant_id_invoice_id_line_id", table_name="invoice_charges")

"""Indexes for the lines page's sorts by alias, cost centre, kind and status: ``(tenant_id, <key>, id)``, the
labels as ``coalesce(label, '')`` (the page's sort key: empty labels sort as the empty text), so that a page
of a large company walks an index from its key instead of sorting all the company's lines.

Revision ID: 5b1e8c3d7a40
Revises: a91d3c5e7b24
Create Date: 2026-12-02 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1e8c3d7a40"
down_revision: str | None = "a91d3c5e7b24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_lines_tenant_id_alias_id": ["tenant_id", sa.text("coalesce(alias, '')"), "id"],
    "ix_lines_tenant_id_cost_centre_id": ["tenant_id", sa.text("coalesce(cost_centre, '')"), "id"],
    "ix_lines_tenant_id_kind_id": ["tenant_id", "kind", "id"],
    "ix_lines_tenant_id_status_id": ["tenant_id", "status", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "lines", columns)


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="lines")

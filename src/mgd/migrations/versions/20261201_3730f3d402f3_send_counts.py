"""Send limits: how many SMS and emails each user, destination and company was sent per time window.

Revision ID: 3730f3d402f3
Revises: 510c2793338f
Create Date: 2026-12-01 09:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3730f3d402f3"
down_revision: str | None = "510c2793338f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_counts",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_seconds", "window_start", name=op.f("pk_send_counts")),
    )
    op.create_index("ix_send_counts_window_start", "send_counts", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_send_counts_window_start", table_name="send_counts")
    op.drop_table("send_counts")

"""Authenticator apps (TOTP): each user's secret and the last time step accepted, so a code works once.

Revision ID: 0f5b90b68fc0
Revises: 53b6e51307f8
Create Date: 2026-11-22 04:44:09.406892
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0f5b90b68fc0"
down_revision: str | None = "53b6e51307f8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_secret")

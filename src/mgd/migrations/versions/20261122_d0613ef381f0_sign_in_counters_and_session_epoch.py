"""Sign-in: consecutive failures, lockouts and the session epoch of each user.

Existing users start at zero (server default), which is what a new user gets from the model.

Revision ID: d0613ef381f0
Revises: d03a5083e3bb
Create Date: 2026-11-22 04:31:14.688004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d0613ef381f0"
down_revision: str | None = "d03a5083e3bb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(sa.Column("lockouts", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("lockouts")
        batch_op.drop_column("failed_logins")

"""Operator staff (advisors, supervisors) and who decided each Grandes Clientes access request, when and why.

Revision ID: 53b6e51307f8
Revises: d0613ef381f0
Create Date: 2026-11-22 04:40:02.023119
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "53b6e51307f8"
down_revision: str | None = "d0613ef381f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("decided_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decision_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_access_requests_decided_by_id_users"),
            "users",
            ["decided_by_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        # add_column does not create an Enum's CHECK constraint: it is declared explicitly.
        batch_op.add_column(sa.Column("staff_role", sa.String(length=20), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_users_staff_role"), "staff_role IN ('advisor', 'supervisor')"
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_staff_role"), type_="check")
        batch_op.drop_column("staff_role")

    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_access_requests_decided_by_id_users"), type_="foreignkey")
        batch_op.drop_column("decision_reason")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by_id")

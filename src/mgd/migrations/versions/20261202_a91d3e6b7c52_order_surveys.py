"""The survey after a completed order: ``order_surveys`` (the requester's 1-5 and optional comment, one per
order by ``UNIQUE (tenant_id, order_id)``, and the advisor who completed it, for the back office's results).
No key to the order, like ``chat_surveys``: the scores are kept whatever becomes of the order.

On PostgreSQL the table gets the forced ``tenant_isolation`` policy of every tenant table.

Revision ID: a91d3e6b7c52
Revises: c4a7e2d91f30
Create Date: 2026-12-02 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a91d3e6b7c52"
down_revision: str | None = "c4a7e2d91f30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The policy of every tenant table since 5e691ffea26d.
VISIBLE = (
    "tenant_id = NULLIF(current_setting('mgd.tenant_id', true), '')::bigint "
    "OR (SELECT mgd_operator_scope()) = 'on'"
)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "order_surveys",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("advisor_id", ID, nullable=True),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_order_surveys_score_range")),
        sa.ForeignKeyConstraint(
            ["advisor_id"], ["users.id"], name=op.f("fk_order_surveys_advisor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["companies.id"],
            name=op.f("fk_order_surveys_tenant_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_surveys")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_order_surveys_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "order_id", name=op.f("uq_order_surveys_tenant_id_order_id")),
    )
    with op.batch_alter_table("order_surveys", schema=None) as batch_op:
        batch_op.create_index("ix_order_surveys_created_at", ["created_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE order_surveys ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE order_surveys FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON order_surveys USING ({VISIBLE}) WITH CHECK ({VISIBLE})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY tenant_isolation ON order_surveys")
    with op.batch_alter_table("order_surveys", schema=None) as batch_op:
        batch_op.drop_index("ix_order_surveys_created_at")
    op.drop_table("order_surveys")

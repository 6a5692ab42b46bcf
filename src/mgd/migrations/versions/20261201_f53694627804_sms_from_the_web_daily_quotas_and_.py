"""SMS sent from the web (Orders, Send SMS): ``sms_quotas`` counts each company's SMS of a day (taken by one
conditional upsert), ``sms_batches`` records each send (who, from which line, how many); the outbox's SMS get
the number they are sent from (``outbox_messages.sender``; empty: the portal's own).

On PostgreSQL both new tables get the forced ``tenant_isolation`` policy of every tenant table.

Revision ID: f53694627804
Revises: 5b859190e0e6
Create Date: 2026-12-01 23:55:02.879031
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f53694627804"
down_revision: str | None = "5b859190e0e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("sms_quotas", "sms_batches")
VISIBLE = (
    "tenant_id = NULLIF(current_setting('mgd.tenant_id', true), '')::bigint "
    "OR (SELECT mgd_operator_scope()) = 'on'"
)


def upgrade() -> None:
    op.create_table(
        "sms_quotas",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.CheckConstraint("sent >= 0", name=op.f("ck_sms_quotas_sent_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["companies.id"],
            name=op.f("fk_sms_quotas_tenant_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "day", name=op.f("pk_sms_quotas")),
    )
    op.create_table(
        "sms_batches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "line_id"],
            ["lines.tenant_id", "lines.id"],
            name=op.f("fk_sms_batches_tenant_id_lines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sms_batches_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_batches")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_sms_batches_tenant_id_id")),
    )
    with op.batch_alter_table("sms_batches", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sms_batches_tenant_id_created_at", ["tenant_id", "created_at", "id"], unique=False
        )

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender", sa.String(length=20), nullable=True))

    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({VISIBLE}) WITH CHECK ({VISIBLE})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"DROP POLICY tenant_isolation ON {table}")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("sender")

    with op.batch_alter_table("sms_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_batches_tenant_id_created_at")

    op.drop_table("sms_batches")
    op.drop_table("sms_quotas")

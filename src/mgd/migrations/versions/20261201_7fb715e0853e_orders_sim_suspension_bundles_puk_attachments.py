"""More kinds of order: SIM duplicates, suspending and restoring lost or stolen lines, bundles added or
removed (``orders.kind`` accepts them: its check constraint is replaced); the lines get the reason of their
suspension, their SIM's ICCID and its PUK (encrypted, ``mgd.crypto``); ``order_attachments`` holds the files a
customer attached to an enquiry (the bytes are in the instance folder, ``mgd.attachments``).

On PostgreSQL ``order_attachments`` gets the forced ``tenant_isolation`` policy of every tenant table.

Revision ID: 7fb715e0853e
Revises: b02f85736128
Create Date: 2026-12-01 22:48:53.097331
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7fb715e0853e"
down_revision: str | None = "b02f85736128"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = ("tariff_change", "voicemail_reset", "premium_block", "roaming", "enquiry")
NEW_KINDS = (*OLD_KINDS, "sim_duplicate", "suspension", "bundle")
VISIBLE = (
    "tenant_id = NULLIF(current_setting('mgd.tenant_id', true), '')::bigint "
    "OR (SELECT mgd_operator_scope()) = 'on'"
)


def _kinds(kinds: tuple[str, ...]) -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_orders_order_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_orders_order_kind"), sa.column("kind").in_(kinds))


def upgrade() -> None:
    _kinds(NEW_KINDS)
    op.create_table(
        "order_attachments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=80), nullable=False),
        sa.Column("uploaded_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_order_attachments_tenant_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_order_attachments_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_attachments")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_order_attachments_tenant_id_id")),
    )
    with op.batch_alter_table("order_attachments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_order_attachments_tenant_id_order_id", ["tenant_id", "order_id"], unique=False
        )

    with op.batch_alter_table("lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspension_reason", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("iccid", sa.String(length=22), nullable=True))
        batch_op.add_column(sa.Column("puk", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE order_attachments ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE order_attachments FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON order_attachments USING ({VISIBLE}) WITH CHECK ({VISIBLE})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY tenant_isolation ON order_attachments")
    # The orders of the new kinds cannot stay under the old constraint.
    op.execute("DELETE FROM orders WHERE kind IN ('sim_duplicate', 'suspension', 'bundle')")
    with op.batch_alter_table("lines", schema=None) as batch_op:
        batch_op.drop_column("puk")
        batch_op.drop_column("iccid")
        batch_op.drop_column("suspension_reason")

    with op.batch_alter_table("order_attachments", schema=None) as batch_op:
        batch_op.drop_index("ix_order_attachments_tenant_id_order_id")

    op.drop_table("order_attachments")
    _kinds(OLD_KINDS)

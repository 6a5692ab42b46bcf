"""The help chat's files: ``chat_attachments`` (a file sent in a conversation by the customer or the advisor,
the message carrying it, its ``slot`` — 1 to 10 by a check, unique per conversation — so a conversation never
holds more than ten; the bytes are in the instance folder, ``mgd.attachments``, area ``chat``).

On PostgreSQL the table gets the forced ``tenant_isolation`` policy of every tenant table.

Revision ID: c4a7e2d91f30
Revises: 19d6b9f0937a
Create Date: 2026-12-02 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4a7e2d91f30"
down_revision: str | None = "19d6b9f0937a"
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
        "chat_attachments",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("message_id", ID, nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=80), nullable=False),
        sa.Column("uploaded_by_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("slot BETWEEN 1 AND 10", name=op.f("ck_chat_attachments_slot_range")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "conversation_id"],
            ["chat_conversations.tenant_id", "chat_conversations.id"],
            name=op.f("fk_chat_attachments_tenant_id_chat_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "message_id"],
            ["chat_messages.tenant_id", "chat_messages.id"],
            name=op.f("fk_chat_attachments_tenant_id_chat_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_chat_attachments_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_attachments")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_chat_attachments_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "conversation_id",
            "slot",
            name=op.f("uq_chat_attachments_tenant_id_conversation_id_slot"),
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE chat_attachments ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE chat_attachments FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON chat_attachments USING ({VISIBLE}) WITH CHECK ({VISIBLE})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY tenant_isolation ON chat_attachments")
    op.drop_table("chat_attachments")

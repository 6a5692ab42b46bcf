"""The help chat: ``chat_conversations`` (state and mode, the customer and the advisor, the page and the order
it was opened from, when it was queued, taken, is to be answered and was closed, with the reason),
``chat_messages`` (each message by id, keyed to its conversation with the company's key), ``chat_surveys``
(one rating per conversation: the unique key) and ``chat_presence`` (when each advisor was last at the desk;
not tenant data, so no policy).

On PostgreSQL the three tenant tables get the forced ``tenant_isolation`` policy of every tenant table (as
``7c1e5d2a9b40`` made it and ``5e691ffea26d`` keyed it); ``mgd db upgrade`` grants the portal's role their use.

Revision ID: 5b859190e0e6
Revises: 7fb715e0853e
Create Date: 2026-12-01 22:49:40.183590
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b859190e0e6"
down_revision: str | None = "7fb715e0853e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("chat_conversations", "chat_messages", "chat_surveys")
# The policy of every tenant table since 5e691ffea26d.
VISIBLE = (
    "tenant_id = NULLIF(current_setting('mgd.tenant_id', true), '')::bigint "
    "OR (SELECT mgd_operator_scope()) = 'on'"
)


def upgrade() -> None:
    op.create_table(
        "chat_conversations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "waiting",
                "active",
                "closed",
                name="chat_state",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "mode",
            sa.Enum(
                "live", "message", name="chat_mode", native_enum=False, create_constraint=True, length=20
            ),
            nullable=False,
        ),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("advisor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("page", sa.String(length=300), nullable=True),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "close_reason",
            sa.Enum(
                "solved",
                "no_answer",
                "redirected",
                "duplicate",
                "other",
                name="chat_close_reason",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("close_note", sa.String(length=500), nullable=True),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["advisor_id"],
            ["users.id"],
            name=op.f("fk_chat_conversations_advisor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["users.id"],
            name=op.f("fk_chat_conversations_customer_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["companies.id"],
            name=op.f("fk_chat_conversations_tenant_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_conversations")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_chat_conversations_tenant_id_id")),
    )
    with op.batch_alter_table("chat_conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_chat_conversations_state_queued_at", ["state", "queued_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_chat_conversations_tenant_id_created_at", ["tenant_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "chat_presence",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_chat_presence_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_chat_presence")),
    )
    op.create_table(
        "chat_surveys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("advisor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_chat_surveys_score_range")),
        sa.ForeignKeyConstraint(
            ["advisor_id"], ["users.id"], name=op.f("fk_chat_surveys_advisor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["companies.id"],
            name=op.f("fk_chat_surveys_tenant_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_surveys")),
        sa.UniqueConstraint(
            "tenant_id", "conversation_id", name=op.f("uq_chat_surveys_tenant_id_conversation_id")
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_chat_surveys_tenant_id_id")),
    )
    with op.batch_alter_table("chat_surveys", schema=None) as batch_op:
        batch_op.create_index("ix_chat_surveys_created_at", ["created_at"], unique=False)

    op.create_table(
        "chat_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "author",
            sa.Enum(
                "customer",
                "advisor",
                "system",
                name="chat_author",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "conversation_id"],
            ["chat_conversations.tenant_id", "chat_conversations.id"],
            name=op.f("fk_chat_messages_tenant_id_chat_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_chat_messages_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_chat_messages_tenant_id_id")),
    )
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_chat_messages_tenant_id_conversation_id", ["tenant_id", "conversation_id", "id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({VISIBLE}) WITH CHECK ({VISIBLE})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"DROP POLICY tenant_isolation ON {table}")
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_messages_tenant_id_conversation_id")

    op.drop_table("chat_messages")
    with op.batch_alter_table("chat_surveys", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_surveys_created_at")

    op.drop_table("chat_surveys")
    op.drop_table("chat_presence")
    with op.batch_alter_table("chat_conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_conversations_tenant_id_created_at")
        batch_op.drop_index("ix_chat_conversations_state_queued_at")

    op.drop_table("chat_conversations")

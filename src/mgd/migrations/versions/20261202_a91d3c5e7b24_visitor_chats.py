"""The chat with visitors who are not signed in (the registration pages): ``visitor_chats`` (one per
conversation: the hash of the visitor's session key, its ``slot`` — 1 to 3 by a check, unique among the
session's open conversations by a partial index — the state and mode, the name and optional email, the page,
the registration's step and fiscal ID, how many messages the visitor wrote — 20 at most by a check — the
advisor and the times) and ``visitor_chat_messages`` (each message by id, removed with its conversation).

Operator data, not a company's (a visitor has no company): no Row-Level Security policy, like
``registration_flows`` and ``access_requests``; ``mgd db upgrade`` grants the portal's role their use.

Revision ID: a91d3c5e7b24
Revises: a91d3e6b7c52
Create Date: 2026-12-02 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a91d3c5e7b24"
down_revision: str | None = "a91d3e6b7c52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def _choice(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade() -> None:
    op.create_table(
        "visitor_chats",
        sa.Column("id", ID, nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("state", _choice("visitor_chat_state", "waiting", "active", "closed"), nullable=False),
        sa.Column("mode", _choice("visitor_chat_mode", "live", "message"), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("page", sa.String(length=300), nullable=True),
        sa.Column("step", sa.String(length=20), nullable=True),
        sa.Column("fiscal_id", sa.String(length=12), nullable=True),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("visitor_messages", sa.SmallInteger(), nullable=False),
        sa.Column("advisor_id", ID, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("queued_at", WHEN, nullable=False),
        sa.Column("taken_at", WHEN, nullable=True),
        sa.Column("answer_by", WHEN, nullable=True),
        sa.Column("closed_at", WHEN, nullable=True),
        sa.CheckConstraint("slot BETWEEN 1 AND 3", name=op.f("ck_visitor_chats_slot_range")),
        sa.CheckConstraint("visitor_messages <= 20", name=op.f("ck_visitor_chats_visitor_messages_most")),
        sa.ForeignKeyConstraint(
            ["advisor_id"], ["users.id"], name=op.f("fk_visitor_chats_advisor_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visitor_chats")),
    )
    op.create_index(
        "uq_visitor_chats_open_slot",
        "visitor_chats",
        ["session_hash", "slot"],
        unique=True,
        postgresql_where=sa.text("state <> 'closed'"),
        sqlite_where=sa.text("state <> 'closed'"),
    )
    op.create_index("ix_visitor_chats_session_hash", "visitor_chats", ["session_hash", "id"])
    op.create_index("ix_visitor_chats_state_queued_at", "visitor_chats", ["state", "queued_at", "id"])
    op.create_table(
        "visitor_chat_messages",
        sa.Column("id", ID, nullable=False),
        sa.Column("chat_id", ID, nullable=False),
        sa.Column("author", _choice("visitor_chat_author", "visitor", "advisor", "system"), nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["visitor_chats.id"],
            name=op.f("fk_visitor_chat_messages_chat_id_visitor_chats"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_visitor_chat_messages_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visitor_chat_messages")),
    )
    op.create_index("ix_visitor_chat_messages_chat_id", "visitor_chat_messages", ["chat_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_visitor_chat_messages_chat_id", table_name="visitor_chat_messages")
    op.drop_table("visitor_chat_messages")
    op.drop_index("ix_visitor_chats_state_queued_at", table_name="visitor_chats")
    op.drop_index("ix_visitor_chats_session_hash", table_name="visitor_chats")
    op.drop_index("uq_visitor_chats_open_slot", table_name="visitor_chats")
    op.drop_table("visitor_chats")

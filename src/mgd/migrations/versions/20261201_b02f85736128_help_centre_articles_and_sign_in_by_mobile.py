"""The help centre's articles, and an index on users' mobiles for signing in by mobile number.

``help_articles`` is the operator's own content, the same for every company: not tenant data, so no
Row-Level Security policy (``mgd db upgrade`` grants the portal's role its use like every table's). Its
``search_es``/``search_en`` columns hold the folded text the search matches. ``ix_users_mobile`` lets the sign-in
find the (one) user of a mobile number without reading the table.

Revision ID: b02f85736128
Revises: 8fb18b1015a3
Create Date: 2026-12-01 19:39:57.592567
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b02f85736128"
down_revision: str | None = "8fb18b1015a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "help_articles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "registration",
                "sign_in",
                "invoices",
                "lines",
                name="help_category",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("title_es", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("body_es", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("search_es", sa.Text(), nullable=False),
        sa.Column("search_en", sa.Text(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_help_articles_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_articles")),
        sa.UniqueConstraint("slug", name=op.f("uq_help_articles_slug")),
    )
    with op.batch_alter_table("help_articles", schema=None) as batch_op:
        batch_op.create_index("ix_help_articles_published_category", ["published", "category"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_mobile", ["mobile"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_mobile")

    with op.batch_alter_table("help_articles", schema=None) as batch_op:
        batch_op.drop_index("ix_help_articles_published_category")

    op.drop_table("help_articles")

"""Company administration: every membership role, disabled and line-limited memberships with their scopes,
invitations, the company's invitation domains, the lines' own labels and the users' last sign-in and company.

Revision ID: e57c56dfaa98
Revises: 0f5b90b68fc0
Create Date: 2026-11-22 05:18:38.007316
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e57c56dfaa98"
down_revision: str | None = "0f5b90b68fc0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ROLES = ("admin", "manager", "billing", "viewer")


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("id", Id, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(*ROLES, name="invitation_role", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "accepted",
                "revoked",
                name="invitation_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("invited_by_id", Id, nullable=True),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["users.id"],
            name=op.f("fk_invitations_invited_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["companies.id"],
            name=op.f("fk_invitations_tenant_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    op.create_index("ix_invitations_tenant_id_status", "invitations", ["tenant_id", "status"])
    op.create_index(
        "uq_invitations_pending",
        "invitations",
        ["tenant_id", "email"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )

    op.create_table(
        "membership_scopes",
        sa.Column("id", Id, nullable=False),
        sa.Column("membership_id", Id, nullable=False),
        sa.Column("line_id", Id, nullable=True),
        sa.Column("cost_centre", sa.String(length=40), nullable=True),
        sa.Column("tenant_id", Id, nullable=False),
        sa.CheckConstraint(
            "(line_id IS NULL) <> (cost_centre IS NULL)",
            name=op.f("ck_membership_scopes_line_or_cost_centre"),
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["lines.id"], name=op.f("fk_membership_scopes_line_id_lines"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_membership_scopes_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["companies.id"],
            name=op.f("fk_membership_scopes_tenant_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_scopes")),
    )
    op.create_index(
        "ix_membership_scopes_tenant_id_membership_id", "membership_scopes", ["tenant_id", "membership_id"]
    )

    with op.batch_alter_table("companies") as batch_op:
        batch_op.add_column(sa.Column("invite_domains", sa.String(length=500), nullable=True))

    # No index on lines.user_id (like lines.tariff_id): every index slows the records import, and users are
    # never deleted by the portal, so the SET NULL scan this saves does not happen.
    with op.batch_alter_table("lines") as batch_op:
        batch_op.add_column(sa.Column("alias", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("cost_centre", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("user_id", Id, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_lines_user_id_users"), "users", ["user_id"], ["id"], ondelete="SET NULL"
        )

    # Existing memberships stay active and unlimited; the role check admits the four roles.
    with op.batch_alter_table("memberships") as batch_op:
        batch_op.add_column(sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("limited", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.drop_constraint(op.f("ck_memberships_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_memberships_role"), sa.column("role").in_(ROLES))
    with op.batch_alter_table("memberships") as batch_op:
        batch_op.alter_column("is_active", server_default=None)
        batch_op.alter_column("limited", server_default=None)

    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_company_id", Id, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_users_last_company_id_companies"),
            "companies",
            ["last_company_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_users_last_company_id_companies"), type_="foreignkey")
        batch_op.drop_column("last_company_id")
        batch_op.drop_column("last_sign_in_at")

    # Memberships with a role the older schema does not know are removed rather than promoted to admin.
    op.execute("DELETE FROM memberships WHERE role <> 'admin'")
    with op.batch_alter_table("memberships") as batch_op:
        batch_op.drop_constraint(op.f("ck_memberships_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_memberships_role"), sa.column("role").in_(("admin",)))
        batch_op.drop_column("limited")
        batch_op.drop_column("is_active")

    with op.batch_alter_table("lines") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_lines_user_id_users"), type_="foreignkey")
        batch_op.drop_column("user_id")
        batch_op.drop_column("cost_centre")
        batch_op.drop_column("alias")

    with op.batch_alter_table("companies") as batch_op:
        batch_op.drop_column("invite_domains")

    op.drop_index("ix_membership_scopes_tenant_id_membership_id", table_name="membership_scopes")
    op.drop_table("membership_scopes")
    op.drop_index("uq_invitations_pending", table_name="invitations")
    op.drop_index("ix_invitations_tenant_id_status", table_name="invitations")
    op.drop_table("invitations")

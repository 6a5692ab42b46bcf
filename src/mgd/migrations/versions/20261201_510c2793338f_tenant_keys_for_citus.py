"""Tenant keys shaped for Citus: every tenant table has a unique (tenant_id, id), every unique key of a tenant
table includes tenant_id, and keys between tenant tables carry the tenant (membership scopes → memberships and
lines). Invitations' token hashes become unique per company, found through a plain index.

Revision ID: 510c2793338f
Revises: 5e691ffea26d
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "510c2793338f"
down_revision: str | None = "5e691ffea26d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("interlocutors", "memberships", "lines", "invitations", "membership_scopes")


def upgrade() -> None:
    # billing_accounts has had its (tenant_id, id) since the lines referenced it.
    for table in TENANT_TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_unique_constraint(op.f(f"uq_{table}_tenant_id_id"), ["tenant_id", "id"])
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.drop_constraint("uq_invitations_token_hash", type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_invitations_tenant_id_token_hash"), ["tenant_id", "token_hash"]
        )
        batch_op.create_index("ix_invitations_token_hash", ["token_hash"])
    with op.batch_alter_table("membership_scopes") as batch_op:
        batch_op.drop_constraint("fk_membership_scopes_membership_id_memberships", type_="foreignkey")
        batch_op.drop_constraint("fk_membership_scopes_line_id_lines", type_="foreignkey")
        batch_op.create_foreign_key(
            op.f("fk_membership_scopes_tenant_id_memberships"),
            "memberships",
            ["tenant_id", "membership_id"],
            ["tenant_id", "id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            op.f("fk_membership_scopes_tenant_id_lines"),
            "lines",
            ["tenant_id", "line_id"],
            ["tenant_id", "id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("membership_scopes") as batch_op:
        batch_op.drop_constraint("fk_membership_scopes_tenant_id_lines", type_="foreignkey")
        batch_op.drop_constraint("fk_membership_scopes_tenant_id_memberships", type_="foreignkey")
        batch_op.create_foreign_key(
            op.f("fk_membership_scopes_line_id_lines"), "lines", ["line_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_foreign_key(
            op.f("fk_membership_scopes_membership_id_memberships"),
            "memberships",
            ["membership_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.drop_index("ix_invitations_token_hash")
        batch_op.drop_constraint("uq_invitations_tenant_id_token_hash", type_="unique")
        batch_op.create_unique_constraint(op.f("uq_invitations_token_hash"), ["token_hash"])
    for table in reversed(TENANT_TABLES):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_tenant_id_id", type_="unique")

"""Row-Level Security on PostgreSQL: every tenant-owned table shows and accepts only the rows of the company set
for the transaction (``mgd.tenant_id``), or any row inside an operator scope (``mgd.operator``). Forced, so the
tables' owner is bound too; only superusers and BYPASSRLS roles are not. SQLite has no RLS: nothing to do.

The settings are set per transaction with ``set_config(name, value, true)`` (what ``SET LOCAL`` does) by
``mgd.db``; a missing or empty setting matches no row.

Revision ID: 7c1e5d2a9b40
Revises: e57c56dfaa98
Create Date: 2026-11-22 06:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7c1e5d2a9b40"
down_revision: str | None = "e57c56dfaa98"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = (
    "interlocutors",
    "billing_accounts",
    "lines",
    "memberships",
    "invitations",
    "membership_scopes",
)
# The operator flag is read in a sub-select (evaluated once per query). The company is compared directly: as a
# sub-select its estimate would be an average company's, and the planner would sort a large company's lines
# instead of walking the (tenant_id, number) index.
VISIBLE = (
    "tenant_id = NULLIF(current_setting('mgd.tenant_id', true), '')::bigint "
    "OR (SELECT current_setting('mgd.operator', true)) = 'on'"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({VISIBLE}) WITH CHECK ({VISIBLE})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")

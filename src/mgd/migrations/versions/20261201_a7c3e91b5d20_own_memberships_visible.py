"""A signed-in user may read their own memberships of every company (PostgreSQL only).

A company page shows a "change company" link when its user belongs to more than one company; counting those
memberships took an operator scope (two ``set_config`` round trips a page). A second, permissive policy for
``SELECT`` on ``memberships`` lets the rows whose ``user_id`` is the transaction's ``mgd.user_id`` be read
(``mgd.db.scope_columns`` sets it with the company): the count is then a sub-select of the membership's own
query. Writes are still bound to the company (the ``tenant_isolation`` policy's ``WITH CHECK``), and the
ORM guard still scopes every query of the ``Membership`` class to the company.

Revision ID: a7c3e91b5d20
Revises: 7d3b51c0a2e4
Create Date: 2026-12-01 15:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a7c3e91b5d20"
down_revision: str | None = "7d3b51c0a2e4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWN = "user_id = NULLIF(current_setting('mgd.user_id', true), '')::bigint"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE POLICY own_memberships ON memberships FOR SELECT USING ({OWN})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY own_memberships ON memberships")

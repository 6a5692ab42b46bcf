"""Orders of several lines, approval above a monthly cost, SMS notices of orders, and the users of a
Grandes Clientes request.

``orders.state`` may now be ``awaiting_approval`` (its check constraint is rewritten: on SQLite the table is
copied, as batch mode does); ``orders.monthly_cost_eur`` keeps what the order adds to the monthly bill, and
``companies.order_approval_threshold_eur`` the cost above which another administrator must approve (NULL: no
approval); ``ix_orders_state_changed_at_all_kinds`` lets the back office's queue of one state, every kind,
read a page from its key. ``users.order_sms``: the person also wants their orders' steps by SMS (existing rows: false). No
new table, so no new Row-Level Security policy: ``orders`` keeps its own. ``access_requests.users`` lists the
users a Grandes Clientes request needs; approval prepares them as ``draft`` invitations (a new status: the
check of ``invitations.status`` is rewritten the same way).

Revision ID: 19d6b9f0937a
Revises: f53694627804
Create Date: 2026-12-01 22:48:46.085496
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "19d6b9f0937a"
down_revision: str | None = "f53694627804"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("submitted", "in_progress", "completed", "rejected", "cancelled")
NEW_STATES = (*STATES, "awaiting_approval")
INVITATION_STATUSES = ("pending", "accepted", "revoked")
NEW_INVITATION_STATUSES = (*INVITATION_STATUSES, "draft")


def _check(table: str, name: str, column: str, values: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{value}'" for value in values)
    with op.batch_alter_table(table, schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
        batch_op.create_check_constraint(name, sa.text(f"{column} IN ({listed})"))


def _states_check(states: tuple[str, ...]) -> None:
    _check("orders", "order_state", "state", states)


def upgrade() -> None:
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("order_approval_threshold_eur", sa.Numeric(precision=10, scale=2), nullable=True)
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("monthly_cost_eur", sa.Numeric(precision=10, scale=2), nullable=True))
        batch_op.create_index(
            "ix_orders_state_changed_at_all_kinds", ["state", "state_changed_at", "id"], unique=False
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_sms", sa.Boolean(), nullable=False, server_default=sa.false()))
    _states_check(NEW_STATES)
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("users", sa.JSON(), nullable=True))
    _check("invitations", "invitation_status", "status", NEW_INVITATION_STATUSES)


def downgrade() -> None:
    # Draft invitations were never sent: they go with the status.
    op.execute("DELETE FROM invitations WHERE status = 'draft'")
    _check("invitations", "invitation_status", "status", INVITATION_STATUSES)
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.drop_column("users")
    # An order still awaiting approval cannot be kept in the old states: it is refused (rejected) first.
    op.execute("UPDATE orders SET state = 'rejected' WHERE state = 'awaiting_approval'")
    _states_check(STATES)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("order_sms")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_state_changed_at_all_kinds")
        batch_op.drop_column("monthly_cost_eur")
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_column("order_approval_threshold_eur")

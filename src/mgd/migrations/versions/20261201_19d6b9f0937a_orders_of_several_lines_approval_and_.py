"""Orders of several lines, approval above a monthly cost, and SMS notices of orders.

``orders.state`` may now be ``awaiting_approval`` (its check constraint is rewritten: on SQLite the table is
copied, as batch mode does); ``orders.monthly_cost_eur`` keeps what the order adds to the monthly bill, and
``companies.order_approval_threshold_eur`` the cost above which another administrator must approve (NULL: no
approval). ``users.order_sms``: the person also wants their orders' steps by SMS (existing rows: false). No
new table, so no new Row-Level Security policy: ``orders`` keeps its own.

Revision ID: 19d6b9f0937a
Revises: b02f85736128
Create Date: 2026-12-01 22:48:46.085496
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "19d6b9f0937a"
down_revision: str | None = "b02f85736128"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("submitted", "in_progress", "completed", "rejected", "cancelled")
NEW_STATES = (*STATES, "awaiting_approval")


def _states_check(states: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{state}'" for state in states)
    with op.batch_alter_table("orders", schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint(op.f("ck_orders_order_state"), type_="check")
        batch_op.create_check_constraint("order_state", sa.text(f"state IN ({listed})"))


def upgrade() -> None:
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("order_approval_threshold_eur", sa.Numeric(precision=10, scale=2), nullable=True)
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("monthly_cost_eur", sa.Numeric(precision=10, scale=2), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_sms", sa.Boolean(), nullable=False, server_default=sa.false()))
    _states_check(NEW_STATES)


def downgrade() -> None:
    # An order still awaiting approval cannot be kept in the old states: it is refused (rejected) first.
    op.execute("UPDATE orders SET state = 'rejected' WHERE state = 'awaiting_approval'")
    _states_check(STATES)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("order_sms")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("monthly_cost_eur")
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_column("order_approval_threshold_eur")

"""The language of each user (chosen in the portal, kept across sign-in and sign-out, used for their emails) and
of each access request (its answer goes in the language it was asked in).

Existing users have none (NULL) until they sign in or choose one; until then their messages go in the
language of the request that sends them, as before.

Revision ID: 424f42a223f7
Revises: b937207871b2
Create Date: 2026-12-01 12:11:08.328802
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "424f42a223f7"
down_revision: str | None = "b937207871b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=5), nullable=True))
    with op.batch_alter_table("access_requests") as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=5), nullable=True))


def downgrade() -> None:
    # The choices are lost: after a downgrade everyone's language is the browser's again.
    with op.batch_alter_table("access_requests") as batch_op:
        batch_op.drop_column("locale")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("locale")

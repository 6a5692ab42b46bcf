"""Secrets at rest and an operator scope the portal's role cannot open by itself.

- ``outbox_messages.body_text``/``body_html`` and ``users.totp_secret`` hold Fernet ciphertext; a new
  ``users.totp_pending_secret`` keeps an enrolment's secret until its first code (not in the cookie).
  Upgrade ENCRYPTS the existing rows, downgrade DECRYPTS them, with the keys given by ``mgd db upgrade`` /
  ``downgrade`` (``MGD_ENCRYPTION_KEYS``; in development the key derived from ``MGD_SECRET_KEY``): run them
  with the same settings as the portal.
- PostgreSQL: the policies' operator branch no longer trusts ``mgd.operator = 'on'``, which any SQL run as
  the portal's role could set. It calls ``mgd_operator_scope()``, which answers ``on`` only when the setting's
  SHA-256 is the hash of the portal's operator key; it answers nothing until ``mgd db upgrade`` registers the
  key (``mgd.migrate.register_operator_key``), and only the tables' owner can replace it.

Revision ID: 5e691ffea26d
Revises: 678224c5ad0b
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e691ffea26d"
down_revision: str | None = "678224c5ad0b"
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
COMPANY = "tenant_id = NULLIF(current_setting('mgd.tenant_id', true), '')::bigint"
OLD_VISIBLE = f"{COMPANY} OR (SELECT current_setting('mgd.operator', true)) = 'on'"
# A text compared with a constant, like the flag before it: the planner estimates the branch as rarely true
# (a bare boolean it would take for true half the time, and misjudge every row count of a tenant table).
NEW_VISIBLE = f"{COMPANY} OR (SELECT mgd_operator_scope()) = 'on'"
ENCRYPTED = {"outbox_messages": ("body_text", "body_html"), "users": ("totp_secret",)}
BATCH = 500


def _keyring():
    from mgd.config import load_settings  # noqa: PLC0415
    from mgd.crypto import Keyring  # noqa: PLC0415

    keys = op.get_context().config.attributes.get("encryption_keys") or load_settings()["ENCRYPTION_KEYS"]
    return Keyring.parse(keys)


def _convert(table: str, column: str, change: Callable[[str], str]) -> None:
    """Rewrite every non-empty value of one column, by batches of primary keys."""
    rows = sa.table(table, sa.column("id"), sa.column(column))
    bind, last = op.get_bind(), 0
    while True:
        batch = bind.execute(
            sa.select(rows.c.id, rows.c[column])
            .where(rows.c.id > last, rows.c[column].is_not(None), rows.c[column] != "")
            .order_by(rows.c.id)
            .limit(BATCH)
        ).all()
        for row_id, value in batch:
            bind.execute(sa.update(rows).where(rows.c.id == row_id).values({column: change(value)}))
        if len(batch) < BATCH:
            return
        last = batch[-1][0]


def _has_secrets() -> bool:
    bind = op.get_bind()
    return any(
        bind.execute(sa.text(f"SELECT 1 FROM {table} WHERE {column} <> '' LIMIT 1")).first()  # noqa: S608
        for table, columns in ENCRYPTED.items()
        for column in columns
    )


def _convert_all(direction: str) -> None:
    if not _has_secrets():
        return  # an empty database needs no key
    keyring = _keyring()
    change = keyring.encrypt if direction == "encrypt" else keyring.decrypt
    for table, columns in ENCRYPTED.items():
        for column in columns:
            _convert(table, column, change)


def _replace_policies(visible: str) -> None:
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({visible}) WITH CHECK ({visible})")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=32), type_=sa.Text(), existing_nullable=True
        )
        batch_op.add_column(sa.Column("totp_pending_secret", sa.Text(), nullable=True))
    _convert_all("encrypt")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION mgd_operator_scope() RETURNS text LANGUAGE sql STABLE AS $$ SELECT ''::text $$"
    )
    _replace_policies(NEW_VISIBLE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_policies(OLD_VISIBLE)
        op.execute("DROP FUNCTION mgd_operator_scope()")
    _convert_all("decrypt")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("totp_pending_secret")
        batch_op.alter_column(
            "totp_secret", existing_type=sa.Text(), type_=sa.String(length=32), existing_nullable=True
        )

"""Consumption alerts and spend caps: the thresholds an administrator sets and who they notify, each
threshold's firing once per cycle (unique per alert and cycle start: the evaluation inserts it with
ON CONFLICT DO NOTHING), and the requests to bar premium and roaming usage that spend caps record.

On PostgreSQL the four tenant tables get the forced ``tenant_isolation`` policy of every tenant table (as
``7c1e5d2a9b40`` made it and ``5e691ffea26d`` keyed it); ``mgd db upgrade`` grants the portal's role their use.

Revision ID: 20f405e67d11
Revises: 0e723e89012d
Create Date: 2026-12-01 15:27:00.574380
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20f405e67d11"
down_revision: str | None = "0e723e89012d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("usage_alerts", "usage_alert_recipients", "usage_alert_firings", "usage_cap_requests")
# The policy of every tenant table since 5e691ffea26d.
VISIBLE = (
    "tenant_id = NULLIF(current_setting('mgd.tenant_id', true), '')::bigint "
    "OR (SELECT mgd_operator_scope()) = 'on'"
)


def upgrade() -> None:
    op.create_table(
        "usage_alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "scope",
            sa.Enum(
                "line",
                "cost_centre",
                "company",
                name="usage_alert_scope",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("cost_centre", sa.String(length=40), nullable=True),
        sa.Column(
            "metric",
            sa.Enum(
                "data_percent",
                "voice_percent",
                "spend",
                name="usage_alert_metric",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("cap", sa.Boolean(), nullable=False),
        sa.Column("by_email", sa.Boolean(), nullable=False),
        sa.Column("by_sms", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(metric = 'spend' AND amount_cents > 0 AND percent IS NULL) OR (metric <> 'spend' AND percent BETWEEN 1 AND 1000 AND amount_cents IS NULL)",
            name=op.f("ck_usage_alerts_threshold"),
        ),
        sa.CheckConstraint(
            "(scope = 'line' AND line_id IS NOT NULL AND cost_centre IS NULL) OR (scope = 'cost_centre' AND line_id IS NULL AND cost_centre IS NOT NULL) OR (scope = 'company' AND line_id IS NULL AND cost_centre IS NULL)",
            name=op.f("ck_usage_alerts_scope_target"),
        ),
        sa.CheckConstraint(
            "NOT cap OR (metric = 'spend' AND scope = 'line')", name=op.f("ck_usage_alerts_cap_on_line_spend")
        ),
        sa.CheckConstraint("by_email OR by_sms", name=op.f("ck_usage_alerts_some_channel")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "line_id"],
            ["lines.tenant_id", "lines.id"],
            name=op.f("fk_usage_alerts_tenant_id_lines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_alerts")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_usage_alerts_tenant_id_id")),
    )
    with op.batch_alter_table("usage_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_usage_alerts_tenant_id_line_id", ["tenant_id", "line_id"], unique=False)

    op.create_table(
        "usage_cap_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cycle_start", sa.Date(), nullable=False),
        sa.Column("cap_cents", sa.BigInteger(), nullable=False),
        sa.Column("spend_cents", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "recorded", name="usage_cap_status", native_enum=False, create_constraint=True, length=20
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "line_id"],
            ["lines.tenant_id", "lines.id"],
            name=op.f("fk_usage_cap_requests_tenant_id_lines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_cap_requests")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_usage_cap_requests_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "line_id",
            "cycle_start",
            name=op.f("uq_usage_cap_requests_tenant_id_line_id_cycle_start"),
        ),
    )
    with op.batch_alter_table("usage_cap_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_cap_requests_tenant_id_created_at", ["tenant_id", "created_at"], unique=False
        )

    op.create_table(
        "usage_alert_firings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("alert_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cycle_start", sa.Date(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "alert_id"],
            ["usage_alerts.tenant_id", "usage_alerts.id"],
            name=op.f("fk_usage_alert_firings_tenant_id_usage_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_alert_firings")),
        sa.UniqueConstraint(
            "tenant_id",
            "alert_id",
            "cycle_start",
            name=op.f("uq_usage_alert_firings_tenant_id_alert_id_cycle_start"),
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_usage_alert_firings_tenant_id_id")),
    )
    op.create_table(
        "usage_alert_recipients",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("alert_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("membership_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "alert_id"],
            ["usage_alerts.tenant_id", "usage_alerts.id"],
            name=op.f("fk_usage_alert_recipients_tenant_id_usage_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "membership_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_usage_alert_recipients_tenant_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_alert_recipients")),
        sa.UniqueConstraint(
            "tenant_id",
            "alert_id",
            "membership_id",
            name=op.f("uq_usage_alert_recipients_tenant_id_alert_id_membership_id"),
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_usage_alert_recipients_tenant_id_id")),
    )
    with op.batch_alter_table("usage_alert_recipients", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_alert_recipients_tenant_id_membership_id", ["tenant_id", "membership_id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({VISIBLE}) WITH CHECK ({VISIBLE})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"DROP POLICY tenant_isolation ON {table}")
    with op.batch_alter_table("usage_alert_recipients", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_alert_recipients_tenant_id_membership_id")

    op.drop_table("usage_alert_recipients")
    op.drop_table("usage_alert_firings")
    with op.batch_alter_table("usage_cap_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_cap_requests_tenant_id_created_at")

    op.drop_table("usage_cap_requests")
    with op.batch_alter_table("usage_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_alerts_tenant_id_line_id")

    op.drop_table("usage_alerts")

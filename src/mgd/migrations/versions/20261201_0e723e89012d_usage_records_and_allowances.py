"""Consumption: usage records (partitioned by month on PostgreSQL), their daily sums, add-on bundles, shared
pools, and the billing cycle's first day.

On PostgreSQL ``usage_records`` is ``PARTITION BY RANGE (started_at)`` with the primary key ``(id, started_at)``
(a partitioned table's unique keys include its partition key); it has no partitions yet:
``mgd_usage_partition(month)`` makes the one of a month, with the forced ``tenant_isolation`` policy of every
tenant table on it too (a partition read directly is not bound by its parent's policies). The function runs as
the owner (``SECURITY DEFINER``), so the portal's role, which owns nothing, can create the month it imports or the
job creates ahead; ``mgd db upgrade`` grants it EXECUTE (``mgd.migrate.grant_app_role``). SQLite has a plain
table. The four new tenant tables get the forced policy; ``docs/usage.md``.

Revision ID: 0e723e89012d
Revises: e0aac472dff6
Create Date: 2026-12-01 15:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0e723e89012d"
down_revision: str | None = "e0aac472dff6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("usage_pools", "line_bundles", "usage_daily", "usage_records")
VISIBLE = (
    "tenant_id = NULLIF(current_setting('mgd.tenant_id', true), '')::bigint "
    "OR (SELECT mgd_operator_scope()) = 'on'"
)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# A month's partition (a month of Madrid time, as the daily sums' days), made once (an advisory lock serialises
# two imports of the same month), bound by the same policy as its parent. Months from 2000 to two years ahead: the portal's role cannot fill the catalogue.
PARTITION_FUNCTION = """
CREATE FUNCTION mgd_usage_partition(month date) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $fn$
DECLARE
    first date := date_trunc('month', month)::date;
    next date := (date_trunc('month', month) + interval '1 month')::date;
    name text := 'usage_records_' || to_char(date_trunc('month', month), 'YYYY_MM');
BEGIN
    IF first < date '2000-01-01' OR first > current_date + interval '2 years' THEN
        RAISE EXCEPTION 'no usage records partition for %: months from 2000-01 to two years ahead',
            to_char(first, 'YYYY-MM') USING ERRCODE = 'check_violation';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('mgd_usage_partition'));
    IF to_regclass(name) IS NULL THEN
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF usage_records FOR VALUES FROM (%L) TO (%L)',
            name, (first::timestamp AT TIME ZONE 'Europe/Madrid')::text,
            (next::timestamp AT TIME ZONE 'Europe/Madrid')::text
        );
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING ({visible}) WITH CHECK ({visible})', name
        );
    END IF;
    RETURN name;
END
$fn$
"""


def _choice(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=10)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "bundles",
        sa.Column("id", BigId, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("data_gb", sa.Numeric(precision=8, scale=2), nullable=True),
        sa.Column("voice_minutes", sa.Integer(), nullable=True),
        sa.Column("monthly_fee_eur", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bundles")),
        sa.UniqueConstraint("code", name=op.f("uq_bundles_code")),
    )
    op.create_table(
        "usage_pools",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("data_gb", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("voice_minutes", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["companies.id"],
            name=op.f("fk_usage_pools_tenant_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_pools")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_usage_pools_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_usage_pools_tenant_id_name")),
    )
    with op.batch_alter_table("billing_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cycle_day", sa.SmallInteger(), server_default="1", nullable=False))
        batch_op.create_check_constraint(op.f("ck_billing_accounts_cycle_day"), "cycle_day BETWEEN 1 AND 28")
    with op.batch_alter_table("lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pool_id", BigId, nullable=True))
        batch_op.create_index("ix_lines_tenant_id_pool_id", ["tenant_id", "pool_id"], unique=False)
        batch_op.create_foreign_key(
            op.f("fk_lines_tenant_id_usage_pools"),
            "usage_pools",
            ["tenant_id", "pool_id"],
            ["tenant_id", "id"],
        )
    op.create_table(
        "line_bundles",
        sa.Column("id", BigId, nullable=False),
        sa.Column("line_id", BigId, nullable=False),
        sa.Column("bundle_id", BigId, nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", BigId, nullable=False),
        sa.CheckConstraint("ends_on IS NULL OR starts_on <= ends_on", name=op.f("ck_line_bundles_period")),
        sa.ForeignKeyConstraint(
            ["bundle_id"], ["bundles.id"], name=op.f("fk_line_bundles_bundle_id_bundles"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "line_id"],
            ["lines.tenant_id", "lines.id"],
            name=op.f("fk_line_bundles_tenant_id_lines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["companies.id"],
            name=op.f("fk_line_bundles_tenant_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_bundles")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_line_bundles_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "line_id",
            "bundle_id",
            "starts_on",
            name=op.f("uq_line_bundles_tenant_id_line_id_bundle_id_starts_on"),
        ),
    )
    op.create_table(
        "usage_daily",
        sa.Column("id", BigId, nullable=False),
        sa.Column("tenant_id", BigId, nullable=False),
        sa.Column("line_id", BigId, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", _choice("usage_kind", "voice", "sms", "mms", "data", "premium"), nullable=False),
        sa.Column("direction", _choice("usage_direction", "out", "in"), nullable=False),
        sa.Column("billed", sa.Boolean(), nullable=False),
        sa.Column("roaming", sa.Boolean(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("duration_s", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("cost_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_daily")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_usage_daily_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "line_id",
            "day",
            "kind",
            "direction",
            "billed",
            "roaming",
            name=op.f("uq_usage_daily_tenant_id_line_id_day_kind_direction_billed_roaming"),
        ),
    )
    op.create_index(
        "ix_usage_daily_tenant_id_day",
        "usage_daily",
        ["tenant_id", "day"],
        unique=False,
        postgresql_include=[
            "line_id",
            "kind",
            "direction",
            "billed",
            "roaming",
            "records",
            "duration_s",
            "bytes",
            "units",
            "cost_cents",
        ],
    )
    op.create_table(
        "usage_records",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", BigId, nullable=False),
        sa.Column("line_id", BigId, nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", _choice("usage_kind", "voice", "sms", "mms", "data", "premium"), nullable=False),
        sa.Column("direction", _choice("usage_direction", "out", "in"), nullable=False),
        sa.Column("destination", sa.String(length=40), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("roaming_zone", _choice("roaming_zone", "eu", "world1", "world2"), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("cost_cents", sa.Integer(), nullable=False),
        sa.Column("billed", sa.Boolean(), nullable=False),
        sa.Column("invoice_number", sa.String(length=40), nullable=True),
        sa.CheckConstraint("cost_cents >= 0", name=op.f("ck_usage_records_cost")),
        sa.CheckConstraint(
            "duration_s >= 0 AND bytes >= 0 AND units >= 0", name=op.f("ck_usage_records_measures")
        ),
        sa.CheckConstraint(
            "invoice_number IS NULL OR billed", name=op.f("ck_usage_records_invoice_when_billed")
        ),
        # A partitioned table's keys include its partition key.
        sa.PrimaryKeyConstraint(
            *(("id", "started_at") if postgresql else ("id",)), name=op.f("pk_usage_records")
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "record_id",
            "started_at",
            name=op.f("uq_usage_records_tenant_id_record_id_started_at"),
        ),
        postgresql_partition_by="RANGE (started_at)",
    )
    op.create_index(
        "ix_usage_records_tenant_id_line_id", "usage_records", ["tenant_id", "line_id", "started_at", "id"]
    )
    op.create_index(
        "ix_usage_records_tenant_id_started_at", "usage_records", ["tenant_id", "started_at", "id"]
    )
    if postgresql:
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({VISIBLE}) WITH CHECK ({VISIBLE})")
        bind = op.get_bind()
        schema = bind.dialect.identifier_preparer.quote(
            bind.execute(sa.text("SELECT current_schema()")).scalar_one()
        )
        op.execute(PARTITION_FUNCTION.format(schema=schema, visible=VISIBLE.replace("'", "''")))
        op.execute("REVOKE ALL ON FUNCTION mgd_usage_partition(date) FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION mgd_usage_partition(date)")
        for table in TENANT_TABLES:  # dropped below with their tables; said here so the order is plain
            op.execute(f"DROP POLICY tenant_isolation ON {table}")
    op.drop_index("ix_usage_records_tenant_id_started_at", table_name="usage_records")
    op.drop_index("ix_usage_records_tenant_id_line_id", table_name="usage_records")
    op.drop_table("usage_records")  # and its partitions
    op.drop_index("ix_usage_daily_tenant_id_day", table_name="usage_daily")
    op.drop_table("usage_daily")
    op.drop_table("line_bundles")
    with op.batch_alter_table("lines", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_lines_tenant_id_usage_pools"), type_="foreignkey")
        batch_op.drop_index("ix_lines_tenant_id_pool_id")
        batch_op.drop_column("pool_id")
    with op.batch_alter_table("billing_accounts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_billing_accounts_cycle_day"), type_="check")
        batch_op.drop_column("cycle_day")
    op.drop_table("usage_pools")
    op.drop_table("bundles")

"""Tenant tables are shaped for Citus, which distributes them by ``tenant_id``: a distributed table can only
enforce unique keys and foreign keys that include its distribution column (docs/deployment.md)."""

from __future__ import annotations

import pytest
from sqlalchemy import BigInteger, Column, Index, MetaData, String, Table, UniqueConstraint

from mgd.db import Base, TenantOwned
from mgd.models import import_all

import_all()
TENANT_TABLES = sorted(
    (mapper.local_table for mapper in Base.registry.mappers if issubclass(mapper.class_, TenantOwned)),
    key=lambda table: table.name,
)


def unique_keys(table: Table) -> list[tuple[str, list[str]]]:
    """Every key the database keeps unique: the primary key, unique constraints and unique indexes."""
    keys = [("primary key", [column.name for column in table.primary_key.columns])]
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            keys.append((constraint.name, [column.name for column in constraint.columns]))
    keys += [(index.name, [c.name for c in index.columns]) for index in table.indexes if index.unique]
    return keys


def test_the_tenant_tables_are_found():
    names = {table.name for table in TENANT_TABLES}
    assert {
        "billing_accounts",
        "interlocutors",
        "invitations",
        "lines",
        "memberships",
        "membership_scopes",
        "usage_records",
        "usage_daily",
    } <= names


@pytest.mark.parametrize("table", TENANT_TABLES, ids=lambda table: table.name)
def test_tenant_id_and_id_are_a_key_of_every_tenant_table(table):
    """The primary key Citus needs: (tenant_id, id). Where the primary key is still ``id`` alone (SQLite only
    numbers a single-column integer key), a unique (tenant_id, id) is the key it becomes on Citus. A table
    partitioned on PostgreSQL (``info["partitioned_by"]``) can have no unique key without its partition column:
    its primary key is ``(id, <column>)`` there, and ``(tenant_id, id, <column>)`` on Citus. A table with no
    ``id`` (``invoice_line_totals``: nothing refers to its rows) has a natural primary key led by tenant_id."""
    if "partitioned_by" in table.info:
        assert [column.name for column in table.primary_key.columns] == ["id"]
        assert table.info["partitioned_by"] in table.columns
        return
    if "id" not in table.columns:  # a table keyed by what it holds (a summary): the tenant leads its key
        assert table.primary_key.columns.values()[0].name == "tenant_id"
        return
    assert any(set(columns) == {"tenant_id", "id"} for _, columns in unique_keys(table))


@pytest.mark.parametrize("table", TENANT_TABLES, ids=lambda table: table.name)
def test_every_unique_key_of_a_tenant_table_includes_tenant_id(table):
    """The primary key ``id`` alone is the one exception: it becomes (tenant_id, id) on Citus (docs/deployment.md)."""
    keys = [
        (name, columns) for name, columns in unique_keys(table) if (name, columns) != ("primary key", ["id"])
    ]
    assert [(name, columns) for name, columns in keys if "tenant_id" not in columns] == []


@pytest.mark.parametrize("table", TENANT_TABLES, ids=lambda table: table.name)
def test_keys_between_tenant_tables_carry_the_tenant(table):
    """A foreign key from one tenant table to another pairs tenant_id with tenant_id, so both rows live on the
    same Citus shard and a row can never point at another company's."""
    tenant_names = {tenant_table.name for tenant_table in TENANT_TABLES}
    for key in table.foreign_key_constraints:
        if key.referred_table.name not in tenant_names:
            continue
        pairs = {(element.parent.name, element.column.name) for element in key.elements}
        assert ("tenant_id", "tenant_id") in pairs, f"{table.name}: {sorted(pairs)}"


def test_a_unique_key_without_the_tenant_is_caught():
    """The check itself: a table with a global unique column fails it."""
    table = Table(
        "probe",
        MetaData(),
        Column("id", BigInteger, primary_key=True),
        Column("tenant_id", BigInteger),
        Column("code", String(10), unique=True),
        Index("ix_probe_code", "code", unique=True),
    )
    missing = [name for name, columns in unique_keys(table)[1:] if "tenant_id" not in columns]
    assert len(missing) == 2

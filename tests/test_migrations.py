"""Migrations build exactly the schema the models describe, and their downgrade removes it again."""

import os
import uuid
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from mgd.db import Base, make_engine
from mgd.migrate import downgrade, upgrade
from mgd.models import import_all

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("MGD_TEST_DATABASE_URL") else [])


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    base = os.environ["MGD_TEST_DATABASE_URL"]
    schema = f"mgd_migrations_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# SQLite cannot reflect an index on an expression (the lines' ``coalesce(alias, '')``): it says so and
# the comparison leaves those out; PostgreSQL compares them.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_upgrade_matches_the_models_and_downgrade_undoes_it(empty_database):
    import_all()
    upgrade(empty_database)
    engine = make_engine(empty_database)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
    assert tables(empty_database) == set(Base.metadata.tables) | {"alembic_version"}
    downgrade(empty_database, "base")
    assert tables(empty_database) == {"alembic_version"}
    upgrade(empty_database)
    assert tables(empty_database) == set(Base.metadata.tables) | {"alembic_version"}


def test_existing_secrets_are_encrypted_on_upgrade_and_decrypted_on_downgrade(empty_database):
    keys = Fernet.generate_key().decode()
    upgrade(empty_database, "7c1e5d2a9b40")
    engine = make_engine(empty_database)
    now = datetime.now(UTC)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (email, name, password_hash, password_is_temporary, is_active, "
                    "failed_logins, session_epoch, created_at, updated_at, totp_secret) "
                    "VALUES ('ana@example.es', 'Ana', 'x', false, true, 0, 0, :now, :now, 'JBSWY3DPEHPK3PXP')"
                ),
                {"now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO outbox_messages (channel, recipient, body_text, body_html, status, attempts, "
                    "created_at, updated_at) VALUES ('email', 'ana@example.es', 'Tu código es 123456', "
                    "'<p>123456</p>', 'sent', 1, :now, :now)"
                ),
                {"now": now},
            )
        upgrade(empty_database, encryption_keys=keys)
        stored = row(engine)
        assert "123456" not in " ".join(stored) and "JBSWY3DPEHPK3PXP" not in stored
        assert [Fernet(keys).decrypt(value.encode()).decode() for value in stored] == [
            "Tu código es 123456",
            "<p>123456</p>",
            "JBSWY3DPEHPK3PXP",
        ]
        downgrade(empty_database, "7c1e5d2a9b40", encryption_keys=keys)
        assert row(engine) == ("Tu código es 123456", "<p>123456</p>", "JBSWY3DPEHPK3PXP")
    finally:
        engine.dispose()


def row(engine) -> tuple[str, ...]:
    with engine.connect() as connection:
        return tuple(
            connection.execute(
                text("SELECT m.body_text, m.body_html, u.totp_secret FROM outbox_messages m, users u")
            ).one()
        )


def test_invoices_stored_before_the_summaries_get_them_on_upgrade(empty_database):
    """7d3b51c0a2e4 sums the charges already stored into the new summary tables; ddef7dcca28c sums them again
    by line and rate; each downgrade puts back the shape before."""
    upgrade(empty_database, "e0aac472dff6")
    engine = make_engine(empty_database)
    now = datetime.now(UTC)
    try:
        with engine.begin() as connection:
            run = lambda sql, **values: connection.execute(text(sql), {"now": now, **values})  # noqa: E731
            run(
                "INSERT INTO companies (id, public_ref, fiscal_id, fiscal_id_kind, name, segment, created_at,"
                " updated_at) VALUES (1, 'ref1', 'B12345674', 'cif', 'Acme', 'pyme', :now, :now)"
            )
            run(
                "INSERT INTO billing_accounts (id, tenant_id, ref, kind, iban, invoice_delivery, created_at,"
                " updated_at) VALUES (1, 1, 'BA-1', 'mobile', 'ES7921000813610123456789', 'paper', :now, :now)"
            )
            run(
                "INSERT INTO invoices (id, tenant_id, billing_account_id, number, period_start, period_end,"
                " issued_on, due_on, net_cents, vat_cents, total_cents, status, created_at, updated_at)"
                " VALUES (1, 1, 1, 'F-1', '2026-09-01', '2026-09-30', '2026-10-05', '2026-10-25', 1400, 273,"
                " 1673, 'issued', :now, :now)"
            )
            for position, line, concept, net, rate, vat in (
                (1, None, "fee", 1000, "21.00", 210),
                (2, 7, "usage", 300, "21.00", 63),
                (3, 7, "usage", 100, "0.00", 0),
            ):
                run(
                    "INSERT INTO invoice_charges (tenant_id, invoice_id, position, line_id, concept, description,"
                    " net_cents, vat_rate, vat_cents, total_cents)"
                    " VALUES (1, 1, :position, :line, :concept, 'x', :net, :rate, :vat, :total)",
                    position=position,
                    line=line,
                    concept=concept,
                    net=net,
                    rate=rate,
                    vat=vat,
                    total=net + vat,
                )
        upgrade(empty_database, "7d3b51c0a2e4")
        with engine.connect() as connection:
            lines = connection.execute(
                text(
                    "SELECT line_id, concept, CAST(vat_rate * 100 AS INTEGER), net_cents, vat_cents, total_cents"
                    " FROM invoice_line_totals ORDER BY line_id IS NULL, line_id, vat_rate"
                )
            ).all()
            rates = connection.execute(
                text(
                    "SELECT concept, CAST(vat_rate * 100 AS INTEGER), net_cents, vat_cents FROM invoice_vat_totals"
                    " ORDER BY concept, vat_rate"
                )
            ).all()
        assert [tuple(row) for row in lines] == [
            (7, "usage", 0, 100, 0, 100),
            (7, "usage", 2100, 300, 63, 363),
            (None, "fee", 2100, 1000, 210, 1210),
        ]
        assert [tuple(row) for row in rates] == [
            ("fee", 2100, 1000, 210),
            ("usage", 0, 100, 0),
            ("usage", 2100, 300, 63),
        ]
        # ddef7dcca28c: a row per line and rate, the concepts in columns (the account's charges: line 0). On the
        # way, 0e723e89012d alters billing_accounts: on SQLite that copy must not delete the invoices (env.py).
        upgrade(empty_database, "ddef7dcca28c")
        with engine.connect() as connection:
            folded = connection.execute(
                text(
                    "SELECT line_id, CAST(vat_rate * 100 AS INTEGER), fee_cents, usage_cents, net_cents,"
                    " vat_cents, total_cents FROM invoice_line_totals ORDER BY line_id, vat_rate"
                )
            ).all()
        assert [tuple(row) for row in folded] == [
            (0, 2100, 1000, 0, 1000, 210, 1210),
            (7, 0, 0, 100, 100, 0, 100),
            (7, 2100, 0, 300, 300, 63, 363),
        ]
        downgrade(empty_database, "7d3b51c0a2e4")
        with engine.connect() as connection:
            again = connection.execute(
                text(
                    "SELECT line_id, concept, CAST(vat_rate * 100 AS INTEGER), net_cents, vat_cents, total_cents"
                    " FROM invoice_line_totals ORDER BY line_id IS NULL, line_id, vat_rate"
                )
            ).all()
        assert again == lines
        downgrade(empty_database, "e0aac472dff6")
        assert not {"invoice_line_totals", "invoice_vat_totals"} & tables(empty_database)
    finally:
        engine.dispose()

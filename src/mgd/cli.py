"""The ``mgd`` command: database migrations, records import, demo data, the web server and the job worker."""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path

import click
from flask import Flask

from mgd.config import ConfigError


def _app(ctx: click.Context) -> Flask:
    """The app, built once per command from the environment; a bad setting ends the command with its name."""
    if "app" not in ctx.meta:
        from mgd import create_app  # noqa: PLC0415

        try:
            ctx.meta["app"] = create_app()
        except ConfigError as exc:
            raise click.ClickException(f"configuration: {exc}") from None
    return ctx.meta["app"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """MGD, the business customers' portal. Settings come from MGD_* variables (docs/configuration.md)."""


# ---- database ------------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Create and migrate the database schema (Alembic revisions in the package, mgd/migrations/versions/)."""


@db.command("upgrade")
@click.argument("revision", default="head")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    from mgd.db import database  # noqa: PLC0415
    from mgd.migrate import grant_app_role, register_operator_key, upgrade  # noqa: PLC0415

    app = _app(ctx)
    config = app.config
    owner_url = config["DATABASE_OWNER_URL"] or config["DATABASE_URL"]
    upgrade(owner_url, revision, config["ENCRYPTION_KEYS"])
    register_operator_key(owner_url, database(app).operator_key)
    grant_app_role(owner_url, config["DATABASE_URL"])


@db.command("downgrade")
@click.argument("revision")
@click.pass_context
def db_downgrade(ctx: click.Context, revision: str) -> None:
    """Migrate the database down to REVISION ('base' removes every table)."""
    from mgd.migrate import downgrade  # noqa: PLC0415

    config = _app(ctx).config
    downgrade(config["DATABASE_OWNER_URL"] or config["DATABASE_URL"], revision, config["ENCRYPTION_KEYS"])


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the revision does; its file name is made of it.")
@click.option(
    "--autogenerate",
    is_flag=True,
    help="Compare the models with the configured database (migrated to the newest revision) and write the "
    "differences: a draft to read and correct by hand (docs/development.md).",
)
@click.pass_context
def db_revision(ctx: click.Context, message: str, autogenerate: bool) -> None:
    """For developers: write a new revision into src/mgd/migrations/versions/ and print its path."""
    from alembic.util import CommandError  # noqa: PLC0415

    from mgd.migrate import NotASourceTree, revision  # noqa: PLC0415

    database_url = None
    if autogenerate:
        config = _app(ctx).config
        database_url = config["DATABASE_OWNER_URL"] or config["DATABASE_URL"]
    try:
        path = revision(message, database_url)
    except (CommandError, NotASourceTree) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {path}: read it, correct it and give it a working downgrade before committing it.")


@main.group("secrets")
def secrets_group() -> None:
    """Secrets at rest: encryption keys and their rotation (docs/security.md)."""


@secrets_group.command("new-key")
def secrets_new_key() -> None:
    """Print a new random key for MGD_ENCRYPTION_KEYS."""
    from mgd.crypto import new_key  # noqa: PLC0415

    click.echo(new_key())


@secrets_group.command("rotate")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 10_000))
@click.pass_context
def secrets_rotate(ctx: click.Context, batch: int) -> None:
    """Encrypt every stored secret again under the first key of MGD_ENCRYPTION_KEYS, one committed batch at a
    time. Safe to run again (after an interruption too); afterwards the older keys can be removed."""
    from mgd.crypto import SecretUnreadable, encrypted_columns, keyring, rotate_batch  # noqa: PLC0415
    from mgd.db import Base, get_session, operator_scope  # noqa: PLC0415
    from mgd.models import import_all  # noqa: PLC0415

    import_all()
    with _app(ctx).app_context():
        session, keys = get_session(), keyring()
        for column in encrypted_columns(Base.metadata):
            after, changed = 0, 0
            try:
                while after is not None:
                    # Every company's rows (a tenant table's secrets, the lines' PUKs, are behind RLS).
                    with operator_scope(session, "secrets rotate"):
                        after, count = rotate_batch(session, column, keys, after, batch)
                    session.commit()
                    changed += count
            except SecretUnreadable as exc:
                raise click.ClickException(f"{column.table.name}.{column.name}: {exc}") from None
            click.echo(f"{column.table.name}.{column.name}: {changed} re-encrypted")


# ---- operator records ----------------------------------------------------------------------------------


@main.group()
def records() -> None:
    """Operator records: companies, interlocutors, billing accounts, lines and tariffs."""


@records.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report what would change; write nothing.")
@click.pass_context
def records_import(ctx: click.Context, paths: tuple[Path, ...], dry_run: bool) -> None:
    """Import PATHS: a JSON records document, and billing and usage files of one kind each (invoices, charges,
    payments, usage; .csv or .jsonl, read as streams) or directories of them (docs/records.md,
    docs/billing.md, docs/usage.md).

    All or nothing; importing the same files again changes nothing.
    """
    billing = [path for path in paths if path.is_dir() or path.suffix.lower() in (".csv", ".jsonl")]
    documents = [path for path in paths if path not in billing]
    if len(documents) > 1:
        raise click.UsageError("give one JSON records document at most")
    with _app(ctx).app_context():
        counts = _import(documents[0] if documents else None, billing, dry_run=dry_run)
    verb = "would be" if dry_run else "were"
    for table, count in counts.items():
        changes = f"{count.created} {verb} created, {count.updated} {verb} updated"
        removed = f", {count.removed} {verb} removed" if getattr(count, "removed", 0) else ""
        click.echo(f"{table}: {changes}, {count.unchanged} unchanged{removed}")
    if dry_run:
        click.echo("Dry run: nothing was written.")


def _import(document: str | Path | None, files: list[Path] = (), *, dry_run: bool = False) -> dict:
    """Validate and import a document (its text, or its file), billing and usage files in one transaction:
    committed whole, or not at all. The counts of each table."""
    from sqlalchemy.exc import DBAPIError  # noqa: PLC0415

    from mgd.billing.records.load import import_files  # noqa: PLC0415
    from mgd.db import get_session  # noqa: PLC0415
    from mgd.tenants.records.validate import RecordsInvalid  # noqa: PLC0415
    from mgd.usage.records import import_usage, is_usage_file  # noqa: PLC0415

    files = [
        f
        for path in files
        for f in (sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path])
    ]
    usage = [path for path in files if is_usage_file(path)]
    session = get_session()
    try:
        counts = import_files(session, document, [path for path in files if path not in usage])
        if usage:
            counts |= import_usage(session, usage)
    except UnicodeDecodeError as exc:
        session.rollback()
        raise click.ClickException(f"{document}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except DBAPIError as exc:  # what validation missed, the database refuses: no traceback, nothing kept
        session.rollback()
        click.echo(f"error: the database refused the records: {str(exc.orig).splitlines()[0]}", err=True)
        click.echo("Nothing was imported.", err=True)
        raise click.exceptions.Exit(1) from None
    except RecordsInvalid as exc:
        session.rollback()
        for error in exc.errors:
            click.echo(f"error: {error}", err=True)
        if exc.total > len(exc.errors):
            click.echo(f"… and {exc.total - len(exc.errors)} more errors", err=True)
        click.echo(f"Nothing was imported ({exc.total} error(s)).", err=True)
        raise click.exceptions.Exit(1) from None
    if dry_run:
        session.rollback()
    else:
        session.commit()
        if usage:  # new usage may cross the companies' alert thresholds
            from mgd.usage.alert_tasks import evaluate_all_alerts  # noqa: PLC0415

            evaluate_all_alerts.send()
    return counts


@main.command()
@click.option("--companies", default=60, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--seed", default=1489, show_default=True, help="The same seed always gives the same data.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has companies.")
@click.option(
    "--billing-months",
    default=18,
    show_default=True,
    type=click.IntRange(0, 60),
    help="Months of invoices and payments before the current one.",
)
@click.pass_context
def demo(ctx: click.Context, companies: int, seed: int, if_empty: bool, billing_months: int) -> None:
    """Load realistic demo records and print ready-to-try registration examples."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from mgd.db import get_session  # noqa: PLC0415
    from mgd.helpcentre.demo import add_demo_articles  # noqa: PLC0415
    from mgd.orders.demo import add_sim_cards  # noqa: PLC0415
    from mgd.tenants.demo import demo_document, registration_examples  # noqa: PLC0415
    from mgd.tenants.demo_billing import add_billing  # noqa: PLC0415
    from mgd.tenants.services import has_companies  # noqa: PLC0415
    from mgd.usage.demo import add_allowances, usage_rows, write_usage_file  # noqa: PLC0415
    from mgd.usage.partitions import MADRID  # noqa: PLC0415

    today = datetime.now(MADRID).date()
    document = demo_document(companies=companies, seed=seed)
    if billing_months:
        document = add_billing(document, months=billing_months, until=datetime.now(UTC).date(), seed=seed)
    with _app(ctx).app_context():
        if if_empty and has_companies(get_session()):
            click.echo("The database already has companies: demo data not loaded.")
            return
        with tempfile.TemporaryDirectory() as folder:
            usage = Path(folder) / "usage-demo.csv"
            records = write_usage_file(usage_rows(document, today), usage)
            _import(json.dumps(document), [usage])
        session = get_session()
        add_allowances(session, today)
        add_sim_cards(session, seed)
        articles = add_demo_articles(session)
        session.commit()
    click.echo(f"Loaded {companies} demo companies ({records} usage records) and {articles} help articles.")
    click.echo("Try registering one of these:")
    for example in registration_examples(document):
        click.echo(f"\n  [{example.segment} · {example.mix}]")
        click.echo(f"    fiscal ID: {example.fiscal_id}    email: {example.email}")
        click.echo(
            f"    phone: {example.phone}"
            + (f"    mobile for the code: {example.mobile}" if example.mobile else "")
        )
        for kind, iban in example.ibans.items():
            click.echo(f"    IBAN of the {kind} lines: {iban}")


@main.group()
def usage() -> None:
    """Consumption: the storage of usage records (docs/usage.md)."""


@usage.command("partitions")
@click.option(
    "--ahead", default=3, show_default=True, type=click.IntRange(0, 23), help="Months after this one."
)
@click.option(
    "--detach-before",
    metavar="YYYY-MM",
    help="Detach the partitions of the months before this one (as MGD_DATABASE_OWNER_URL's role) and delete "
    "their daily sums; the detached tables stay, for the operator to archive or drop.",
)
@click.pass_context
def usage_partitions(ctx: click.Context, ahead: int, detach_before: str | None) -> None:
    """PostgreSQL: make the monthly partitions of usage records ahead, list them, detach old ones. SQLite
    keeps one plain table: nothing to do."""
    from datetime import date, datetime  # noqa: PLC0415

    from sqlalchemy.orm import Session  # noqa: PLC0415

    from mgd.db import get_session, make_engine  # noqa: PLC0415
    from mgd.usage.partitions import MADRID, ensure_ahead, partitions  # noqa: PLC0415
    from mgd.usage.partitions import detach_before as detach  # noqa: PLC0415

    month = None
    if detach_before is not None:
        try:
            month = date.fromisoformat(detach_before + "-01")
        except ValueError:
            raise click.BadParameter("a month as YYYY-MM", param_hint="--detach-before") from None
    app = _app(ctx)
    with app.app_context():
        session = get_session()
        if session.get_bind().dialect.name != "postgresql":
            click.echo("SQLite: usage records are one plain table, without partitions.")
            return
        made = ensure_ahead(session, datetime.now(MADRID).date(), ahead)
        session.commit()
        click.echo(f"Partitions ready: {', '.join(made)}")
        if month is not None:
            engine = make_engine(app.config["DATABASE_OWNER_URL"] or app.config["DATABASE_URL"])
            try:
                with Session(engine) as owner:
                    detached = detach(owner, month)
                    owner.commit()
            finally:
                engine.dispose()
            click.echo(f"Detached: {', '.join(detached) or 'none'}")
        listed = [p.name for p in partitions(session)]
        click.echo(f"Attached: {', '.join(listed)}")


@main.group()
def users() -> None:
    """Portal users: the operator's staff."""


@users.command("create-staff")
@click.argument("email")
@click.option("--role", type=click.Choice(["advisor", "supervisor"]), required=True)
@click.option("--name", default="", help="Full name (default: the part of the email before @).")
@click.pass_context
def users_create_staff(ctx: click.Context, email: str, role: str, name: str) -> None:
    """Create a back-office user; its temporary password is printed once, here."""
    from mgd.db import get_session  # noqa: PLC0415
    from mgd.identifiers import InvalidIdentifier, normalize_email  # noqa: PLC0415
    from mgd.security.services import StaffExists, create_staff  # noqa: PLC0415

    try:
        email = normalize_email(email)
    except InvalidIdentifier as exc:
        raise click.ClickException(f"EMAIL: {exc}") from None
    with _app(ctx).app_context():
        session = get_session()
        try:
            user, password = create_staff(session, email, name or email.split("@")[0], role)
        except StaffExists:
            raise click.ClickException(f"EMAIL: {email} already belongs to a user") from None
        session.commit()
    click.echo(f"Created {role} {user.email}. Temporary password (shown only now, valid 7 days): {password}")


# ---- processes -----------------------------------------------------------------------------------------

#: Seconds between passes of the outbox purge (bodies older than MGD_OUTBOX_RETENTION_DAYS are erased).
PURGE_EVERY = 3600


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--production",
    is_flag=True,
    help="Migrate the database, then serve with gunicorn (settings: mgd.gunicorn_conf; jobs: `mgd worker`).",
)
@click.option("--no-migrate", is_flag=True, help="With --production: serve without migrating first.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, production: bool, no_migrate: bool) -> None:
    """Serve the portal: the development server, or gunicorn with --production.

    On the development server, with no MGD_BROKER_URL, jobs run in this process.
    """
    app = _app(ctx)
    if production:
        _serve_production(ctx, app, f"{host}:{port}", migrate=not no_migrate)
        return
    from werkzeug.serving import run_simple  # noqa: PLC0415

    from mgd.chat import stream  # noqa: PLC0415
    from mgd.chat.tasks import purge_chats  # noqa: PLC0415
    from mgd.db import database  # noqa: PLC0415
    from mgd.jobs import every, start_worker  # noqa: PLC0415
    from mgd.notify.tasks import purge_outbox, relay_outbox  # noqa: PLC0415
    from mgd.usage import alert_tasks  # noqa: PLC0415
    from mgd.usage import tasks as usage_tasks  # noqa: PLC0415

    stream.serve_waits(app, database(app).engine)  # a threaded server: it may hold the chat's waits
    in_process = not app.config["BROKER_URL"]
    if in_process:
        worker = start_worker(app)
        stop_relay = every(30, relay_outbox.send)
        stop_purge = every(PURGE_EVERY, purge_outbox.send)
        stop_chats = every(PURGE_EVERY, purge_chats.send)
        stop_partitions = every(usage_tasks.EVERY, usage_tasks.ensure_usage_partitions.send)
        stop_alerts = every(alert_tasks.EVERY, alert_tasks.evaluate_all_alerts.send)
    click.echo(f"MGD portal on http://{host}:{port}/" + ("  (jobs in this process)" if in_process else ""))
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        if in_process:
            stop_relay.set()
            stop_purge.set()
            stop_chats.set()
            stop_partitions.set()
            stop_alerts.set()
            worker.stop()


@main.command("serve-stream")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535))
@click.pass_context
def serve_stream(ctx: click.Context, host: str, port: int) -> None:
    """Serve the chat's waiting requests (`…/chat/<id>/espera`) with gunicorn (settings:
    mgd.gunicorn_stream_conf): the proxy routes those paths here (docs/chat.md)."""
    _app(ctx)  # the settings' checks, before gunicorn starts
    bind = f"{host}:{port}"
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:mgd.gunicorn_stream_conf", "--bind", bind]
    click.echo(f"MGD chat stream: gunicorn on {bind}")
    os.execv(sys.executable, [*argv, "mgd.stream_wsgi:app"])  # noqa: S606 (our own interpreter, fixed arguments)


def _serve_production(ctx: click.Context, app: Flask, bind: str, *, migrate: bool) -> None:
    """Migrate (as the tables' owner), then replace this process with gunicorn serving ``mgd.wsgi:app``."""
    if not app.config["BROKER_URL"]:
        raise click.ClickException(
            "MGD_BROKER_URL is empty: gunicorn runs no jobs; set a broker and run `mgd worker`."
        )
    if migrate:
        ctx.invoke(db_upgrade)
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:mgd.gunicorn_conf",
        "--bind",
        bind,
        "mgd.wsgi:app",
    ]
    click.echo(f"MGD portal: gunicorn on {bind}")
    os.execv(sys.executable, argv)  # noqa: S606 (our own interpreter, fixed arguments)


@main.command()
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--relay-every",
    default=30,
    show_default=True,
    type=click.IntRange(5, 3600),
    help="Seconds between passes of the outbox relay.",
)
@click.pass_context
def worker(ctx: click.Context, threads: int, relay_every: int) -> None:
    """Run job workers on MGD_BROKER_URL until stopped (Ctrl-C or SIGTERM).

    With MGD_METRICS_ENABLED, dramatiq's Prometheus metrics are served on port 9191 (docs/deployment.md).
    """
    from mgd.config import parse_bool  # noqa: PLC0415

    if parse_bool(os.environ.get("MGD_METRICS_ENABLED", "")):
        # dramatiq's middleware counts in multiprocess files: prometheus_client must know before its import.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _prom_db()
    from mgd.chat.tasks import purge_chats  # noqa: PLC0415
    from mgd.jobs import every, serve_worker_metrics, start_worker  # noqa: PLC0415
    from mgd.notify.tasks import purge_outbox, relay_outbox  # noqa: PLC0415
    from mgd.usage import alert_tasks  # noqa: PLC0415
    from mgd.usage import tasks as usage_tasks  # noqa: PLC0415

    app = _app(ctx)
    if not app.config["BROKER_URL"]:
        raise click.ClickException("MGD_BROKER_URL is empty: `mgd serve` runs the jobs in-process instead.")
    if app.config["METRICS_ENABLED"]:
        serve_worker_metrics(app)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    running = start_worker(app, threads)
    stop_relay = every(relay_every, relay_outbox.send)
    stop_purge = every(PURGE_EVERY, purge_outbox.send)
    stop_chats = every(PURGE_EVERY, purge_chats.send)
    stop_partitions = every(usage_tasks.EVERY, usage_tasks.ensure_usage_partitions.send)
    stop_alerts = every(alert_tasks.EVERY, alert_tasks.evaluate_all_alerts.send)
    click.echo(f"worker: {threads} threads on {app.config['BROKER_URL'].split('@')[-1]}")
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_relay.set()
        stop_purge.set()
        stop_chats.set()
        stop_partitions.set()
        stop_alerts.set()
        running.stop()


def _prom_db() -> str:
    from dramatiq.middleware.prometheus import DB_PATH  # noqa: PLC0415

    return DB_PATH

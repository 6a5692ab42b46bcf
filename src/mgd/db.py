"""The database: one engine and session factory per app, the declarative base, and the tenant guard.

A request (or job, or command) gets one session from ``get_session()``; services flush, the edge commits.
Tenant-owned rows can only be queried once a tenant is set on the session (``set_tenant``) or inside an
explicit, logged operator scope (``operator_scope``): a query without either raises ``TenantScopeError``.
On PostgreSQL an operator scope is opened with a key that the database knows only by its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, current_app, g
from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    cast,
    create_engine,
    event,
    false,
    func,
    inspect,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: 64-bit keys on PostgreSQL; SQLite only auto-increments a plain INTEGER primary key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TenantOwned:
    """Mixin of every table that belongs to one company: the guard scopes all its queries."""

    tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"))


class TenantScopeError(RuntimeError):
    """A tenant-owned class was queried with no tenant set and outside an operator scope."""


def set_tenant(session: Session, tenant_id: int, *, user_id: int | None = None, shared: bool = False) -> None:
    """Scope every later query of tenant-owned classes in ``session`` to one company (and, on PostgreSQL, the
    transaction's Row-Level Security setting with it); ``user_id`` also lets the signed-in user read their own
    memberships of other companies (how many there are). ``shared``: the statement that found the company
    has already told PostgreSQL (``scope_columns``)."""
    _flush_in_scope(session)
    session.info["tenant_id"] = tenant_id
    if user_id is not None:
        session.info["user_id"] = user_id
    if shared:
        session.info.pop(_PENDING, None)
    else:
        _share_scope(session)


@contextmanager
def tenant_scope(session: Session, tenant_id: int) -> Iterator[Session]:
    """Scope the session to one company for a block, then back to what it was (factories, mixed work)."""
    previous = session.info.get("tenant_id")
    set_tenant(session, tenant_id)
    try:
        yield session
    finally:
        _flush_in_scope(session)
        if previous is None:
            session.info.pop("tenant_id", None)
        else:
            session.info["tenant_id"] = previous
        _share_scope(session)


@contextmanager
def operator_scope(session: Session, reason: str) -> Iterator[Session]:
    """Let the operator's own tools (records import, demo, back office) read across tenants, logged."""
    log.info("operator scope opened: %s", reason)
    previous = session.info.get("operator_scope")
    _flush_in_scope(session)
    session.info["operator_scope"] = reason
    _share_scope(session)
    try:
        yield session
    finally:
        _flush_in_scope(session)
        session.info["operator_scope"] = previous
        _share_scope(session)


_SCOPE_SQL = text(
    "SELECT set_config('mgd.tenant_id', :tenant, true), set_config('mgd.operator', :operator, true), "
    "set_config('mgd.user_id', :user, true)"
)
#: ``session.info`` key: the scope changed since PostgreSQL was last told, within the open transaction.
_PENDING = "scope_pending"
_BEGUN = "transactions_begun"


def operator_key(secret_key: str) -> str:
    """What opens an operator scope under Row-Level Security. PostgreSQL keeps only its SHA-256
    (``mgd.migrate.register_operator_key``), so SQL run as the portal's role cannot forge it."""
    return hmac.new(secret_key.encode(), b"mgd.operator-scope", hashlib.sha256).hexdigest()


def _scope_values(session: Session) -> dict[str, str]:
    tenant_id, user_id = session.info.get("tenant_id"), session.info.get("user_id")
    return {
        "tenant": "" if tenant_id is None else str(tenant_id),
        "operator": database().operator_key if session.info.get("operator_scope") else "",
        "user": "" if user_id is None else str(user_id),
    }


def _share_scope(session: Session) -> None:
    """Tell PostgreSQL the session's scope for Row-Level Security, for this transaction only: ``set_config``
    with ``is_local`` is ``SET LOCAL``, so a pooled connection never carries it into the next transaction.

    Lazily: the change is sent with the next statement of the session (``_send_pending_scope``), so that
    scopes opened and closed with no statement between them, or set before a transaction begins, cost no
    round trip."""
    if session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        session.info[_PENDING] = True


def _flush_in_scope(session: Session) -> None:
    """Before the scope changes, write what the session holds under the scope it was changed in (as the
    autoflush of an immediate ``set_config`` did): a row changed inside an operator scope is written inside
    it. Nothing is sent when nothing is pending; only on PostgreSQL, where the scope binds the writes."""
    if session.autoflush and session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        session.flush()


def scope_columns(session: Session, tenant_id, user_id: int | None = None) -> tuple:
    """Columns that set the Row-Level Security scope as a side effect of the statement that selects them:
    the company found by that statement (``tenant_id`` a column or value) and the signed-in user. For a
    statement that reads no tenant table (the company's own row): the scope is then set without a round trip
    of its own; pair it with ``set_tenant(..., shared=True)``. None on other databases than PostgreSQL."""
    if session.get_bind().dialect.name != "postgresql":
        return ()
    return (
        func.set_config("mgd.tenant_id", cast(tenant_id, String), True),
        func.set_config("mgd.operator", "", True),
        func.set_config("mgd.user_id", "" if user_id is None else str(user_id), True),
    )


def _send_pending_scope(session: Session) -> None:
    if not session.info.pop(_PENDING, False):
        return
    begun = session.info.get(_BEGUN, 0)
    connection = session.connection()
    if session.info.get(_BEGUN, 0) == begun:  # (a transaction that begins just now is told by its start)
        connection.execute(_SCOPE_SQL, _scope_values(session))


@event.listens_for(Session, "after_begin")
def _scope_new_transaction(session: Session, _transaction, connection) -> None:
    """A new transaction starts with PostgreSQL's settings empty: say the scope only if there is one."""
    session.info.pop(_PENDING, None)
    session.info[_BEGUN] = session.info.get(_BEGUN, 0) + 1
    if connection.dialect.name == "postgresql" and any(_scope_values(session).values()):
        connection.execute(_SCOPE_SQL, _scope_values(session))


@event.listens_for(Session, "before_flush")
def _scope_before_flush(session: Session, _context, _instances) -> None:
    _send_pending_scope(session)


def _is_tenant_owned(mapper) -> bool:
    return issubclass(mapper.class_, TenantOwned)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    _send_pending_scope(state.session)
    if not (state.is_select or state.is_update or state.is_delete) or state.is_column_load:
        return
    if state.session.info.get("operator_scope"):
        return
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None:
        if any(_is_tenant_owned(mapper) for mapper in state.all_mappers):
            names = sorted(m.class_.__name__ for m in state.all_mappers if _is_tenant_owned(m))
            raise TenantScopeError(f"query of {', '.join(names)} with no tenant set")
        # Tenant-owned entities reached through joins or relationships yield nothing rather than leak.
        state.statement = state.statement.options(
            with_loader_criteria(
                TenantOwned, lambda cls: false(), include_aliases=True, propagate_to_loaders=False
            )
        )
        return
    state.statement = state.statement.options(
        with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )


def increment(session: Session, row: Base, column: str, *conditions, below: int | None = None) -> int | None:
    """Add one to ``row``'s counter ``column`` in the database, if ``conditions`` hold and the counter is
    below ``below``; the new value, or None when nothing was added.

    One conditional UPDATE, never read-modify-write: the row stays locked from the UPDATE to the commit, so
    parallel requests take their turns and none can count past the limit.
    """
    model = row.__class__  # (not type(): current_user is a proxy)
    counter = getattr(model, column)
    mapper = inspect(model)
    identity = zip(mapper.primary_key, mapper.primary_key_from_instance(row), strict=True)
    statement = (
        update(model)
        .where(*(key == value for key, value in identity), *conditions)
        .values({counter: counter + 1})
        .returning(counter)
        .execution_options(synchronize_session=False)
    )
    if below is not None:
        statement = statement.where(counter < below)
    value = session.scalar(statement)
    if value is not None:
        set_committed_value(row, column, value)
    return value


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    operator_key: str


#: PostgreSQL settings of every connection: no JIT compilation. It starts when a plan's estimated cost passes
#: ``jit_above_cost``, which the correlated sub-selects of a page of lines with their allowance reach (each
#: estimated over every line's daily sums), and then compiles for ~0.5 s what runs in ~20 ms: the lines page
#: of a 5,000-line company with a million usage records took 650 ms of PostgreSQL, not 50 (``docs/usage.md``).
#: The portal's statements are short; none gains from it.
POSTGRESQL_OPTIONS = "-c jit=off"


def make_engine(url: str, **kwargs) -> Engine:
    """An engine with the per-backend settings the portal relies on (SQLite: foreign keys, transactions;
    PostgreSQL: ``POSTGRESQL_OPTIONS``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        _make_sqlite_transactional(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # Added to the URL's own ``options`` (a search path, say): the connect argument would replace them.
        options = " ".join(filter(None, [parsed.query.get("options"), POSTGRESQL_OPTIONS]))
        kwargs.setdefault("connect_args", {"options": options})
    return create_engine(url, pool_pre_ping=True, **kwargs)


#: Execution option of a connection that only reads (see ``_make_sqlite_transactional``).
READ_ONLY = "mgd_read_only"


def _make_sqlite_transactional(engine: Engine) -> None:
    """SQLite transactions that never fail on a concurrent writer.

    A deferred ``BEGIN`` reads first and asks for the write lock at its first write; when another connection
    writes meanwhile, SQLite answers "database is locked" at once, since waiting could deadlock: the busy
    timeout does not apply to that upgrade. ``BEGIN IMMEDIATE`` takes the write lock up front, waiting up to
    the busy timeout for it, so writers queue instead of failing; in WAL mode readers are never blocked.
    A connection opened with the ``READ_ONLY`` option (rows streamed to a download while the request's own
    transaction is still open) begins deferred: it must not queue behind the request that opened it.
    """

    # pysqlite's own transaction handling breaks SAVEPOINT and BEGIN modes; SQLAlchemy documents this fix.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        read_only = connection.get_execution_options().get(READ_ONLY)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["mgd.db"] = Database(
        engine, sessionmaker(engine, expire_on_commit=False), operator_key(app.config["SECRET_KEY"])
    )
    app.teardown_appcontext(_close_session)


def database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["mgd.db"]


def get_session() -> Session:
    """The session of the current app context (request, job or command), created on first use."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    return g.db_session


def session_in_use() -> Session | None:
    """The session of the current app context if it has made one; None if it never used the database."""
    return g.get("db_session")


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()

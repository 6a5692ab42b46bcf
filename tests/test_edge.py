"""Commit once at the edge: what a request wrote is committed when its handler returns a response (whatever its
status), and nothing of it when the handler raises; only the edge, the CLI and the jobs commit; a company page
is one transaction of a few statements."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import abort
from sqlalchemy import event, select

import mgd
from mgd.db import database, get_session, operator_scope
from mgd.jobs import broker_of
from mgd.notify.services import queue_sms
from mgd.security.audit import Origin, record_event
from mgd.security.models import AuditEvent
from mgd.web.edge import keep_on_failure
from tests.accounts import add_member, create_company
from tests.environment import empty_tables
from tests.kit import signed_in_client, text

SOURCE = Path(mgd.__file__).parent

#: The only modules that end a transaction: the request's edge, the commands, and the actors (each job is a
#: transaction of its own). Views, request hooks and services never do; the records import and the demo data
#: are committed by the commands that run them.
COMMITTING = {
    "web/edge.py",
    "cli.py",
    "notify/tasks.py",
    "usage/tasks.py",
    "usage/alert_tasks.py",
    "orders/tasks.py",
    "chat/tasks.py",
    "migrations/env.py",  # ends the read transaction autogenerate leaves open, before SQLite's keys go back on
}


def test_only_the_edge_the_commands_and_the_jobs_commit_or_roll_back():
    ending = re.compile(r"\.(commit|rollback)\(")
    found = {
        path.relative_to(SOURCE).as_posix()
        for path in SOURCE.rglob("*.py")
        if ending.search(path.read_text(encoding="utf-8"))
    }
    assert found == COMMITTING


@pytest.fixture
def edge_app(make_app):
    """A portal (as in production: errors are pages, not propagated) with pages that write and then end in
    every way a page can."""
    app = make_app(ENV="development")

    def write(action: str) -> None:
        record_event(get_session(), action, Origin.of_request())

    @app.get("/edge/returns")
    def returns():
        write("edge.returned")
        return "written"

    @app.get("/edge/refuses")
    def refuses():
        write("edge.refused")
        return "counted, and refused", 422

    @app.get("/edge/aborts")
    def aborts():
        write("edge.aborted")
        abort(409)

    @app.get("/edge/raises")
    def raises():
        write("edge.raised")
        raise RuntimeError("a bug after a write")

    @app.get("/edge/keeps")
    def keeps():
        origin = Origin.of_request()
        keep_on_failure(lambda db: record_event(db, "edge.kept", origin))
        write("edge.not_kept")
        abort(403)

    @app.get("/edge/commit-fails")
    def commit_fails():
        write("edge.commit_failed")
        get_session().add(AuditEvent(action=None))  # NOT NULL: refused when the commit flushes it
        return "this never leaves"

    @app.get("/edge/queues")
    def queues():
        queue_sms(get_session(), "+34612345678", "sent after the commit")
        return "queued"

    @app.get("/edge/queues-then-fails")
    def queues_then_fails():
        queue_sms(get_session(), "+34612345678", "never sent")
        abort(409)

    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return app, client


def actions(app) -> list[str]:
    with app.app_context():
        session = get_session()
        with operator_scope(session, "test"):
            query = select(AuditEvent.action).where(AuditEvent.action.like("edge.%")).order_by(AuditEvent.id)
            return list(session.scalars(query))


def test_what_a_page_writes_is_committed_when_it_returns(edge_app):
    app, client = edge_app
    assert client.get("/edge/returns").status_code == 200
    assert (
        client.get("/edge/refuses").status_code == 422
    )  # a refusal page is a response: what it counted stays
    assert actions(app) == ["edge.returned", "edge.refused"]


def test_nothing_of_a_page_that_raises_is_kept(edge_app):
    app, client = edge_app
    assert client.get("/edge/aborts").status_code == 409
    response = client.get("/edge/raises")
    assert response.status_code == 500 and "Something went wrong on our side" in text(response)
    assert actions(app) == []


def test_what_must_stand_is_written_again_after_the_rollback_of_a_failed_page(edge_app):
    app, client = edge_app
    assert client.get("/edge/keeps").status_code == 403
    assert actions(app) == ["edge.kept"]


def test_a_commit_that_fails_is_the_500_page_and_keeps_nothing(edge_app):
    app, client = edge_app
    response = client.get("/edge/commit-fails")
    assert response.status_code == 500
    assert "Something went wrong on our side" in text(response) and "this never leaves" not in text(response)
    assert actions(app) == []
    assert client.get("/edge/returns").status_code == 200  # the next request starts clean
    assert actions(app) == ["edge.returned"]


def test_messages_go_to_the_workers_after_the_commit_only(edge_app):
    app, client = edge_app
    broker = broker_of(app)
    broker.flush_all()
    assert client.get("/edge/queues-then-fails").status_code == 409
    assert client.get("/edge/queues").status_code == 200
    handed_over = [json.loads(raw)["args"][0] for raw in broker.queues["outbox"].queue]
    assert len(handed_over) == 1
    broker.flush_all()


@contextmanager
def counting(app) -> Iterator[Counter]:
    """How many SQL statements and transactions the app's database sees meanwhile."""
    engine, counts = database(app).engine, Counter()

    def statement(*_args) -> None:
        counts["statements"] += 1

    def transaction(_connection) -> None:
        counts["transactions"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "begin", transaction)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "begin", transaction)


#: Statements of each company page of a signed-in admin on PostgreSQL (issue #17: at most 5): the session with
#: its user; the company, which sets the Row-Level Security scope in the same statement; the membership with
#: the count of the user's companies; then the page's own. SQLite counts its ``BEGIN IMMEDIATE`` besides.
#: (There were 11–14 on PostgreSQL before, 4 of them ``set_config`` round trips.) Lists are asked for a
#: deeper page too (``after``): a keyset page costs what the first one does.
STATEMENTS = {
    # line counts by kind with the consumption card's sums (tenants.home.home_page), the billing card
    # (billing.queries.home_summary)
    "": 5,
    # the tariff catalogue (the filter; the page's lines find theirs in it), the page and count with each
    # line's allowance for the "near its allowance" marks (tenants.marks)
    "/lineas": 5,
    "/lineas?sort=-alias&kind=mobile": 5,
    "/lineas?after=%5B%22%2B34600000003%22%5D": 5,
    "/lineas?after=%5B%22%2B34600000003%22%2C30%5D": 5,  # the count carried by the link: not counted again
    "/lineas?sort=tariff": 5,
    "/usuarios": 5,  # the page of members with its count and the admins' count; the pending invitations
    "/usuarios?after=%5B%22A%22%2C1%5D": 5,
    "/actividad": 4,  # the page of events with its count
    "/actividad?person=ana": 4,
    "/pedidos": 6,  # the page of orders with its count, their lines, and those lines' numbers
    # the accounts' cycle days, then the three top tens and the cost centres in one statement (they were four)
    "/consumo/ranking": 5,
}
EXTRA = {"postgresql": 0, "sqlite": 1}


@pytest.fixture
def committing_app(live_app):
    """The portal whose commits really happen (not the rolled-back ``bound`` transaction), emptied after."""
    yield live_app
    empty_tables(live_app.config["DATABASE_OWNER_URL"] or live_app.config["DATABASE_URL"])


def test_a_company_page_is_one_transaction_of_a_few_statements(committing_app):
    company = create_company(committing_app, "Acme S.L.", 30)
    add_member(committing_app, company, "ana@acme.es", "admin")
    ana = signed_in_client(committing_app, "ana@acme.es")
    assert ana.get(f"/empresa/{company.ref}").status_code == 200  # the company is remembered: a write
    backend = database(committing_app).engine.dialect.name
    for page, most in STATEMENTS.items():
        with counting(committing_app) as counts:
            response = ana.get(f"/empresa/{company.ref}{page}")
        assert response.status_code == 200
        assert counts["transactions"] == 1, page
        assert counts["statements"] <= most + EXTRA[backend], (page, counts["statements"])

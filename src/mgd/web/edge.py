"""Commit once at the edge: the request's session is committed after its handler returns a response, and
rolled back when the handler raises. Views, hooks and services never commit; the outbox hands new messages to
the workers after this one commit (``mgd.notify.services``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress

from flask import Flask, g, got_request_exception
from flask.wrappers import Response
from sqlalchemy.orm import Session

from mgd.db import get_session, session_in_use

log = logging.getLogger(__name__)

_FAILED = "edge_failed"
_KEPT = "edge_kept"


def init_app(app: Flask) -> None:
    """Wired last by ``create_app``: its after-request hook then runs first, so the headers, the metrics and
    the log line that the other hooks write are those of the response that really leaves (a 500 if the commit
    fails)."""
    app.after_request(_commit)
    got_request_exception.connect(_failed_unhandled, app)
    handle_user_exception = app.handle_user_exception

    # Flask passes every exception of the before-request hooks and the view here (HTTP errors included)
    # and renders the error page from what this returns: roll back first, as the page may read the database.
    def rollback_then_handle(error: Exception):
        _fail()
        return handle_user_exception(error)

    app.handle_user_exception = rollback_then_handle


def keep_on_failure(work: Callable[[Session], object]) -> None:
    """Have ``work`` done again if the request fails: after the rollback, in a transaction of its own.

    For a write that must stand whatever the view does next, as it would if it were committed at once: a
    session's sign of life, the remembered company, the audit of a refused request.
    """
    g.setdefault(_KEPT, []).append(work)


def _commit(response: Response) -> Response:
    """Commit what the request did, before the response leaves: a client that follows a redirect sees it,
    and a commit that fails is a 500 (the error is raised again, and Flask renders the error page)."""
    if g.get(_FAILED):
        _redo_kept()
        return response
    session = session_in_use()
    if session is not None and session.in_transaction():
        try:
            session.commit()
        except Exception:
            _fail()
            raise
    return response


def _failed_unhandled(_sender: Flask, **_extra) -> None:
    """An exception no error handler took (the 500 page comes next), also one raised by ``_commit``."""
    _fail()


def _fail() -> None:
    """Discard the request's work; the error page and its hooks see a clean session."""
    g.setdefault(_FAILED, True)
    session = session_in_use()
    if session is not None:
        try:
            session.rollback()
        except Exception:
            log.exception("the rollback of a failed request failed; the session is closed at teardown")


def _redo_kept() -> None:
    """Undo whatever the error page did, then do again and commit the writes that stand anyway."""
    kept = g.pop(_KEPT, [])
    session = session_in_use()
    if session is None and not kept:
        return
    session = get_session()
    try:
        session.rollback()
        for work in kept:
            work(session)
        if kept:
            session.commit()
    except Exception:
        log.exception("the writes kept from a failed request could not be made")
        with suppress(Exception):
            session.rollback()

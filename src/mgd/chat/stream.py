"""Live chat news without polling: a request waits (long poll) until its conversation has a new message.

A message's insert announces it (``announce``): on PostgreSQL ``pg_notify('mgd_chat', '<tenant>:<id>')`` in
the inserting transaction, so it is delivered when (and only if) that transaction commits, to every process
listening, on any host; elsewhere (SQLite, development) after the commit, in this process only.

A process that holds waiting requests (the stream process, ``mgd serve-stream``, or the development server)
has one ``Hub`` (``serve_waits``): one thread with ONE PostgreSQL connection doing ``LISTEN mgd_chat``, which
wakes the request threads waiting on that conversation (a ``threading.Event`` each). A waiting request holds
no database connection. The payload carries only ids: a woken request reads its news again through the same
tenant-scoped getters as the polling endpoint, so a notification can wake a request, never show it anything.

Lost notifications (the listening connection dropped) wake every waiter, which read again; without a
listener (SQLite, PostgreSQL unreachable) waiters read again every ``FALLBACK_CHECK_SECONDS``. A process
without a hub (the page workers) never holds a request: its waits answer at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHANNEL = "mgd_chat"
#: How often a waiter reads again when no listener delivers notifications (SQLite; PostgreSQL down).
FALLBACK_CHECK_SECONDS = 2.0
_EXTENSION = "mgd.chat_stream"
_PENDING = "mgd.chat_news"  # session.info: conversations announced in the open transaction (not PostgreSQL)


def key(tenant_id: int, conversation_id: int) -> str:
    return f"{tenant_id}:{conversation_id}"


def announce(session: Session, tenant_id: int, conversation_id: int) -> None:
    """Say that the conversation has news, when the session's transaction commits (not before, not if it
    rolls back)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": key(tenant_id, conversation_id)},
        )
    else:
        session.info.setdefault(_PENDING, set()).add(key(tenant_id, conversation_id))


@event.listens_for(Session, "after_commit")
def _publish_committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending and has_app_context():
        found = current_app.extensions.get(_EXTENSION)
        if found is not None:
            for one in pending:
                found.publish(one)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


class Ticket:
    """One waiting request's interest in one conversation; set by a publish (or a lost connection)."""

    def __init__(self, hub: Hub, name: str) -> None:
        self.hub = hub
        self.key = name
        self.event = threading.Event()

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` (less without a listener: then read again); True if woken. Re-armed."""
        woken = self.event.wait(min(seconds, self.hub.check_every()))
        self.event.clear()
        return woken


class Hub:
    """The waiters of one process by conversation, and (on PostgreSQL) the thread that listens for them."""

    def __init__(self, listen_url: str | None = None) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[Ticket]] = {}
        self._listen_url = listen_url
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.listening = threading.Event()  # set while the LISTEN connection is up

    # -- waiters ---------------------------------------------------------------------------------------------

    @contextmanager
    def ticket(self, name: str) -> Iterator[Ticket]:
        """Register before reading the database, so a message committed between the read and the wait
        still wakes it."""
        self._start()
        found = Ticket(self, name)
        with self._lock:
            self._waiters.setdefault(name, set()).add(found)
        try:
            yield found
        finally:
            with self._lock:
                waiting = self._waiters.get(name)
                if waiting is not None:
                    waiting.discard(found)
                    if not waiting:
                        del self._waiters[name]

    def publish(self, name: str) -> None:
        with self._lock:
            for found in self._waiters.get(name, ()):
                found.event.set()

    def wake_all(self) -> None:
        with self._lock:
            for waiting in self._waiters.values():
                for found in waiting:
                    found.event.set()

    def waiting(self) -> int:
        with self._lock:
            return sum(len(waiting) for waiting in self._waiters.values())

    def check_every(self) -> float:
        return float("inf") if self.listening.is_set() else FALLBACK_CHECK_SECONDS

    # -- the listener ----------------------------------------------------------------------------------------

    def _start(self) -> None:
        """The listening thread, started by the first waiter (after gunicorn forked the worker)."""
        if self._listen_url is None or self._thread is not None:
            return
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._listen, name="mgd-chat-listen", daemon=True)
            self._thread.start()
        self.listening.wait(5)  # the first waiters: read after LISTEN took effect, else they check often

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _listen(self) -> None:
        import psycopg  # noqa: PLC0415 (PostgreSQL only)

        pause = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._listen_url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    self.wake_all()  # published while this connection was not there: read again
                    pause = 0.5
                    while not self._stop.is_set():
                        for note in connection.notifies(timeout=1.0):
                            self.publish(note.payload)
            except Exception:
                log.exception("chat news: the LISTEN connection failed; reconnecting in %.1f s", pause)
            self.listening.clear()
            self.wake_all()
            self._stop.wait(pause)
            pause = min(pause * 2, 30)


def listen_url(engine: Engine) -> str | None:
    """libpq's address of the app's database (PostgreSQL), for the listening connection; None elsewhere."""
    if engine.dialect.name != "postgresql":
        return None
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def serve_waits(app: Flask, engine: Engine) -> Hub:
    """Make this process one that holds waiting requests (the stream process, the development server)."""
    found = app.extensions[_EXTENSION] = Hub(listen_url(engine))
    return found


def hub(app: Flask | None = None) -> Hub | None:
    """This process's hub, or None: then waits answer at once (a page worker must not be held)."""
    return (app or current_app).extensions.get(_EXTENSION)


def wait_for_news(name: str, read: Callable[[], dict], seconds: float, release: Callable[[], None]) -> dict:
    """``read()`` until its ``messages`` are not empty or ``seconds`` pass: first at once, then each time the
    conversation is announced (or the fallback interval passes); the last read. ``release()`` runs before
    each wait: the caller ends its transaction there, so a waiting request holds no database connection."""
    found = hub()
    if found is None or seconds <= 0:
        return read()
    with found.ticket(name) as ticket:
        news = read()
        deadline = time.monotonic() + seconds
        while not news["messages"] and (left := deadline - time.monotonic()) > 0:
            release()
            ticket.wait(left)
            news = read()
        return news

"""Background jobs on dramatiq: the broker chosen by settings, actors bound to it, and the workers.

``MGD_BROKER_URL`` empty: an in-memory broker served by an in-process worker (``make run`` needs nothing
installed). ``redis://…`` or ``amqp://…``: the real broker, served by ``mgd worker`` processes.
Each message is processed inside an app context of the app that configured the broker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware
from flask import Flask

from mgd.logs import request_id

log = logging.getLogger(__name__)

# Actors are declared at import time, before any app exists: they start on this placeholder and are moved
# to the configured broker by ``init_app``. Without it dramatiq would invent a RabbitMQ broker on import.
_placeholder = StubBroker()
_actors: list[dramatiq.Actor] = []


def actor(**options) -> Callable[[Callable], dramatiq.Actor]:
    """Declare a dramatiq actor of the portal (take ids and primitives; be safe to run twice)."""

    def declare(fn: Callable) -> dramatiq.Actor:
        declared = dramatiq.actor(fn, broker=_placeholder, **options)
        _actors.append(declared)
        return declared

    return declare


class AppContext(Middleware):
    """Runs every message inside an app context, so actors use the app's settings and database session."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._local = threading.local()

    def before_process_message(self, broker, message) -> None:
        context = self.app.app_context()
        context.push()
        self._local.context = context

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        context = getattr(self._local, "context", None)
        if context is not None:
            self._local.context = None
            context.pop()

    after_skip_message = after_process_message


class RequestIds(Middleware):
    """Carries the id of the request (or job) that sent a message into the job's log lines."""

    def before_enqueue(self, broker, message, delay) -> None:
        if request_id.get() != "-":
            message.options.setdefault("request_id", request_id.get())

    def before_process_message(self, broker, message) -> None:
        request_id.set(message.options.get("request_id") or f"job-{message.message_id}")

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        request_id.set("-")

    after_skip_message = after_process_message


def make_broker(url: str) -> dramatiq.Broker:
    if url.startswith(("redis://", "rediss://")):
        return RedisBroker(url=url)
    if url.startswith(("amqp://", "amqps://")):
        return RabbitmqBroker(url=url)
    return StubBroker()


def bind_actors(broker: dramatiq.Broker) -> None:
    """Make ``broker`` the one every portal actor sends to and is served from."""
    dramatiq.set_broker(broker)
    for declared in _actors:
        declared.broker = broker
        broker.declare_actor(declared)


def init_app(app: Flask) -> None:
    """Bind every actor declared so far (the factory imports the modules that declare them first)."""
    broker = make_broker(app.config["BROKER_URL"])
    broker.add_middleware(AppContext(app))
    broker.add_middleware(RequestIds())
    app.extensions["mgd.broker"] = broker
    bind_actors(broker)


def broker_of(app: Flask) -> dramatiq.Broker:
    return app.extensions["mgd.broker"]


def start_worker(app: Flask, threads: int = 2) -> dramatiq.Worker:
    """Start worker threads on the app's broker in this process; call ``stop()`` on the result to end them."""
    worker = dramatiq.Worker(broker_of(app), worker_threads=threads, worker_timeout=200)
    worker.start()
    log.info("dramatiq worker started with %d threads on %s", threads, type(broker_of(app)).__name__)
    return worker


def serve_worker_metrics(app: Flask) -> None:
    """Add dramatiq's own Prometheus middleware and serve it, as its CLI would, from a thread of this process.

    It counts in prometheus_client's multiprocess files (``dramatiq_prom_db``) and its exposition server
    listens on ``dramatiq_prom_host``:``dramatiq_prom_port`` (0.0.0.0:9191): the first ``mgd worker`` of a
    host serves the sum of all of them, the others find the port taken and say so. ``mgd worker`` points
    ``PROMETHEUS_MULTIPROC_DIR`` at the same folder before anything imports prometheus_client.
    """
    from dramatiq.middleware import prometheus  # noqa: PLC0415 (creates its folder on import)

    broker = broker_of(app)
    middleware = prometheus.Prometheus()
    broker.add_middleware(middleware)
    middleware.after_process_boot(broker)

    def expose() -> None:
        try:
            prometheus._run_exposition_server()
        except OSError as exc:
            log.warning("worker metrics not served from this process (%s): another worker serves them", exc)

    threading.Thread(target=expose, name="mgd-worker-metrics", daemon=True).start()


def every(seconds: float, task: Callable[[], object]) -> threading.Event:
    """Call ``task`` now and every ``seconds`` on a daemon thread until the returned event is set."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                task()
            except Exception:
                log.exception("periodic task %s failed", getattr(task, "__name__", task))
            stop.wait(seconds)

    threading.Thread(target=loop, name="mgd-every", daemon=True).start()
    return stop

"""Operations endpoints: ``/healthz`` (the process answers), ``/readyz`` (database and broker reachable) and,
with ``MGD_METRICS_ENABLED``, Prometheus metrics at ``/metrics``: requests, latency and the outbox.

Under gunicorn every worker is a process: with ``PROMETHEUS_MULTIPROC_DIR`` set (``mgd.gunicorn_conf`` sets
it) the counters live in files there and ``/metrics`` adds up every worker's.
"""

from __future__ import annotations

import logging
import os
import time

from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select, text
from werkzeug.exceptions import NotFound

from mgd.db import READ_ONLY, database, get_session, utcnow
from mgd.extensions import limiter
from mgd.jobs import broker_of
from mgd.notify.models import OutboxMessage

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)

REQUESTS = Counter(
    "mgd_http_requests_total",
    "HTTP requests answered, by endpoint and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "mgd_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    limiter.exempt(bp)
    app.after_request(_count_request)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is alive and answers; says nothing about what it depends on."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready to serve: the database and the broker answer. 503 names what failed (never how: no URLs)."""
    checks = {"database": _database_answers, "broker": _broker_answers}
    failing = []
    for name, check in checks.items():
        try:
            check()
        except Exception:
            log.exception("readiness: the %s does not answer", name)
            failing.append(name)
    if failing:
        return jsonify(status="unavailable", failing=failing), 503
    return jsonify(status="ready"), 200


def _database_answers() -> None:
    # Read-only: on SQLite it must not queue for the write lock behind the requests it is asked about.
    with database().engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        connection.execute(text("SELECT 1"))


def _broker_answers() -> None:
    broker = broker_of(current_app)
    if isinstance(broker, RedisBroker):
        broker.client.ping()
    elif isinstance(broker, RabbitmqBroker):
        broker.connection.process_data_events(time_limit=0)  # opens this thread's connection if needed


@bp.get("/metrics")
def metrics() -> Response:
    if not current_app.config["METRICS_ENABLED"]:
        raise NotFound()
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    outbox = CollectorRegistry()
    outbox.register(_OutboxCollector())
    body = generate_latest(registry) + generate_latest(outbox)
    return Response(body, content_type=CONTENT_TYPE_LATEST)


class _OutboxCollector:
    """The outbox as the database has it at scrape time (one query; the same from every worker)."""

    def collect(self):
        query = select(
            func.count().filter(OutboxMessage.status == "pending"),
            func.count().filter(OutboxMessage.status == "failed"),
            func.min(OutboxMessage.created_at).filter(OutboxMessage.status == "pending"),
        )
        pending, failed, oldest = get_session().execute(query).one()
        if oldest is not None and oldest.tzinfo is None:  # SQLite hands back naive UTC
            oldest = oldest.replace(tzinfo=utcnow().tzinfo)
        age = (utcnow() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily("mgd_outbox_pending", "Messages waiting to be sent.", value=pending)
        yield GaugeMetricFamily("mgd_outbox_failed", "Messages that failed for good.", value=failed)
        yield GaugeMetricFamily(
            "mgd_outbox_oldest_pending_age_seconds", "Age of the oldest message waiting.", value=age
        )


def _count_request(response: Response) -> Response:
    if current_app.config["METRICS_ENABLED"] and "request_started" in g:  # set by mgd.logs
        endpoint = request.endpoint or "unmatched"  # unknown paths share one label: bounded cardinality
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        LATENCY.labels(endpoint).observe(time.perf_counter() - g.request_started)
    return response

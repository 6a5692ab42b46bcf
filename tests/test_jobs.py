"""End to end through a real dramatiq worker: commit → broker → worker → delivered, once.

Always on the in-process broker; also on every broker in MGD_TEST_BROKER_URL (space-separated redis:// and
amqp:// URLs; CI sets both). Workers run in other threads, so these tests use a database of their own.
"""

import json
import os
import time
from pathlib import Path

import pytest

from mgd import create_app
from mgd.db import database, get_session
from mgd.jobs import bind_actors, broker_of, start_worker
from mgd.migrate import upgrade
from mgd.notify.models import OutboxMessage
from mgd.notify.services import queue_sms
from mgd.notify.tasks import deliver_message
from tests.environment import settings

BROKERS = ["", *os.environ.get("MGD_TEST_BROKER_URL", "").split()]


def broker_name(url: str) -> str:
    return url.split(":", 1)[0] if url else "in-process"


@pytest.fixture(params=BROKERS, ids=broker_name)
def worker_app(request, app, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    upgrade(database_url)
    jobs_app = create_app(settings(tmp_path, database_url, BROKER_URL=request.param))
    broker = broker_of(jobs_app)
    broker.flush_all()
    worker = start_worker(jobs_app, threads=2)
    jobs_app.extensions["test.worker"] = worker
    yield jobs_app
    worker.stop()
    broker.flush_all()
    broker.close()
    database(jobs_app).engine.dispose()
    bind_actors(broker_of(app))


def wait_for_status(app, message_id: int, status: str, timeout: float = 20.0) -> OutboxMessage:
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            message = get_session().get(OutboxMessage, message_id)
            if message.status == status or time.monotonic() > deadline:
                return message
        time.sleep(0.05)


def test_a_committed_sms_is_delivered_by_the_worker_exactly_once(worker_app):
    with worker_app.app_context():
        session = get_session()
        message_id = queue_sms(session, "+34612345678", "Tu código es 654321").id
        session.commit()
    message = wait_for_status(worker_app, message_id, "sent")
    assert (message.status, message.attempts) == ("sent", 1)
    deliver_message.send(message_id)  # a duplicate enqueue, as a relay pass could make
    broker_of(worker_app).join("outbox", timeout=20_000)
    worker_app.extensions["test.worker"].join()
    sms = worker_app.config["SMS_FILE"]
    lines = [json.loads(line) for line in Path(sms).read_text(encoding="utf-8").splitlines()]
    assert [(r["to"], r["body"]) for r in lines] == [("+34612345678", "Tu código es 654321")]

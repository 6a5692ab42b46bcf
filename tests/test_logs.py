"""Logs: one JSON object per line in production, with the request id that the response and jobs also carry."""

from __future__ import annotations

import io
import json
import logging

import pytest
from dramatiq import Message

from mgd import logs
from mgd.jobs import RequestIds, broker_of
from mgd.notify.tasks import relay_outbox


@pytest.fixture
def json_lines(app):
    stream = io.StringIO()
    logs.configure("json", stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logs.configure(app.config["LOG_FORMAT"])


def test_every_request_gets_an_id_on_the_response_and_in_its_json_log_line(client, json_lines):
    response = client.get("/no-such-page")
    request_id = response.headers["X-Request-ID"]
    [line] = [line for line in json_lines() if line["logger"] == "mgd.request"]
    assert len(request_id) == 32
    assert line["request_id"] == request_id
    assert (line["method"], line["path"], line["status"], line["level"]) == (
        "GET",
        "/no-such-page",
        404,
        "INFO",
    )
    assert line["message"].startswith("GET /no-such-page 404")


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("edge-7f3a9c1e", True),
        ("a" * 64, True),
        ("short", False),
        ("a" * 65, False),
        ("id with spaces in it", False),
        ("<script>alert(1)</script>", False),
        ('"}{"level":"CRITICAL', False),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_it_is_a_short_safe_token(client, incoming, kept):
    response = client.get("/", headers={"X-Request-ID": incoming})
    assert (response.headers["X-Request-ID"] == incoming) is kept


def test_a_job_carries_the_id_of_the_request_that_sent_it(app, bound, json_lines):
    broker = broker_of(app)
    broker.flush_all()
    with app.test_request_context(headers={"X-Request-ID": "req-87654321"}):
        app.preprocess_request()
        relay_outbox.send()
    [raw] = list(broker.queues["outbox"].queue)
    message = Message.decode(raw)
    assert message.options["request_id"] == "req-87654321"
    middleware = RequestIds()
    middleware.before_process_message(broker, message)
    logging.getLogger("mgd.notify.tasks").info("delivering")
    middleware.after_process_message(broker, message)
    [line] = [line for line in json_lines() if line["message"] == "delivering"]
    assert line["request_id"] == "req-87654321"
    assert logs.request_id.get() == "-"
    broker.flush_all()


def test_a_job_sent_outside_any_request_logs_under_its_own_message_id(app):
    message = Message(queue_name="outbox", actor_name="relay_outbox", args=(), kwargs={}, options={})
    RequestIds().before_process_message(broker_of(app), message)
    assert logs.request_id.get() == f"job-{message.message_id}"
    RequestIds().after_process_message(broker_of(app), message)


def test_development_logs_are_readable_text(app):
    stream = io.StringIO()
    logs.configure("text", stream)
    try:
        with app.test_request_context():
            logs.request_id.set("abcdef123456")
            logging.getLogger("mgd.test").warning("hello %s", "there")
            logs.request_id.set("-")
    finally:
        logs.configure(app.config["LOG_FORMAT"])
    assert stream.getvalue().rstrip().endswith("WARNING [abcdef123456] mgd.test: hello there")

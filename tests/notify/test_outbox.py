"""The outbox: written in the caller's transaction, handed to the broker on commit, delivered once."""

import contextlib
import json
from datetime import timedelta

import dramatiq
import pytest
from sqlalchemy import select, update

from mgd.db import utcnow
from mgd.jobs import broker_of
from mgd.notify.models import OutboxMessage
from mgd.notify.senders import DeliveryError, Mail
from mgd.notify.services import purge_bodies, queue_mail, queue_sms, stale_message_ids
from mgd.notify.tasks import deliver_message, purge_outbox, relay_outbox


@pytest.fixture
def broker(app):
    broker = broker_of(app)
    broker.flush_all()
    yield broker
    broker.flush_all()


def enqueued_ids(broker) -> list[int]:
    queue = broker.queues["outbox"]
    return [json.loads(raw)["args"][0] for raw in list(queue.queue)]


class FailingSender:
    def __init__(self, permanent: bool = False) -> None:
        self.permanent, self.calls = permanent, 0

    def send_sms(self, to, body):
        self.calls += 1
        raise DeliveryError("provider said no", permanent=self.permanent)


@pytest.fixture
def failing_sms(app):
    original = app.extensions["mgd.sms"]
    app.extensions["mgd.sms"] = sender = FailingSender()
    yield sender
    app.extensions["mgd.sms"] = original


def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_messages_are_handed_over_only_after_commit(db_session, broker):
    message = queue_sms(db_session, "+34612345678", "Tu código es 123456")
    assert enqueued_ids(broker) == []
    db_session.commit()
    assert enqueued_ids(broker) == [message.id]


def test_rolled_back_messages_are_never_handed_over(db_session, broker):
    queue_sms(db_session, "+34612345678", "never")
    db_session.rollback()
    db_session.commit()
    assert enqueued_ids(broker) == []
    assert db_session.scalars(select(OutboxMessage)).all() == []


def test_an_sms_is_delivered_once_however_often_the_job_runs(db_session, broker, outbox_files):
    sms_file, _ = outbox_files
    message = queue_sms(db_session, "+34612345678", "Tu código es 123456")
    db_session.commit()
    deliver_message(message.id)
    deliver_message(message.id)
    assert [(r["to"], r["body"]) for r in read_lines(sms_file)] == [("+34612345678", "Tu código es 123456")]
    db_session.refresh(message)
    assert (message.status, message.attempts, message.provider_ref) == ("sent", 1, "file")
    assert message.sent_at is not None


def test_an_email_keeps_text_and_html(db_session, broker, outbox_files):
    _, mail_file = outbox_files
    message = queue_mail(db_session, Mail("ana@example.es", "Bienvenida", "Hola", "<p>Hola</p>"))
    db_session.commit()
    deliver_message(message.id)
    assert read_lines(mail_file)[0] | {"time": None} == {
        "to": "ana@example.es",
        "subject": "Bienvenida",
        "text": "Hola",
        "html": "<p>Hola</p>",
        "time": None,
    }


def test_a_failure_is_recorded_and_retried_with_backoff(db_session, broker, failing_sms):
    message = queue_sms(db_session, "+34612345678", "x")
    db_session.commit()
    with pytest.raises(dramatiq.Retry) as retry:
        deliver_message(message.id)
    assert retry.value.delay == 5_000
    db_session.refresh(message)
    assert (message.status, message.attempts, message.last_error) == ("pending", 1, "provider said no")
    assert message.next_attempt_at > utcnow() + timedelta(seconds=4)


def test_a_message_fails_for_good_after_the_last_attempt(app, db_session, broker, failing_sms):
    message = queue_sms(db_session, "+34612345678", "x")
    db_session.commit()
    for _ in range(app.config["OUTBOX_MAX_ATTEMPTS"] - 1):
        with pytest.raises(dramatiq.Retry):
            deliver_message(message.id)
    deliver_message(message.id)  # the last attempt: no retry asked
    deliver_message(message.id)
    assert failing_sms.calls == app.config["OUTBOX_MAX_ATTEMPTS"]
    db_session.refresh(message)
    assert (message.status, message.next_attempt_at) == ("failed", None)


def test_a_permanent_error_is_not_retried(db_session, broker, failing_sms):
    failing_sms.permanent = True
    message = queue_sms(db_session, "+34612345678", "x")
    db_session.commit()
    deliver_message(message.id)
    assert failing_sms.calls == 1
    db_session.refresh(message)
    assert (message.status, message.last_error) == ("failed", "provider said no")


def test_a_message_being_sent_by_another_worker_is_skipped(db_session, broker, outbox_files):
    message = queue_sms(db_session, "+34612345678", "x")
    message.status, message.claimed_at = "sending", utcnow()
    db_session.commit()
    deliver_message(message.id)
    assert read_lines(outbox_files[0]) == []
    db_session.refresh(message)
    assert (message.status, message.attempts) == ("sending", 0)


def test_the_relay_offers_lost_and_abandoned_messages_again(db_session, broker, app):
    now = utcnow()
    fresh = queue_sms(db_session, "+34600000001", "just written")
    lost = queue_sms(db_session, "+34600000002", "enqueue was lost")
    lost.created_at = now - timedelta(minutes=5)
    abandoned = queue_sms(db_session, "+34600000003", "worker died")
    abandoned.status, abandoned.claimed_at = "sending", now - timedelta(hours=1)
    waiting = queue_sms(db_session, "+34600000004", "backing off")
    waiting.created_at, waiting.next_attempt_at = now - timedelta(hours=1), now + timedelta(minutes=5)
    sent = queue_sms(db_session, "+34600000005", "done")
    sent.status, sent.created_at = "sent", now - timedelta(hours=1)
    db_session.commit()
    broker.flush_all()
    lease = timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"])
    assert stale_message_ids(db_session, pending_for=timedelta(seconds=60), lease=lease) == [
        lost.id,
        abandoned.id,
    ]
    relay_outbox()
    assert enqueued_ids(broker) == [lost.id, abandoned.id]
    assert fresh.id not in enqueued_ids(broker)


def test_old_sent_and_failed_bodies_are_erased_and_their_metadata_kept(app, db_session):
    long_ago = utcnow() - timedelta(days=app.config["OUTBOX_RETENTION_DAYS"], hours=1)
    messages = {
        "old sent": queue_mail(db_session, Mail("a@example.es", "Código", "123456", "<p>123456</p>")),
        "old failed": queue_sms(db_session, "+34612000001", "Tu código es 123456"),
        "recent sent": queue_sms(db_session, "+34612000002", "Tu código es 654321"),
        "old pending": queue_sms(db_session, "+34612000003", "Tu código es 111111"),
    }
    messages["old sent"].status, messages["old sent"].sent_at = "sent", long_ago
    messages["old failed"].status = "failed"
    messages["recent sent"].status, messages["recent sent"].sent_at = "sent", utcnow()
    db_session.flush()
    db_session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([messages["old failed"].id, messages["old pending"].id]))
        .values(updated_at=long_ago)
        .execution_options(synchronize_session=False)
    )
    db_session.commit()

    assert purge_bodies(db_session, utcnow() - timedelta(days=7), limit=1) == 1  # batches
    purge_outbox()
    purge_outbox()  # nothing left to do: safe to run twice
    bodies = {}
    for name, message in messages.items():
        db_session.refresh(message)
        bodies[name] = (message.body_text, message.body_html)
    assert bodies == {
        "old sent": ("", None),
        "old failed": ("", None),
        "recent sent": ("Tu código es 654321", None),
        "old pending": ("Tu código es 111111", None),
    }
    old = messages["old sent"]
    assert (old.recipient, old.subject, old.status, old.sent_at) == (
        "a@example.es",
        "Código",
        "sent",
        long_ago,
    )


class BrokenSender:
    """Fails every time, the way ``error`` says."""

    def __init__(self, error: Exception) -> None:
        self.error, self.calls = error, 0

    def send_sms(self, to, body):
        self.calls += 1
        raise self.error


@pytest.mark.parametrize(
    "error",
    [DeliveryError("provider busy"), ValueError("Header values may not contain linefeed")],
    ids=["transient", "unexpected"],
)
def test_no_path_sends_a_message_more_than_the_maximum(app, db_session, broker, error):
    """Dramatiq's retries, the relay and expired leases together never go past OUTBOX_MAX_ATTEMPTS."""
    app.extensions["mgd.sms"], original = BrokenSender(error), app.extensions["mgd.sms"]
    try:
        message = queue_sms(db_session, "+34612345678", "x")
        db_session.commit()
        for _ in range(3 * app.config["OUTBOX_MAX_ATTEMPTS"]):
            for message_id in [message.id, *enqueued_ids(broker)]:
                broker.flush_all()
                with contextlib.suppress(dramatiq.Retry, ValueError):  # dramatiq would run it again
                    deliver_message(message_id)
            # Time passes: the backoff is over, a lease has run out, the relay offers the message again.
            long_ago = utcnow() - timedelta(hours=1)
            db_session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message.id)
                .values(created_at=long_ago, next_attempt_at=None, claimed_at=long_ago)
            )
            db_session.commit()
            relay_outbox()
        sender = app.extensions["mgd.sms"]
    finally:
        app.extensions["mgd.sms"] = original
    assert sender.calls == app.config["OUTBOX_MAX_ATTEMPTS"]
    db_session.refresh(message)
    assert (message.status, message.attempts) == ("failed", app.config["OUTBOX_MAX_ATTEMPTS"])
    assert "Header values" in message.last_error or message.last_error == "provider busy"

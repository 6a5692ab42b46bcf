"""Actors that deliver the outbox: one message by id, the relay that offers stale messages again, and the
purge that erases old bodies."""

from __future__ import annotations

import logging
from datetime import timedelta

import dramatiq
from flask import current_app

from mgd.db import get_session, utcnow
from mgd.jobs import actor
from mgd.notify.models import OutboxMessage
from mgd.notify.services import (
    Outcome,
    claim_message,
    purge_bodies,
    retry_delay,
    send_claimed,
    stale_message_ids,
)
from mgd.notify.throttle import purge_send_counts

log = logging.getLogger(__name__)


@actor(queue_name="outbox", max_retries=12, min_backoff=2_000, max_backoff=600_000)
def deliver_message(message_id: int) -> None:
    """Send one outbox message. Safe to run twice: a message sent, failed for good or in flight is skipped."""
    config = current_app.config
    session = get_session()
    lease = timedelta(seconds=config["OUTBOX_LEASE_SECONDS"])
    if not claim_message(session, message_id, lease, config["OUTBOX_MAX_ATTEMPTS"]):
        session.commit()  # a message out of attempts was marked failed
        log.info("outbox message %s skipped: sent, failed for good or in flight", message_id)
        return
    session.commit()
    outcome = send_claimed(
        session,
        message_id,
        sms=current_app.extensions["mgd.sms"],
        mail=current_app.extensions["mgd.mail"],
        max_attempts=config["OUTBOX_MAX_ATTEMPTS"],
    )
    session.commit()
    if outcome is Outcome.RETRY:
        attempts = session.get(OutboxMessage, message_id).attempts
        delay_ms = int(retry_delay(attempts).total_seconds() * 1000)
        raise dramatiq.Retry(f"outbox message {message_id} will be tried again", delay=delay_ms)
    log.info("outbox message %s %s", message_id, outcome)


@actor(queue_name="outbox", max_retries=0)
def relay_outbox() -> None:
    """Enqueue delivery of messages left pending (a lost enqueue) or claimed by a worker that died; forget
    send counters of windows long over."""
    config = current_app.config
    session = get_session()
    ids = stale_message_ids(
        session, pending_for=timedelta(seconds=60), lease=timedelta(seconds=config["OUTBOX_LEASE_SECONDS"])
    )
    purge_send_counts(session)
    session.commit()
    for message_id in ids:
        deliver_message.send(message_id)
    if ids:
        log.info("relay offered %d outbox messages again", len(ids))


@actor(queue_name="outbox", max_retries=0)
def purge_outbox() -> None:
    """Erase the bodies of messages sent or failed more than ``OUTBOX_RETENTION_DAYS`` ago, one committed
    batch at a time. Safe to run twice: an erased body is not selected again."""
    session = get_session()
    finished_before = utcnow() - timedelta(days=current_app.config["OUTBOX_RETENTION_DAYS"])
    total = 0
    while erased := purge_bodies(session, finished_before):
        session.commit()
        total += erased
    session.rollback()
    if total:
        log.info("purge erased the bodies of %d outbox messages", total)

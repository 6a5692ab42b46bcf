"""Writing to the outbox and delivering from it.

``queue_sms`` and ``queue_mail`` add a row in the caller's transaction; when that transaction commits, the
new rows are handed to the ``deliver_message`` actor. Delivery claims a row before sending, so a message that
was sent is never sent again, and records every failure on the row. Bodies are erased some days after.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime, timedelta

from sqlalchemy import event as sa_event
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from mgd.db import utcnow
from mgd.notify.models import OutboxMessage
from mgd.notify.senders import DeliveryError, Mail, MailSender, SmsSender

log = logging.getLogger(__name__)

_NEW_IDS = "mgd.outbox_new_ids"


def queue_sms(session: Session, to: str, body: str, *, sender: str | None = None) -> OutboxMessage:
    """Add an SMS to the outbox; it is delivered after the caller commits. ``sender``: the number it is sent
    from (a company's line); None: the portal's own sender (``TWILIO_FROM``)."""
    return _queue(session, OutboxMessage(channel="sms", recipient=to, body_text=body, sender=sender))


def queue_mail(session: Session, mail: Mail) -> OutboxMessage:
    """Add an email to the outbox; it is delivered after the caller commits."""
    message = OutboxMessage(
        channel="email", recipient=mail.to, subject=mail.subject, body_text=mail.text, body_html=mail.html
    )
    return _queue(session, message)


def _queue(session: Session, message: OutboxMessage) -> OutboxMessage:
    session.add(message)
    session.flush()
    session.info.setdefault(_NEW_IDS, []).append(message.id)
    return message


@sa_event.listens_for(Session, "after_commit")
def _hand_over_after_commit(session: Session) -> None:
    ids = session.info.pop(_NEW_IDS, [])
    if not ids:
        return
    from mgd.notify.tasks import deliver_message  # noqa: PLC0415 (tasks import this module)

    for message_id in ids:
        try:
            deliver_message.send(message_id)
        except Exception:
            # The row is committed and pending: the relay offers it again later.
            log.exception("could not enqueue outbox message %s; the relay will retry", message_id)


@sa_event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_NEW_IDS, None)


class Outcome(enum.StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"  # already sent, failed for good, or being sent by another worker
    RETRY = "retry"
    FAILED = "failed"


def claim_message(
    session: Session, message_id: int, lease: timedelta, max_attempts: int, now: datetime | None = None
) -> bool:
    """Mark a pending message (or one whose worker's lease ran out) as being sent; False if it is not ours.

    A message that has had its ``max_attempts`` is never claimed again, however it comes back (a dramatiq
    retry, the relay, a worker that died mid-send): it is marked failed instead.
    """
    now = now or utcnow()
    claimable = (
        OutboxMessage.id == message_id,
        or_(
            OutboxMessage.status == "pending",
            (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - lease),
        ),
    )
    result = session.execute(
        update(OutboxMessage)
        .where(*claimable, OutboxMessage.attempts < max_attempts)
        .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        return True
    session.execute(
        update(OutboxMessage)
        .where(*claimable, OutboxMessage.attempts >= max_attempts)
        .values(status="failed", claimed_at=None, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    return False


def send_claimed(
    session: Session, message_id: int, *, sms: SmsSender, mail: MailSender, max_attempts: int
) -> Outcome:
    """Send a message claimed with ``claim_message`` and record the result on its row."""
    message = session.get(OutboxMessage, message_id, populate_existing=True)
    try:
        if message.channel == "sms":
            if message.sender:
                ref = sms.send_sms(message.recipient, message.body_text, sender=message.sender)
            else:
                ref = sms.send_sms(message.recipient, message.body_text)
        else:
            ref = mail.send_mail(
                Mail(message.recipient, message.subject or "", message.body_text, message.body_html)
            )
    except Exception as exc:  # whatever a sender raises is recorded and counts as an attempt
        permanent = isinstance(exc, DeliveryError) and exc.permanent
        if not isinstance(exc, DeliveryError):
            log.exception("outbox message %s: unexpected error from the sender", message_id)
            exc = DeliveryError(f"{type(exc).__name__}: {exc}")
        message.last_error = str(exc)[:2000]
        final = permanent or message.attempts >= max_attempts
        message.status = "failed" if final else "pending"
        message.claimed_at = None
        message.next_attempt_at = None if final else utcnow() + retry_delay(message.attempts)
        session.flush()
        log.warning("outbox message %s attempt %s failed: %s", message_id, message.attempts, exc)
        return Outcome.FAILED if final else Outcome.RETRY
    message.status = "sent"
    message.provider_ref = ref
    message.sent_at = utcnow()
    message.last_error = None
    session.flush()
    return Outcome.SENT


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the n-th failed attempt: 5 s, 10 s, 20 s … at most 10 minutes."""
    return timedelta(seconds=min(5 * 2 ** (attempts - 1), 600))


def stale_message_ids(
    session: Session, *, pending_for: timedelta, lease: timedelta, limit: int = 500
) -> list[int]:
    """Messages that should have gone by now: pending past their due time, or claimed too long ago."""
    now = utcnow()
    due = func.coalesce(OutboxMessage.next_attempt_at, OutboxMessage.created_at)
    query = (
        select(OutboxMessage.id)
        .where(
            or_(
                (OutboxMessage.status == "pending") & (due < now - pending_for),
                (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - lease),
            )
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def purge_bodies(session: Session, finished_before: datetime, limit: int = 500) -> int:
    """Erase the bodies of up to ``limit`` messages sent or failed before ``finished_before``; recipient,
    subject, status and times stay for audit. Returns how many were erased: call again until it is 0."""
    finished = func.coalesce(OutboxMessage.sent_at, OutboxMessage.updated_at)
    ids = list(
        session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status.in_(("sent", "failed")),
                finished < finished_before,
                or_(OutboxMessage.body_text != "", OutboxMessage.body_html.is_not(None)),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )
    if ids:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(body_text="", body_html=None)
            .execution_options(synchronize_session=False)
        )
    return len(ids)

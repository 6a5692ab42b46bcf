"""The transcripts' retention: conversations closed more than ``CHAT_RETENTION_DAYS`` ago (the companies'
and the visitors') are deleted with their messages, one committed batch at a time. Safe to run twice or in
two workers at once."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app

from mgd.chat import visitors
from mgd.chat.services import purge_transcripts
from mgd.db import get_session, utcnow
from mgd.jobs import actor

log = logging.getLogger(__name__)


@actor(queue_name="chat", max_retries=0)
def purge_chats() -> None:
    session = get_session()
    closed_before = utcnow() - timedelta(days=current_app.config["CHAT_RETENTION_DAYS"])
    total = 0
    while deleted := purge_transcripts(session, closed_before):
        session.commit()
        total += deleted
    while deleted := visitors.purge(session, closed_before):
        session.commit()
        total += deleted
    session.rollback()
    if total:
        log.info("chat retention deleted %d conversations", total)

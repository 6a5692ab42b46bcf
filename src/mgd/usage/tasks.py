"""The job of consumption's storage: the monthly partitions of ``usage_records`` made ahead
(``mgd.usage.partitions``). Takes no arguments; running it twice makes nothing twice."""

from __future__ import annotations

import logging
from datetime import datetime

from mgd.db import get_session
from mgd.jobs import actor
from mgd.usage.partitions import MADRID, ensure_ahead

log = logging.getLogger(__name__)

#: Seconds between runs in ``mgd worker`` and ``mgd serve`` (daily: a month's partition exists months ahead).
EVERY = 24 * 3600


@actor(queue_name="usage", max_retries=3)
def ensure_usage_partitions() -> None:
    """The partitions of the current month (Madrid) and the ``AHEAD`` months after it."""
    session = get_session()
    names = ensure_ahead(session, datetime.now(MADRID).date())
    session.commit()
    if names:
        log.info("usage partitions ready: %s", ", ".join(names))

"""The jobs of consumption alerts: evaluate one company's alerts and commit what they fired (the firings, the
recorded spend caps, the audit and the outbox messages, which go after the commit); and the sweep that offers
every company with alerts to that job, sent by ``mgd records import`` after a usage import and every
``EVERY`` seconds by ``mgd worker`` and ``mgd serve`` (a lost enqueue, or no broker, only delays an alert)."""

from __future__ import annotations

import logging

from mgd.db import get_session
from mgd.jobs import actor
from mgd.usage.alerts import companies_with_alerts, evaluate_alerts

log = logging.getLogger(__name__)

#: Seconds between sweeps in ``mgd worker`` and ``mgd serve``.
EVERY = 3600


@actor(queue_name="usage", max_retries=5, min_backoff=5_000, max_backoff=300_000)
def evaluate_usage_alerts(tenant_id: int) -> None:
    """Evaluate the alerts of company ``tenant_id``. Safe to run twice or at once: a threshold fires once per
    cycle, kept by a unique row in the database."""
    session = get_session()
    fired = evaluate_alerts(session, tenant_id)
    session.commit()
    if fired:
        log.info("company %s: %d consumption alerts fired", tenant_id, len(fired))


@actor(queue_name="usage", max_retries=3)
def evaluate_all_alerts() -> None:
    """One ``evaluate_usage_alerts`` job per company that has alerts."""
    for tenant_id in companies_with_alerts(get_session()):
        evaluate_usage_alerts.send(tenant_id)

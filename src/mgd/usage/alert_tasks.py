"""The job run after each usage import: evaluate a company's consumption alerts and commit what they fired
(the firings, the recorded spend caps, the audit and the outbox messages, which go after the commit)."""

from __future__ import annotations

import logging

from mgd.db import get_session
from mgd.jobs import actor
from mgd.usage.alerts import evaluate_alerts

log = logging.getLogger(__name__)


@actor(queue_name="usage", max_retries=5, min_backoff=5_000, max_backoff=300_000)
def evaluate_usage_alerts(tenant_id: int) -> None:
    """Evaluate the alerts of company ``tenant_id``. Safe to run twice or at once: a threshold fires once per
    cycle, kept by a unique row in the database."""
    session = get_session()
    fired = evaluate_alerts(session, tenant_id)
    session.commit()
    if fired:
        log.info("company %s: %d consumption alerts fired", tenant_id, len(fired))


def enqueue_alert_evaluation(tenant_ids: list[int] | set[int]) -> None:
    """What an import calls after its commit: one evaluation job per company whose usage it changed."""
    for tenant_id in sorted(set(tenant_ids)):
        evaluate_usage_alerts.send(tenant_id)

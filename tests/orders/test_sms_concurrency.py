"""Sends of SMS fired at the same moment against a real server (real commits, one thread per request): together
they ask for more than the company's daily quota, and the SMS queued never pass it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mgd.db import get_session, set_tenant
from mgd.notify.models import OutboxMessage
from mgd.orders.models import SmsBatch, SmsQuota
from tests.accounts import add_member, create_company
from tests.admin.test_concurrency import signed_in
from tests.live import posted_in_parallel

QUOTA = 10
PARALLEL = 8
EACH = 3


@pytest.fixture
def acme(live_app, live_server, monkeypatch):
    monkeypatch.setitem(live_app.config, "SMS_DAILY_QUOTA", QUOTA)
    company = create_company(live_app, "Acme S.L.", 1)
    add_member(live_app, company, "ana@acme.es", "admin")
    return company


def counted(app, company_id: int) -> tuple[int | None, int, int]:
    with app.app_context():
        session = get_session()
        set_tenant(session, company_id)
        quota = session.scalar(select(SmsQuota.sent))
        batches = session.scalar(select(func.coalesce(func.sum(SmsBatch.recipients), 0)))
        queued = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sender.is_not(None))
        )
        session.commit()
        return quota, batches, queued


def test_parallel_sends_never_pass_the_daily_quota(live_app, live_server, acme):
    ana = signed_in(live_app, live_server, "ana@acme.es")
    path = f"/empresa/{acme.ref}/pedidos/sms"
    forms = [
        {
            "line": acme.numbers[0],
            "recipients": ", ".join(f"+346120{i:02d}{j:03d}" for j in range(EACH)),
            "text": f"Aviso {i}",
            "confirmed": "yes",
        }
        for i in range(PARALLEL)
    ]
    responses = posted_in_parallel(ana, path, forms)
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {302, 409, 422}, statuses
    sent = statuses.count(302)
    assert sent == QUOTA // EACH, statuses  # as many as fit: the others are told the quota is gone
    assert all("more SMS today" in r.text for r in responses if r.status_code != 302)
    assert counted(live_app, acme.id) == (sent * EACH, sent * EACH, sent * EACH)

"""The back office's queue pages by its key (the time in the state, then the number): the "next" link of a
long queue leads to the following orders, and a token that is not a key is the first page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from mgd.db import get_session, set_tenant
from mgd.orders.models import Order
from tests.kit import text
from tests.orders.kit import advisor

NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


def many_orders(app, company_id: int, count: int) -> list[int]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with app.app_context():
        session = get_session()
        set_tenant(session, company_id)
        made = [
            Order(
                tenant_id=company_id,
                kind="enquiry",
                payload={"subject": "S", "text": "T"},
                idempotency_key=f"queue-{n}",
                state_changed_at=start + timedelta(minutes=n),
            )
            for n in range(count)
        ]
        session.add_all(made)
        session.commit()
        return [order.id for order in made]


def test_the_queue_pages_to_its_end_by_its_links(app, acme):
    ids = many_orders(app, acme.id, 60)
    desk = advisor(app)
    seen, path = [], "/backoffice/pedidos?state=submitted"
    while path:
        page = desk.get(path)
        assert page.status_code == 200, path
        body = text(page)
        seen += [int(n) for n in re.findall(r'href="/backoffice/pedidos/(\d+)"', body)]
        found = NEXT.search(body)
        path = found.group(1).replace("&amp;", "&") if found else None
    assert seen == ids  # oldest in the state first, each once
    assert desk.get("/backoffice/pedidos?state=submitted&after=%5B%22x%22%2C1%5D").status_code == 200

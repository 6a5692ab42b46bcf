"""Spend caps carried out: a line's spend reaching its cap orders premium-rate blocking (done by the job)
and roaming off (for an advisor), once per cap and cycle; audited; nothing for bars the line already has."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from mgd.db import operator_scope, tenant_scope
from mgd.orders.caps import bar_capped_line
from mgd.orders.models import Order
from mgd.orders.tasks import provision_order
from mgd.security.models import AuditEvent
from mgd.tenants.models import Line
from mgd.usage.alert_models import UsageCapRequest
from mgd.usage.alerts import evaluate_alerts
from tests.usage.test_alert_evaluation import NOV, _acme, alert, use


def capped(session, acme) -> None:
    first = acme["lines"][0]
    alert(session, acme, recipients=("bea",), scope="line", line_id=first.id, metric="spend",
          percent=None, amount_cents=5000, cap=True)  # fmt: skip
    use(session, first, date(2026, 11, 3), kind="premium", cost_cents=6000)


def orders(session, company_id: int) -> list[Order]:
    with tenant_scope(session, company_id):
        return list(session.scalars(select(Order).order_by(Order.id)))


def test_a_cap_reached_orders_the_bars_once_per_cycle(db_session):
    acme = _acme(db_session)
    company, first = acme["company"], acme["lines"][0]
    capped(db_session, acme)
    assert len(evaluate_alerts(db_session, company.id, NOV)) == 1
    assert evaluate_alerts(db_session, company.id, NOV) == []  # a second run: nothing more
    made = orders(db_session, company.id)
    assert [(o.kind, o.state, o.requester_id) for o in made] == [
        ("premium_block", "submitted", None),
        ("roaming", "submitted", None),
    ]
    assert made[0].payload == {"action": "block", "calls": True, "sms": True}
    assert made[1].payload["action"] == "off"
    with tenant_scope(db_session, company.id):
        assert all([link.line_id for link in o.lines] == [first.id] for o in made)
        cap = db_session.scalar(select(UsageCapRequest.id))
    assert {o.idempotency_key for o in made} == {f"spend-cap-{cap}-premium", f"spend-cap-{cap}-roaming"}
    assert all(e.actor == "system" for o in made for e in o.events)
    # The same signal again (a retried job) finds the orders made.
    bar_capped_line(db_session, tenant_id=company.id, line_id=first.id, cap_request_id=cap)
    assert len(orders(db_session, company.id)) == 2
    with operator_scope(db_session, "test"):
        placed = db_session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "order.placed")
        ).all()
    assert len(placed) == 2
    # The job does the premium-rate blocking.
    db_session.commit()
    provision_order.fn(company.id, made[0].id)
    with tenant_scope(db_session, company.id):
        line = db_session.get(Line, first.id)
        db_session.refresh(line)
        assert line.premium_calls_blocked and line.premium_sms_blocked and line.roaming_enabled


def test_bars_the_line_has_already_are_not_ordered_again(db_session):
    acme = _acme(db_session)
    company, first = acme["company"], acme["lines"][0]
    with tenant_scope(db_session, company.id):
        first.premium_calls_blocked = first.premium_sms_blocked = True
        db_session.flush()
    capped(db_session, acme)
    evaluate_alerts(db_session, company.id, NOV)
    assert [o.kind for o in orders(db_session, company.id)] == ["roaming"]


def test_a_cap_of_another_companys_line_orders_nothing(db_session):
    acme, other = _acme(db_session), _acme(db_session)
    bar_capped_line(db_session, tenant_id=acme["company"].id, line_id=other["lines"][0].id, cap_request_id=1)
    assert orders(db_session, acme["company"].id) == []

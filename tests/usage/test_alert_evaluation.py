"""The evaluation of consumption alerts after an import: a threshold crossed notifies its recipients once per
cycle (again in the next cycle, never below the threshold), in each one's language, by the alert's channels;
members limited to other lines are not told; a line's spend cap records one request to bar its premium and
roaming usage; runs at the same time fire once (the database's unique row decides)."""

from __future__ import annotations

import threading
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mgd.config import Rate
from mgd.db import get_session, operator_scope, set_tenant, tenant_scope
from mgd.notify.models import OutboxMessage
from mgd.security.models import AuditEvent
from mgd.tenants.models import Line, MembershipScope, Tariff, UsagePool
from mgd.usage import alert_tasks
from mgd.usage.alert_measures import MADRID
from mgd.usage.alert_models import UsageAlert, UsageAlertFiring, UsageAlertRecipient, UsageCapRequest
from mgd.usage.alerts import evaluate_alerts
from mgd.usage.models import Bundle, LineBundle, UsageDaily
from tests.environment import empty_tables
from tests.factories import make_company, make_line, make_member

GB = 10**9
NOV = date(2026, 11, 20)


@pytest.fixture
def acme(db_session):
    """A company of two lines (10 GB and 100 minutes each), Ana (admin, English, mobile) and Bea (admin,
    Spanish, mobile) and Bob (manager limited to the second line)."""
    return _acme(db_session)


def _acme(session):
    company = make_company(session, name="Acme S.L.")
    lines = [make_line(session, company), make_line(session, company)]
    with tenant_scope(session, company.id):
        for line in lines:
            tariff = session.get(Tariff, line.tariff_id)
            tariff.data_gb, tariff.voice_minutes = Decimal("10"), 100
        ana = make_member(session, company.id, f"ana{company.id}@acme.es", locale="en", mobile="+34612000001")
        bea = make_member(session, company.id, f"bea{company.id}@acme.es", locale="es", mobile="+34612000002")
        bob = make_member(session, company.id, f"bob{company.id}@acme.es", "manager", mobile="+34612000003")
        bob.limited = True
        session.add(MembershipScope(tenant_id=company.id, membership_id=bob.id, line_id=lines[1].id))
        session.flush()
    return {"company": company, "lines": lines, "ana": ana, "bea": bea, "bob": bob}


def alert(session, acme, recipients=("ana",), **values) -> UsageAlert:
    company = acme["company"]
    values = {"scope": "company", "metric": "data_percent", "percent": 80, "by_email": True} | values
    with tenant_scope(session, company.id):
        made = UsageAlert(tenant_id=company.id, **values)
        session.add(made)
        session.flush()
        for name in recipients:
            session.add(
                UsageAlertRecipient(tenant_id=company.id, alert_id=made.id, membership_id=acme[name].id)
            )
        session.flush()
    return made


def use(session, line: Line, day: date, *, kind="data", direction="out", billed=False, **amounts) -> None:
    row = {"duration_s": 0, "bytes": 0, "units": 0, "cost_cents": 0} | amounts
    with tenant_scope(session, line.tenant_id):
        session.add(
            UsageDaily(
                tenant_id=line.tenant_id, line_id=line.id, day=day, kind=kind, direction=direction,
                billed=billed, roaming=False, records=1, **row,
            )
        )  # fmt: skip
        session.flush()


def sent(session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def firings(session, company) -> list[tuple]:
    with tenant_scope(session, company.id):
        query = select(UsageAlertFiring.alert_id, UsageAlertFiring.cycle_start, UsageAlertFiring.value)
        return session.execute(query.order_by(UsageAlertFiring.id)).all()


def test_a_threshold_fires_once_per_cycle_and_again_in_the_next(db_session, acme):
    company, (first, second) = acme["company"], acme["lines"]
    made = alert(db_session, acme, recipients=("ana", "bea"))
    use(db_session, first, date(2026, 11, 3), bytes=9 * GB)
    use(db_session, second, date(2026, 11, 19), bytes=8 * GB)
    use(db_session, second, date(2026, 10, 30), bytes=20 * GB)  # the cycle before: not counted
    assert len(evaluate_alerts(db_session, company.id, NOV)) == 1
    assert firings(db_session, company) == [(made.id, date(2026, 11, 1), 85)]
    mails = [m for m in sent(db_session) if m.channel == "email"]
    assert {m.recipient for m in mails} == {acme["ana"].user.email, acme["bea"].user.email}
    english = next(m for m in mails if m.recipient == acme["ana"].user.email)
    assert english.subject == "Consumption alert in Acme S.L."
    assert "Acme S.L., in Acme S.L., has reached 85\u00a0% of data" in english.body_text
    spanish = next(m for m in mails if m.recipient == acme["bea"].user.email)
    assert spanish.subject == "Alerta de consumo en Acme S.L." and "85\u00a0% de datos" in spanish.body_text
    assert not [m for m in sent(db_session) if m.channel == "sms"]  # email only
    with operator_scope(db_session, "test"):
        fired = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "usage_alert.fired")).all()
    assert [(e.tenant_id, e.detail["value"]) for e in fired] == [(company.id, 85)]

    before = len(sent(db_session))
    use(db_session, first, date(2026, 11, 21), bytes=3 * GB)  # more use, same cycle: nothing new
    assert evaluate_alerts(db_session, company.id, date(2026, 11, 22)) == []
    assert len(sent(db_session)) == before and len(firings(db_session, company)) == 1

    assert evaluate_alerts(db_session, company.id, date(2026, 12, 2)) == []  # a new cycle, nothing used yet
    use(db_session, second, date(2026, 12, 5), bytes=16 * GB)
    assert len(evaluate_alerts(db_session, company.id, date(2026, 12, 6))) == 1
    assert firings(db_session, company)[-1] == (made.id, date(2026, 12, 1), 80)
    assert len(sent(db_session)) == before + 2


def test_nothing_below_the_threshold(db_session, acme):
    company, (first, second) = acme["company"], acme["lines"]
    alert(db_session, acme)
    alert(db_session, acme, metric="spend", percent=None, amount_cents=5000)
    use(db_session, first, date(2026, 11, 3), bytes=15 * GB, cost_cents=4999)
    use(db_session, second, date(2026, 11, 3), billed=True, cost_cents=9000)  # billed: not spend
    assert evaluate_alerts(db_session, company.id, NOV) == []
    assert firings(db_session, company) == [] and sent(db_session) == []


def test_voice_counts_outgoing_calls_and_bundles_add_to_the_allowance(db_session, acme):
    company, (first, _second) = acme["company"], acme["lines"]
    alert(db_session, acme, scope="line", line_id=first.id, metric="voice_percent", percent=90)
    bundle = Bundle(code="B-100", name="100 min", voice_minutes=100, monthly_fee_eur=Decimal("5"))
    db_session.add(bundle)
    db_session.flush()
    with tenant_scope(db_session, company.id):
        db_session.add(LineBundle(tenant_id=company.id, line_id=first.id, bundle_id=bundle.id,
                                  starts_on=date(2026, 11, 1)))  # fmt: skip
    use(db_session, first, date(2026, 11, 3), kind="voice", duration_s=170 * 60)  # 85 % of 200 minutes
    use(db_session, first, date(2026, 11, 3), kind="voice", direction="in", duration_s=100 * 60)
    assert evaluate_alerts(db_session, company.id, NOV) == []
    use(db_session, first, date(2026, 11, 4), kind="voice", duration_s=10 * 60)
    assert len(evaluate_alerts(db_session, company.id, NOV)) == 1
    assert firings(db_session, company)[0][2] == 90


def test_a_line_in_a_pool_is_measured_against_the_pool(db_session, acme):
    company, (first, second) = acme["company"], acme["lines"]
    with tenant_scope(db_session, company.id):
        pool = UsagePool(tenant_id=company.id, name="Shared", data_gb=Decimal("20"))
        db_session.add(pool)
        db_session.flush()
        first.pool_id = second.pool_id = pool.id
        db_session.flush()
    alert(db_session, acme, scope="line", line_id=first.id, percent=50)
    use(db_session, second, date(2026, 11, 3), bytes=10 * GB)  # the other line of the pool
    assert len(evaluate_alerts(db_session, company.id, NOV)) == 1
    assert firings(db_session, company)[0][2] == 50


def test_a_member_limited_to_other_lines_is_not_told(db_session, acme):
    company, (first, second) = acme["company"], acme["lines"]
    alert(db_session, acme, recipients=("ana", "bob"), scope="line", line_id=first.id, by_sms=True)
    alert(db_session, acme, recipients=("bob",), scope="line", line_id=second.id, percent=10, by_sms=True)
    use(db_session, first, date(2026, 11, 3), bytes=9 * GB)
    use(db_session, second, date(2026, 11, 3), bytes=2 * GB)
    assert len(evaluate_alerts(db_session, company.id, NOV)) == 2
    told = {(m.channel, m.recipient) for m in sent(db_session)}
    assert told == {
        ("email", acme["ana"].user.email),
        ("sms", "+34612000001"),
        ("email", acme["bob"].user.email),  # about the line he sees only
        ("sms", "+34612000003"),
    }
    assert sum(1 for m in sent(db_session) if m.recipient == acme["bob"].user.email) == 1


def test_a_spend_cap_records_one_bar_request_and_says_so(db_session, acme):
    company, (first, _second) = acme["company"], acme["lines"]
    alert(db_session, acme, recipients=("bea",), scope="line", line_id=first.id, metric="spend",
          percent=None, amount_cents=5000, cap=True, by_sms=True)  # fmt: skip
    use(db_session, first, date(2026, 11, 3), cost_cents=3000)
    use(db_session, first, date(2026, 11, 5), kind="premium", cost_cents=2500)
    use(db_session, first, date(2026, 11, 5), billed=True, cost_cents=90000)
    assert len(evaluate_alerts(db_session, company.id, NOV)) == 1
    assert evaluate_alerts(db_session, company.id, NOV) == []
    with tenant_scope(db_session, company.id):
        requests = db_session.execute(
            select(UsageCapRequest.line_id, UsageCapRequest.cycle_start, UsageCapRequest.cap_cents,
                   UsageCapRequest.spend_cents, UsageCapRequest.status)
        ).all()  # fmt: skip
    assert requests == [(first.id, date(2026, 11, 1), 5000, 5500, "recorded")]
    sms = next(m for m in sent(db_session) if m.channel == "sms")
    assert sms.recipient == "+34612000002"
    assert "ha llegado a 55,00\u00a0€ de gasto aún no facturado" in sms.body_text
    assert "Se ha registrado una solicitud para bloquear" in sms.body_text
    with operator_scope(db_session, "test"):
        recorded = db_session.scalars(
            select(AuditEvent).where(AuditEvent.action == "usage_cap.recorded")
        ).all()
    assert [e.detail["target"] for e in recorded] == [first.number]


def test_the_jobs_evaluate_every_company_with_alerts(db_session, acme, monkeypatch):
    other = _acme(db_session)
    alert(db_session, acme)
    offered = []
    monkeypatch.setattr(alert_tasks.evaluate_usage_alerts, "send", offered.append)
    alert_tasks.evaluate_all_alerts.fn()
    assert offered == [acme["company"].id] and other["company"].id not in offered
    use(db_session, acme["lines"][0], datetime.now(MADRID).date(), bytes=17 * GB)
    alert_tasks.evaluate_usage_alerts.fn(acme["company"].id)
    alert_tasks.evaluate_usage_alerts.fn(acme["company"].id)  # a retry
    assert len(firings(db_session, acme["company"])) == 1


@pytest.fixture
def committing(live_app):
    yield live_app
    empty_tables(live_app.config["DATABASE_OWNER_URL"] or live_app.config["DATABASE_URL"])


def test_runs_at_the_same_time_fire_once(committing):
    """Four evaluations of the same company at once, each in its own transaction that really commits: one
    firing, one message per recipient and channel."""
    with committing.app_context():
        session = get_session()
        acme = _acme(session)
        alert(session, acme, recipients=("ana", "bea"), by_sms=True)
        use(session, acme["lines"][0], NOV, bytes=17 * GB)
        session.commit()
        company_id = acme["company"].id
    start, results, errors = threading.Barrier(4), [], []

    def evaluate():
        try:
            with committing.app_context():
                session = get_session()
                start.wait()
                results.append(len(evaluate_alerts(session, company_id, NOV)))
                session.commit()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=evaluate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(results) == [0, 0, 0, 1]
    with committing.app_context():
        session = get_session()
        set_tenant(session, company_id)
        assert session.scalar(select(func.count()).select_from(UsageAlertFiring)) == 1
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 4  # 2 people × email, SMS


def test_a_message_refused_by_a_send_limit_is_skipped_and_the_others_go(app, db_session, acme, monkeypatch):
    company, (first, _second) = acme["company"], acme["lines"]
    alert(db_session, acme, recipients=("ana", "bea"), by_sms=True)
    use(db_session, first, NOV, bytes=17 * GB)
    monkeypatch.setitem(app.config, "SEND_LIMIT_COMPANY_HOUR", Rate(3, 3600))  # four messages, three allowed
    assert len(evaluate_alerts(db_session, company.id, NOV)) == 1
    assert len(sent(db_session)) == 3
    assert evaluate_alerts(db_session, company.id, NOV) == []  # fired: the fourth is not sent later either
    assert len(sent(db_session)) == 3

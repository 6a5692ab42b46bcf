"""Approval: above the company's monthly-cost threshold an order waits until another administrator approves
or declines it; its requester cannot; the database decides (conditional UPDATE); audit events and SMS notices."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mgd.db import get_session, set_tenant
from mgd.orders import services
from mgd.orders.models import Order
from mgd.security.models import AuditEvent, User
from tests.accounts import add_member, update_user, user_id_of
from tests.kit import outbox, signed_in_client, speak, text, token
from tests.orders.kit import add_tariff, load_order, order_id, orders_of, place

ORDERS = "/empresa/{ref}/pedidos"


def set_threshold(client, ref: str, amount: str):
    return client.post(
        f"{ORDERS.format(ref=ref)}/aprobacion", data={"threshold": amount, "csrf_token": token(client)}
    )


def tariff_order(client, company, tariff: int):
    return order_id(
        place(client, company.ref, "cambio-tarifa", {"line": company.numbers[0], "tariff": str(tariff)})
    )


def actions(app, company_id: int) -> list[str]:
    with app.app_context():
        return list(
            get_session().scalars(
                select(AuditEvent.action)
                .where(AuditEvent.tenant_id == company_id, AuditEvent.action.startswith("order."))
                .order_by(AuditEvent.id)
            )
        )


@pytest.fixture
def tariff(app) -> int:
    return add_tariff(app, fee="25.00", name="Tarifa Plus")


def test_above_the_threshold_an_order_waits_for_another_administrator(app, acme, tariff):
    add_member(app, acme, "alba@acme.es", "admin")
    ana = signed_in_client(app, "ana@acme.es")
    assert set_threshold(ana, acme.ref, "20").status_code == 302
    bob = signed_in_client(app, "bob@acme.es")
    number = tariff_order(bob, acme, tariff)
    order = load_order(app, acme.id, number)
    assert order.state == "awaiting_approval" and order.monthly_cost_eur == 25
    assert [e.to_state for e in order.events] == ["submitted", "awaiting_approval"]
    subjects = {m.recipient: m.subject for m in outbox(app) if f"{number}" in (m.subject or "")}
    assert "awaits your approval" in subjects["ana@acme.es"]
    assert "espera tu aprobación" in subjects["alba@acme.es"]  # in her language (Spanish: none chosen)
    assert text(signed_in_client(app, "alba@acme.es").get(ORDERS.format(ref=acme.ref))).count(
        "awaits approval"
    )
    # The queue of the back office does not show it among the submitted ones.
    page = text(ana.get(f"{ORDERS.format(ref=acme.ref)}/{number}"))
    assert "Approve the order" in page
    approved = ana.post(f"{ORDERS.format(ref=acme.ref)}/{number}/aprobar", data={"csrf_token": token(ana)})
    assert approved.status_code == 302
    order = load_order(app, acme.id, number)
    assert order.state == "submitted" and order.events[-1].user_id == user_id_of(app, "ana@acme.es")
    assert any("Submitted" in (m.subject or "") for m in outbox(app) if m.recipient == "bob@acme.es")
    assert actions(app, acme.id) == ["order.approval_threshold", "order.placed", "order.approved"]
    again = ana.post(f"{ORDERS.format(ref=acme.ref)}/{number}/aprobar", data={"csrf_token": token(ana)})
    assert again.status_code == 409 and "no longer awaits approval" in text(again)


def test_the_requester_cannot_approve_their_own_order(app, acme, tariff):
    add_member(app, acme, "alba@acme.es", "admin")
    ana = signed_in_client(app, "ana@acme.es")
    set_threshold(ana, acme.ref, "10")
    number = tariff_order(ana, acme, tariff)
    page = text(ana.get(f"{ORDERS.format(ref=acme.ref)}/{number}"))
    assert "Approve the order" not in page and "another administrator" in page
    refused = ana.post(f"{ORDERS.format(ref=acme.ref)}/{number}/aprobar", data={"csrf_token": token(ana)})
    assert refused.status_code == 403 and "another administrator of the company must approve it" in text(
        refused
    )
    assert load_order(app, acme.id, number).state == "awaiting_approval"
    # The service itself refuses: the UPDATE's condition names the requester.
    with app.app_context():
        session = get_session()
        set_tenant(session, acme.id)
        order = session.get(Order, number)
        with pytest.raises(services.OwnOrder):
            services.decide_approval(session, order, True, user=session.get(User, order.requester_id))
        session.rollback()
    alba = signed_in_client(app, "alba@acme.es")
    declined = alba.post(
        f"{ORDERS.format(ref=acme.ref)}/{number}/declinar",
        data={"reason": "Demasiado caro", "csrf_token": token(alba)},
    )
    assert declined.status_code == 302
    order = load_order(app, acme.id, number)
    assert order.state == "rejected" and order.events[-1].note == "Demasiado caro"
    assert "order.declined" in actions(app, acme.id)


def test_managers_and_billing_cannot_approve_and_a_decline_needs_a_reason(app, acme, tariff):
    add_member(app, acme, "alba@acme.es", "admin")
    ana = signed_in_client(app, "ana@acme.es")
    set_threshold(ana, acme.ref, "10")
    number = tariff_order(ana, acme, tariff)
    bob = signed_in_client(app, "bob@acme.es")
    url = f"{ORDERS.format(ref=acme.ref)}/{number}"
    assert bob.post(f"{url}/aprobar", data={"csrf_token": token(bob)}).status_code == 403
    assert bob.get(f"{ORDERS.format(ref=acme.ref)}/aprobacion").status_code == 403
    alba = signed_in_client(app, "alba@acme.es")
    empty = alba.post(f"{url}/declinar", data={"reason": " ", "csrf_token": token(alba)})
    assert empty.status_code == 422 and "This field is required" in text(empty)
    assert load_order(app, acme.id, number).state == "awaiting_approval"


def test_below_or_without_a_threshold_nothing_waits_and_bad_amounts_are_refused(app, acme, tariff):
    ana = signed_in_client(app, "ana@acme.es")
    bob = signed_in_client(app, "bob@acme.es")
    assert load_order(app, acme.id, tariff_order(bob, acme, tariff)).state == "submitted"
    set_threshold(ana, acme.ref, "25,00")
    assert load_order(app, acme.id, tariff_order(bob, acme, tariff)).state == "submitted"  # not above
    for bad in ("abc", "-5", "1e400", "NaN"):
        refused = set_threshold(ana, acme.ref, bad)
        assert refused.status_code == 422 and "Monthly cost above which" in text(refused), bad
    assert set_threshold(ana, acme.ref, "").status_code == 302
    assert "no longer need approval" in text(ana.get(ORDERS.format(ref=acme.ref)))


def test_the_requester_may_cancel_an_order_awaiting_approval(app, acme, tariff):
    ana = signed_in_client(app, "ana@acme.es")
    set_threshold(ana, acme.ref, "10")
    number = tariff_order(ana, acme, tariff)
    cancelled = ana.post(
        f"{ORDERS.format(ref=acme.ref)}/{number}/cancelar",
        data={"confirmed": "yes", "csrf_token": token(ana)},
    )
    assert cancelled.status_code == 302
    assert load_order(app, acme.id, number).state == "cancelled"
    assert actions(app, acme.id)[-1] == "order.cancelled"


def test_an_automatic_order_is_provisioned_only_once_approved(app, acme, monkeypatch):
    sent = []
    from mgd.orders import tasks  # noqa: PLC0415

    monkeypatch.setattr(tasks.provision_order, "send", lambda *ids: sent.append(ids))
    ana = signed_in_client(app, "ana@acme.es")
    add_member(app, acme, "alba@acme.es", "admin")
    with app.app_context():
        session = get_session()
        from mgd.tenants.models import Company  # noqa: PLC0415

        session.get(Company, acme.id).order_approval_threshold_eur = 0
        session.commit()
    # A voicemail reset costs nothing a month: never above a threshold of 0.
    number = order_id(place(ana, acme.ref, "buzon-voz", {"line": acme.numbers[0]}))
    assert load_order(app, acme.id, number).state == "submitted" and sent == [(acme.id, number)]


def test_sms_notices_go_to_the_confirmed_mobile_of_whoever_asks_for_them(app, acme, tariff):
    ana = signed_in_client(app, "ana@acme.es")
    url = ORDERS.format(ref=acme.ref)
    update_user(app, user_id_of(app, "ana@acme.es"), mobile="+34600111222")
    assert 'name="sms"' in text(ana.get(url))
    saved = ana.post(f"{url}/avisos", data={"sms": "y", "csrf_token": token(ana)}, follow_redirects=True)
    assert "by email and SMS" in text(saved)
    number = tariff_order(ana, acme, tariff)
    sms = [m for m in outbox(app) if m.channel == "sms" and m.recipient == "+34600111222"]
    assert len(sms) == 1 and f"order {number}" in sms[0].body_text and "Submitted" in sms[0].body_text
    ana.post(f"{url}/avisos", data={"csrf_token": token(ana)})
    tariff_order(ana, acme, tariff)
    assert len([m for m in outbox(app) if m.channel == "sms" and m.recipient == "+34600111222"]) == 1


def test_approval_and_sms_in_spanish(app, acme, tariff):
    add_member(app, acme, "alba@acme.es", "admin")
    ana = speak(signed_in_client(app, "ana@acme.es"), "es")
    update_user(app, user_id_of(app, "ana@acme.es"), mobile="+34600111222", order_sms=True)
    set_threshold(ana, acme.ref, "10")
    page = text(ana.get(f"{ORDERS.format(ref=acme.ref)}/aprobacion"))
    assert "Aprobación de pedidos" in page
    url = f"{ORDERS.format(ref=acme.ref)}/nuevo/cambio-tarifa"
    fields = {
        "line": acme.numbers[0],
        "tariff": str(tariff),
        "idempotency_key": "es-1",
        "csrf_token": token(ana),
    }
    assert "Confirma el pedido" in text(ana.post(url, data=fields))
    number = order_id(ana.post(url, data={**fields, "confirmed": "yes"}))
    page = text(ana.get(f"{ORDERS.format(ref=acme.ref)}/{number}"))
    assert "Pendiente de aprobación" in page and "otro administrador" in page
    sms = [m for m in outbox(app) if m.channel == "sms"][-1]
    assert "tu pedido" in sms.body_text and "Pendiente de aprobación" in sms.body_text
    refused = ana.post(f"{ORDERS.format(ref=acme.ref)}/{number}/aprobar", data={"csrf_token": token(ana)})
    assert "otro administrador de la empresa" in text(refused)
    assert orders_of(app)[0].state == "awaiting_approval"

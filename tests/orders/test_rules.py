"""Who may order what, isolation, a form posted twice, two advisors at once, bad input, and Spanish."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from mgd.db import get_session, set_tenant
from mgd.orders import services
from mgd.orders.models import Order
from mgd.tenants.models import Membership, MembershipScope
from tests.accounts import add_member
from tests.kit import outbox, signed_in_client, speak, text, token
from tests.orders.kit import advisor, load_order, order_id, orders_of, place

ORDERS = "/empresa/{ref}/pedidos"


def limit_to(app, company, email: str, line_id: int) -> None:
    """Limit a member to one line of their company."""
    with app.app_context():
        session = get_session()
        set_tenant(session, company.id)
        membership_id = company.members[email]
        session.execute(update(Membership).where(Membership.id == membership_id).values(limited=True))
        session.add(MembershipScope(tenant_id=company.id, membership_id=membership_id, line_id=line_id))
        session.commit()


def test_admins_and_managers_order_billing_only_looks_and_viewers_see_nothing(app, acme):
    add_member(app, acme, "bill@acme.es", "billing")
    url = ORDERS.format(ref=acme.ref)
    for email, listing, ordering in (
        ("ana@acme.es", 200, 200),
        ("bob@acme.es", 200, 200),
        ("bill@acme.es", 200, 403),
        ("carla@acme.es", 403, 403),
    ):
        client = signed_in_client(app, email)
        assert client.get(url).status_code == listing, email
        assert client.get(f"{url}/nuevo/buzon-voz").status_code == ordering, email
    bill = signed_in_client(app, "bill@acme.es")
    made = place(signed_in_client(app, "ana@acme.es"), acme.ref, "buzon-voz", {"line": acme.numbers[0]})
    page = text(bill.get(f"{url}/{order_id(made)}"))
    assert "Voicemail reset" in page and "Cancel the order" not in page
    assert bill.post(f"{url}/{order_id(made)}/cancelar", data={"csrf_token": token(bill)}).status_code == 403


def test_another_companys_line_and_order_are_404(app, acme, beta):
    ana = signed_in_client(app, "ana@acme.es")
    url = f"{ORDERS.format(ref=acme.ref)}/nuevo/buzon-voz"
    assert ana.get(url, query_string={"linea": beta.numbers[0]}).status_code == 404
    posted = ana.post(url, data={"line": beta.numbers[0], "idempotency_key": "x", "csrf_token": token(ana)})
    assert posted.status_code == 404 and orders_of(app) == []
    dora = signed_in_client(app, "dora@beta.es")
    theirs = order_id(place(dora, beta.ref, "buzon-voz", {"line": beta.numbers[0]}))
    assert ana.get(f"{ORDERS.format(ref=acme.ref)}/{theirs}").status_code == 404
    assert (
        ana.post(
            f"{ORDERS.format(ref=acme.ref)}/{theirs}/cancelar",
            data={"csrf_token": token(ana), "confirmed": "yes"},
        ).status_code
        == 404
    )
    assert load_order(app, beta.id, theirs).state == "submitted"


def test_a_member_limited_to_some_lines_orders_and_sees_only_those(app, acme):
    bob = signed_in_client(app, "bob@acme.es")
    ana = signed_in_client(app, "ana@acme.es")
    other = order_id(place(ana, acme.ref, "buzon-voz", {"line": acme.numbers[0]}))
    limit_to(app, acme, "bob@acme.es", acme.lines[1])
    url = ORDERS.format(ref=acme.ref)
    posted = bob.post(
        f"{url}/nuevo/buzon-voz",
        data={"line": acme.numbers[0], "idempotency_key": "y", "csrf_token": token(bob)},
    )
    assert posted.status_code == 404
    assert bob.get(f"{url}/{other}").status_code == 404
    mine = order_id(place(bob, acme.ref, "buzon-voz", {"line": acme.numbers[1]}))
    listing = text(bob.get(url))
    assert f">{mine}<" in listing and f">{other}<" not in listing


def test_a_form_posted_twice_makes_one_order(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    url = f"{ORDERS.format(ref=acme.ref)}/nuevo/buzon-voz"
    form = {"line": acme.numbers[0], "idempotency_key": "same-key", "confirmed": "yes"}
    first = ana.post(url, data={**form, "csrf_token": token(ana)})
    second = ana.post(url, data={**form, "csrf_token": token(ana)})
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert len(orders_of(app)) == 1
    assert len([m for m in outbox(app) if m.recipient == "ana@acme.es" and "Submitted" in m.subject]) == 1


def test_the_same_key_in_another_company_is_another_order(app, acme, beta):
    for company, email in ((acme, "ana@acme.es"), (beta, "dora@beta.es")):
        client = signed_in_client(app, email)
        client.post(
            f"{ORDERS.format(ref=company.ref)}/nuevo/buzon-voz",
            data={
                "line": company.numbers[0],
                "idempotency_key": "k",
                "confirmed": "yes",
                "csrf_token": token(client),
            },
        )
    assert len(orders_of(app)) == 2


def test_two_advisors_taking_one_order_one_wins_and_the_other_is_told(app, acme):
    number = order_id(
        place(signed_in_client(app, "ana@acme.es"), acme.ref, "consulta", {"subject": "S", "text": "T"})
    )
    first, second = advisor(app, "advisor"), advisor(app, "other")
    base = f"/backoffice/pedidos/{number}"
    # Both saw it submitted; the second's take arrives after the first's.
    assert (
        first.post(
            f"{base}/take", data={"take-expected": "submitted", "csrf_token": token(first)}
        ).status_code
        == 302
    )
    late = second.post(f"{base}/take", data={"take-expected": "submitted", "csrf_token": token(second)})
    assert late.status_code == 409
    assert "Someone else changed this order meanwhile: it is now In progress" in text(late)
    order = load_order(app, acme.id, number)
    assert order.assigned_to.email == "advisor@operador.es"
    assert [e.to_state for e in order.events] == ["submitted", "in_progress"]
    rejected = second.post(
        f"{base}/reject",
        data={"reject-expected": "submitted", "reject-reason": "No", "csrf_token": token(second)},
    )
    assert rejected.status_code == 409 and load_order(app, acme.id, number).state == "in_progress"


def test_the_conditional_update_refuses_a_move_from_a_state_left_meanwhile(app, acme):
    number = order_id(
        place(signed_in_client(app, "ana@acme.es"), acme.ref, "consulta", {"subject": "S", "text": "T"})
    )
    with app.app_context():
        session = get_session()
        set_tenant(session, acme.id)
        seen_by_customer = session.get(Order, number)
        services.move_order(session, seen_by_customer, "take", expected="submitted", actor="system")
        with pytest.raises(services.StaleOrder) as stale:
            services.move_order(session, seen_by_customer, "cancel", expected="submitted", actor="customer")
        assert stale.value.state == "in_progress"
        with pytest.raises(services.NotAllowed):
            services.move_order(session, seen_by_customer, "cancel", expected="in_progress", actor="customer")


def test_the_customer_cancels_after_a_confirmation_only_while_submitted(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    number = order_id(place(ana, acme.ref, "buzon-voz", {"line": acme.numbers[0]}))
    url = f"{ORDERS.format(ref=acme.ref)}/{number}/cancelar"
    asked = ana.post(url, data={"csrf_token": token(ana)})
    assert "Confirm the cancellation" in text(asked) and load_order(app, acme.id, number).state == "submitted"
    assert ana.post(url, data={"csrf_token": token(ana), "confirmed": "yes"}).status_code == 302
    assert load_order(app, acme.id, number).state == "cancelled"
    again = ana.post(url, data={"csrf_token": token(ana), "confirmed": "yes"})
    assert again.status_code == 409 and "can no longer be cancelled" in text(again)


def test_bad_input_names_the_field(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    url = f"{ORDERS.format(ref=acme.ref)}/nuevo/"
    cases = [
        ("buzon-voz", {"line": ""}, "Give the number of the line."),
        ("buzon-voz", {"line": "hello"}, "This is not a Spanish fixed or mobile number."),
        ("cambio-tarifa", {"line": acme.numbers[0], "tariff": "999999"}, "Choose a tariff of the list"),
        ("bloqueo-tarificacion", {"line": acme.numbers[0], "action": "block"}, "Choose calls, SMS or both."),
        (
            "roaming",
            {"line": acme.numbers[0], "action": "on", "country": "", "start": "2030-01-01"},
            "Choose the destination country.",
        ),
        (
            "roaming",
            {"line": acme.numbers[0], "action": "on", "country": "FR", "start": "mañana"},
            "Give the first day as day/month/year.",
        ),
        (
            "roaming",
            {"line": acme.numbers[0], "action": "on", "country": "FR", "start": "2000-01-01"},
            "The first day cannot be in the past.",
        ),
        (
            "roaming",
            {
                "line": acme.numbers[0],
                "action": "on",
                "country": "FR",
                "start": "2030-01-05",
                "end": "2030-01-01",
            },
            "The last day cannot be before the first.",
        ),
        ("consulta", {"subject": "", "text": "x"}, "This field is required."),
        ("consulta", {"subject": "a\nb", "text": "x"}, "Subject must be on one line."),
    ]
    for slug, data, message in cases:
        response = ana.post(url + slug, data={**data, "idempotency_key": "z", "csrf_token": token(ana)})
        page = text(response)
        assert response.status_code == 422 and message in page and "error-summary" in page, (slug, data)
    assert orders_of(app) == []


def test_pages_and_emails_in_spanish(app, acme):
    ana = speak(signed_in_client(app, "ana@acme.es"), "es")
    assert "Pedidos y solicitudes" in text(ana.get(ORDERS.format(ref=acme.ref)))
    number = order_id(place_in_spanish(ana, acme))
    page = text(ana.get(f"{ORDERS.format(ref=acme.ref)}/{number}"))
    assert "Reinicio del buzón de voz" in page and "Enviado" in page
    mail = [m for m in outbox(app) if m.recipient == "ana@acme.es"][-1]
    assert "Tu pedido" in mail.subject and "Enviado" in mail.subject


def place_in_spanish(client, company):
    url = f"{ORDERS.format(ref=company.ref)}/nuevo/buzon-voz"
    form = {"line": company.numbers[0], "idempotency_key": "es-1", "csrf_token": token(client)}
    assert "Confirma el pedido" in text(client.post(url, data=form))
    return client.post(url, data={**form, "confirmed": "yes"})

"""Each kind of order end to end: the customer orders it, the back office (or the provisioning job) handles
it, completion changes the line's records, and every step emails the requester."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update

from mgd.db import get_session, set_tenant
from mgd.orders.models import Order
from mgd.orders.services import today
from mgd.tenants.models import Tariff
from tests.kit import browser, outbox, signed_in_client, text, token
from tests.orders.kit import add_tariff, advisor, load_line, load_order, order_id, place, provision


def mails_to(app, email: str) -> list[str]:
    return [m.subject for m in outbox(app) if m.recipient == email]


def test_a_tariff_change_is_shown_with_its_cost_then_completed_by_an_advisor(app, acme):
    tariff = add_tariff(app, fee="25.00", name="Tarifa Plus")
    ana = signed_in_client(app, "ana@acme.es")
    number = acme.numbers[0]
    url = f"/empresa/{acme.ref}/pedidos/nuevo/cambio-tarifa"
    form = text(ana.get(url, query_string={"linea": number}))
    assert "Tarifa Plus" in form and "€25.00" in form
    asked = ana.post(
        url, data={"line": number, "tariff": str(tariff), "idempotency_key": "k-1", "csrf_token": token(ana)}
    )
    page = text(asked)
    assert "Confirm the order" in page and "€25.00" in page and "€10.00" in page  # new and current fees
    done = ana.post(
        url,
        data={
            "line": number,
            "tariff": str(tariff),
            "idempotency_key": "k-1",
            "confirmed": "yes",
            "csrf_token": token(ana),
        },
    )
    assert done.status_code == 302
    number_of_order = order_id(done)
    order = load_order(app, acme.id, number_of_order)
    assert order.state == "submitted" and order.payload["tariff_id"] == tariff
    assert date.fromisoformat(order.payload["effective_from"]) > today() - timedelta(days=1)
    assert any("Submitted" in s for s in mails_to(app, "ana@acme.es"))

    desk = advisor(app)
    queue = text(desk.get("/backoffice/pedidos", query_string={"state": "submitted"}))
    assert f">{number_of_order}<" in queue and "Acme S.L." in queue
    base = f"/backoffice/pedidos/{number_of_order}"
    assert (
        desk.post(f"{base}/take", data={"take-expected": "submitted", "csrf_token": token(desk)}).status_code
        == 302
    )
    assert load_line(app, acme.id, acme.lines[0]).tariff_id != tariff
    done = desk.post(
        f"{base}/complete",
        data={"complete-expected": "in_progress", "complete-note": "Hecho", "csrf_token": token(desk)},
    )
    assert done.status_code == 302
    assert load_line(app, acme.id, acme.lines[0]).tariff_id == tariff
    order = load_order(app, acme.id, number_of_order)
    assert [(e.from_state, e.to_state) for e in order.events] == [
        (None, "submitted"),
        ("submitted", "in_progress"),
        ("in_progress", "completed"),
    ]
    subjects = mails_to(app, "ana@acme.es")
    assert any("In progress" in s for s in subjects) and any("Completed" in s for s in subjects)
    timeline = text(ana.get(f"/empresa/{acme.ref}/pedidos/{number_of_order}"))
    assert "Completed" in timeline and "Hecho" in timeline


def test_voicemail_reset_is_done_by_the_provisioning_job(app, acme):
    bob = signed_in_client(app, "bob@acme.es")  # a manager may order
    made = place(bob, acme.ref, "buzon-voz", {"line": acme.numbers[1]})
    assert made.status_code == 302
    number = order_id(made)
    assert load_line(app, acme.id, acme.lines[1]).voicemail_reset_at is None
    provision(app, acme.id, number)
    provision(app, acme.id, number)  # a second run does nothing
    order = load_order(app, acme.id, number)
    assert order.state == "completed"
    assert [e.to_state for e in order.events] == ["submitted", "in_progress", "completed"]
    assert [e.actor for e in order.events][1:] == ["system", "system"]
    assert load_line(app, acme.id, acme.lines[1]).voicemail_reset_at is not None
    assert len([s for s in mails_to(app, "bob@acme.es") if "Completed" in s]) == 1


def test_premium_blocking_of_calls_and_sms_is_done_by_the_job(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    made = place(
        ana,
        acme.ref,
        "bloqueo-tarificacion",
        {"line": acme.numbers[0], "action": "block", "calls": "y", "sms": "y"},
    )
    provision(app, acme.id, order_id(made))
    line = load_line(app, acme.id, acme.lines[0])
    assert line.premium_calls_blocked and line.premium_sms_blocked
    made = place(
        ana, acme.ref, "bloqueo-tarificacion", {"line": acme.numbers[0], "action": "unblock", "sms": "y"}
    )
    provision(app, acme.id, order_id(made))
    line = load_line(app, acme.id, acme.lines[0])
    assert line.premium_calls_blocked and not line.premium_sms_blocked


def test_roaming_off_is_completed_by_an_advisor(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    start = (today() + timedelta(days=3)).isoformat()
    made = place(ana, acme.ref, "roaming", {"line": acme.numbers[2], "action": "off", "start": start})
    number = order_id(made)
    desk = advisor(app)
    base = f"/backoffice/pedidos/{number}"
    desk.post(f"{base}/take", data={"take-expected": "submitted", "csrf_token": token(desk)})
    desk.post(f"{base}/complete", data={"complete-expected": "in_progress", "csrf_token": token(desk)})
    assert load_order(app, acme.id, number).state == "completed"
    assert load_line(app, acme.id, acme.lines[2]).roaming_enabled is False


def test_roaming_on_names_the_country_and_the_days(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    start, end = today() + timedelta(days=1), today() + timedelta(days=8)
    made = place(
        ana,
        acme.ref,
        "roaming",
        {
            "line": acme.numbers[2],
            "action": "on",
            "country": "FR",
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    )
    order = load_order(app, acme.id, order_id(made))
    assert order.payload == {
        "action": "on",
        "country": "FR",
        "start": start.isoformat(),
        "end": end.isoformat(),
    }
    assert "France" in text(ana.get(f"/empresa/{acme.ref}/pedidos/{order.id}"))


def test_an_enquiry_is_answered_with_a_note_and_rejected_with_a_reason(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    made = place(
        ana,
        acme.ref,
        "consulta",
        {"subject": "Factura", "text": "¿Por qué sube?", "customer_reference": "PO-77"},
    )
    number = order_id(made)
    order = load_order(app, acme.id, number)
    assert order.lines == [] and order.customer_reference == "PO-77"
    desk = advisor(app)
    base = f"/backoffice/pedidos/{number}"
    desk.post(
        f"{base}/note",
        data={"note-expected": "submitted", "note-note": "Solo interno", "csrf_token": token(desk)},
    )
    desk.post(
        f"{base}/note",
        data={
            "note-expected": "submitted",
            "note-note": "Le llamamos mañana",
            "note-visible": "y",
            "csrf_token": token(desk),
        },
    )
    desk.post(
        f"{base}/reject",
        data={"reject-expected": "submitted", "reject-reason": "No es un pedido", "csrf_token": token(desk)},
    )
    page = text(ana.get(f"/empresa/{acme.ref}/pedidos/{number}"))
    assert "Le llamamos mañana" in page and "No es un pedido" in page and "Rejected" in page
    assert "Solo interno" not in page
    assert "Solo interno" in text(desk.get(base))
    mails = [m for m in outbox(app) if m.recipient == "ana@acme.es"]
    assert any("A message about your order" in m.subject for m in mails)
    assert not any("Solo interno" in (m.body_text or "") for m in mails)


def test_a_change_the_records_refuse_leaves_the_order_in_progress_and_the_line_as_it_was(app, acme):
    tariff = add_tariff(app, fee="30.00", name="Tarifa Max")
    ana = signed_in_client(app, "ana@acme.es")
    made = place(
        ana,
        acme.ref,
        "cambio-tarifa",
        {"line": acme.numbers[0], "tariff": str(tariff)},
        linea=acme.numbers[0],
    )
    number = order_id(made)
    with app.app_context():  # the catalogue moves the tariff to another family meanwhile
        session = get_session()
        session.execute(update(Tariff).where(Tariff.id == tariff).values(family="fixed"))
        session.commit()
    before = load_line(app, acme.id, acme.lines[0]).tariff_id
    desk = advisor(app)
    base = f"/backoffice/pedidos/{number}"
    desk.post(f"{base}/take", data={"take-expected": "submitted", "csrf_token": token(desk)})
    refused = desk.post(
        f"{base}/complete", data={"complete-expected": "in_progress", "csrf_token": token(desk)}
    )
    assert refused.status_code == 409 and "could not be applied to the records" in text(refused)
    assert load_order(app, acme.id, number).state == "in_progress"
    assert load_line(app, acme.id, acme.lines[0]).tariff_id == before
    assert not any("Completed" in s for s in mails_to(app, "ana@acme.es"))


def test_the_queue_shows_each_kind_and_state_with_its_sla_clock(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    late = order_id(place(ana, acme.ref, "buzon-voz", {"line": acme.numbers[0]}))
    fresh = order_id(place(ana, acme.ref, "consulta", {"subject": "S", "text": "T"}))
    with app.app_context():
        session = get_session()
        set_tenant(session, acme.id)
        hours_ago = datetime.now(UTC) - timedelta(hours=5)  # the voicemail target is 4 h
        session.execute(update(Order).where(Order.id == late).values(state_changed_at=hours_ago))
        session.commit()
    desk = advisor(app)
    queue = text(desk.get("/backoffice/pedidos"))
    assert queue.index(f">{late}<") < queue.index(f">{fresh}<")  # longest in its state first
    assert "5 h of 4 h" in queue and "late" in queue
    enquiries = text(desk.get("/backoffice/pedidos", query_string={"kind": "enquiry"}))
    assert f">{fresh}<" in enquiries and f">{late}<" not in enquiries
    assert f">{late}<" not in text(desk.get("/backoffice/pedidos", query_string={"state": "completed"}))
    assert desk.get("/backoffice/pedidos", query_string={"state": "nope"}).status_code == 404
    assert browser(app).get("/backoffice/pedidos").status_code == 404
    assert ana.get("/backoffice/pedidos").status_code == 404
    assert ana.get(f"/backoffice/pedidos/{late}").status_code == 404

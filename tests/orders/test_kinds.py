"""The kinds of order beyond the first five, end to end: a SIM duplicate shipped and activated, a lost or
stolen line suspended (with its replacement SIM in the same step) and restored, bundles added and removed.
Each refusal names its field."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from mgd.db import get_session, set_tenant
from mgd.orders.provisioning import ProvisioningError
from mgd.orders.services import today
from mgd.tenants.models import Company, Line
from mgd.usage.models import Bundle, LineBundle
from tests.factories import make_line
from tests.kit import outbox, signed_in_client, speak, text, token
from tests.orders.kit import advisor, load_line, load_order, order_form, order_id, orders_of, place, provision

ADDRESS = {
    "recipient": "Ana Pérez",
    "address": "Calle Mayor 1",
    "postcode": "28013",
    "city": "Madrid",
    "province": "28",
}
ICCID = "8934291417776317063"  # a valid check digit


def mails_to(app, email: str):
    return [m for m in outbox(app) if m.recipient == email]


def staff_post(desk, number: int, action: str, **fields):
    data = {f"{action}-{name}": value for name, value in fields.items()}
    return desk.post(f"/backoffice/pedidos/{number}/{action}", data={**data, "csrf_token": token(desk)})


def ship_sim(app, desk, number: int) -> None:
    assert staff_post(desk, number, "take", expected="submitted").status_code == 302
    assert load_order(app, *number_key(app, number)).sub_state == "preparing"
    assert (
        staff_post(
            desk, number, "ship", expected="in_progress", carrier="seur", tracking="SE-123456"
        ).status_code
        == 302
    )
    assert staff_post(desk, number, "deliver", expected="in_progress").status_code == 302


def number_key(app, number: int) -> tuple[int, int]:
    tenant = next(o.tenant_id for o in orders_of(app) if o.id == number)
    return tenant, number


def test_a_sim_duplicate_is_shipped_followed_by_the_customer_and_activated(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    made = place(ana, acme.ref, "duplicado-sim", {"line": acme.numbers[0], **ADDRESS})
    assert made.status_code == 302
    number = order_id(made)
    order = load_order(app, acme.id, number)
    assert order.kind == "sim_duplicate" and order.payload["postcode"] == "28013"
    page = text(ana.get(f"/empresa/{acme.ref}/pedidos/{number}"))
    assert "Calle Mayor 1" in page and "Madrid" in page

    desk = advisor(app)
    assert staff_post(desk, number, "take", expected="submitted").status_code == 302
    refused = staff_post(desk, number, "deliver", expected="in_progress")  # not shipped yet
    assert refused.status_code == 409 and "Someone else changed" in text(refused)
    refused = staff_post(desk, number, "ship", expected="in_progress", carrier="seur", tracking="a b")
    assert refused.status_code == 422 and "A tracking number has 4 to 40" in text(refused)
    assert (
        staff_post(
            desk, number, "ship", expected="in_progress", carrier="seur", tracking="SE-123456"
        ).status_code
        == 302
    )
    again = staff_post(desk, number, "ship", expected="in_progress", carrier="mrw", tracking="X-999999")
    assert again.status_code == 409  # shipped once only
    page = text(ana.get(f"/empresa/{acme.ref}/pedidos/{number}"))
    assert "SIM shipped" in page and "SEUR" in page and "SE-123456" in page
    assert "seur.com/livetracking/?segOnlineIdentificador=SE-123456" in ana.get(
        f"/empresa/{acme.ref}/pedidos/{number}"
    ).get_data(as_text=True)
    shipped = [m for m in mails_to(app, "ana@acme.es") if "SIM shipped" in m.subject]
    assert len(shipped) == 1 and "SEUR, tracking number SE-123456" in shipped[0].body_text
    assert "segOnlineIdentificador=SE-123456" in shipped[0].body_text

    early = staff_post(desk, number, "activate", expected="in_progress", iccid=ICCID)
    assert early.status_code == 409 and load_line(app, acme.id, acme.lines[0]).iccid is None
    assert staff_post(desk, number, "deliver", expected="in_progress").status_code == 302
    bad = staff_post(desk, number, "activate", expected="in_progress", iccid="8934291417776317064")
    assert bad.status_code == 422 and "This is not an ICCID" in text(bad)
    complete = staff_post(desk, number, "complete", expected="in_progress")
    assert complete.status_code == 409  # a SIM is activated, not just completed
    done = staff_post(desk, number, "activate", expected="in_progress", iccid=ICCID, note="Ya funciona")
    assert done.status_code == 302
    assert load_line(app, acme.id, acme.lines[0]).iccid == ICCID
    order = load_order(app, acme.id, number)
    assert order.state == "completed" and order.payload["iccid"] == ICCID
    assert [e.sub_state for e in order.events if e.sub_state] == ["shipped", "delivered"]
    page = text(ana.get(f"/empresa/{acme.ref}/pedidos/{number}"))
    assert "SIM delivered" in page and "Completed" in page and ICCID in page and "Ya funciona" in page
    assert any("Completed" in m.subject for m in mails_to(app, "ana@acme.es"))
    line_page = text(ana.get(f"/empresa/{acme.ref}/lineas/{acme.lines[0]}"))
    assert ICCID in line_page


def test_the_new_kinds_speak_spanish(app, acme):
    ana = speak(signed_in_client(app, "ana@acme.es"), "es")
    page = text(
        ana.get(f"/empresa/{acme.ref}/pedidos/nuevo/duplicado-sim", query_string={"linea": acme.numbers[0]})
    )
    assert "Duplicado de SIM" in page and "Dónde enviar la SIM" in page and "Destinatario" in page
    page = text(ana.get(f"/empresa/{acme.ref}/pedidos/nuevo/suspension-perdida-robo"))
    assert "Suspender la línea (se ha perdido o la han robado)" in page and "Robo" in page
    page = text(ana.get(f"/empresa/{acme.ref}/pedidos/nuevo/bonos"))
    assert "Bonos y opciones" in page and "Añadir un bono" in page
    assert "Ver el PUK" in text(ana.get(f"/empresa/{acme.ref}/pedidos/puk"))


def test_a_sim_duplicate_refuses_a_bad_address_naming_each_field(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    url = f"/empresa/{acme.ref}/pedidos/nuevo/duplicado-sim"
    key = order_form(ana, url)
    base = {"line": acme.numbers[0], "idempotency_key": key, "csrf_token": token(ana)}
    page = ana.post(url, data={**base, **ADDRESS, "postcode": "99999"})
    assert page.status_code == 422 and "This is not a Spanish postcode" in text(page)
    page = ana.post(url, data={**base, **ADDRESS, "postcode": "08001"})
    assert page.status_code == 422 and "This postcode belongs to Barcelona" in text(page)
    page = ana.post(url, data={**base, **ADDRESS, "recipient": "", "province": ""})
    assert page.status_code == 422
    assert "Recipient (who receives the SIM)" in text(page) and "Choose the province." in text(page)
    assert orders_of(app) == []


def test_a_fixed_line_has_no_sim_to_duplicate(app, acme):
    with app.app_context():
        session = get_session()
        fixed = make_line(session, session.get(Company, acme.id), kind="fixed")
        session.commit()
        number = fixed.number
    ana = signed_in_client(app, "ana@acme.es")
    url = f"/empresa/{acme.ref}/pedidos/nuevo/duplicado-sim"
    key = order_form(ana, url)
    page = ana.post(url, data={"line": number, **ADDRESS, "idempotency_key": key, "csrf_token": token(ana)})
    assert page.status_code == 422 and "This line has no SIM card" in text(page)


def test_a_stolen_line_is_suspended_with_its_replacement_sim_in_one_step(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    data = {"line": acme.numbers[1], "action": "suspend", "reason": "stolen", "replacement": "y", **ADDRESS}
    url = f"/empresa/{acme.ref}/pedidos/nuevo/suspension-perdida-robo"
    key = order_form(ana, url)
    fields = {**data, "idempotency_key": key, "csrf_token": token(ana)}
    asked = ana.post(url, data=fields)
    assert "Confirm the order" in text(asked) and "A replacement SIM is sent too" in text(asked)
    made = ana.post(url, data={**fields, "confirmed": "yes"})
    again = ana.post(url, data={**fields, "confirmed": "yes"})  # posted twice: still two orders
    assert made.status_code == again.status_code == 302
    orders = orders_of(app)
    assert [o.kind for o in orders] == ["suspension", "sim_duplicate"]
    suspension, sim = orders
    assert sim.payload["restore"] is True and sim.payload["suspension_order"] == suspension.id
    provision(app, acme.id, suspension.id)
    line = load_line(app, acme.id, acme.lines[1])
    assert line.status == "suspended" and line.suspension_reason == "stolen"
    assert "Suspended (stolen)" in text(ana.get(f"/empresa/{acme.ref}/lineas/{acme.lines[1]}"))
    assert "(stolen)" in text(ana.get(f"/empresa/{acme.ref}/lineas"))
    assert load_order(app, acme.id, suspension.id).state == "completed"

    desk = advisor(app)
    ship_sim(app, desk, sim.id)
    assert staff_post(desk, sim.id, "activate", expected="in_progress", iccid=ICCID).status_code == 302
    line = load_line(app, acme.id, acme.lines[1])
    assert line.status == "active" and line.suspension_reason is None and line.iccid == ICCID


def test_a_lost_line_is_suspended_then_restored(app, acme):
    bob = signed_in_client(app, "bob@acme.es")
    made = place(
        bob,
        acme.ref,
        "suspension-perdida-robo",
        {"line": acme.numbers[2], "action": "suspend", "reason": "lost"},
    )
    provision(app, acme.id, order_id(made))
    assert load_line(app, acme.id, acme.lines[2]).suspension_reason == "lost"
    made = place(bob, acme.ref, "suspension-perdida-robo", {"line": acme.numbers[2], "action": "restore"})
    provision(app, acme.id, order_id(made))
    line = load_line(app, acme.id, acme.lines[2])
    assert line.status == "active" and line.suspension_reason is None
    assert len(orders_of(app)) == 2  # no SIM ordered


def test_suspension_refusals_name_their_field(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    url = f"/empresa/{acme.ref}/pedidos/nuevo/suspension-perdida-robo"
    key = order_form(ana, url)
    base = {"line": acme.numbers[0], "idempotency_key": key, "csrf_token": token(ana)}
    page = ana.post(url, data={**base, "action": "suspend"})
    assert page.status_code == 422 and "Say whether the line was lost or stolen." in text(page)
    page = ana.post(url, data={**base, "action": "suspend", "reason": "lost", "replacement": "y"})
    assert (
        page.status_code == 422
        and "Street and number" in text(page)
        and "This field is required." in text(page)
    )
    page = ana.post(url, data={**base, "action": "restore"})
    assert page.status_code == 422 and "This line is not suspended" in text(page)
    page = ana.post(url, data={**base, "action": "restore", "replacement": "y"})
    assert page.status_code == 422 and "A replacement SIM is ordered with a suspension only." in text(page)
    assert orders_of(app) == []


def _bundles(app, acme) -> tuple[int, int]:
    with app.app_context():
        session = get_session()
        five = Bundle(code="B5", name="Bono 5 GB", data_gb=Decimal("5"), monthly_fee_eur=Decimal("5.00"))
        minutes = Bundle(code="M100", name="Bono 100 min", voice_minutes=100, monthly_fee_eur=Decimal("3.00"))
        session.add_all([five, minutes])
        session.flush()
        set_tenant(session, acme.id)
        session.add(
            LineBundle(
                tenant_id=acme.id,
                line_id=acme.lines[0],
                bundle_id=minutes.id,
                starts_on=today() - timedelta(days=40),
            )
        )
        session.commit()
        return five.id, minutes.id


def _line_bundles(app, acme) -> list[tuple[int, object, object]]:
    with app.app_context():
        session = get_session()
        set_tenant(session, acme.id)
        rows = session.scalars(
            select(LineBundle).where(LineBundle.line_id == acme.lines[0]).order_by(LineBundle.id)
        )
        return [(r.bundle_id, r.starts_on, r.ends_on) for r in rows]


def test_bundles_are_added_and_removed_by_the_job(app, acme):
    five, minutes = _bundles(app, acme)
    ana = signed_in_client(app, "ana@acme.es")
    form = text(ana.get(f"/empresa/{acme.ref}/pedidos/nuevo/bonos", query_string={"linea": acme.numbers[0]}))
    assert "Bono 5 GB" in form and "Bono 100 min" not in form  # it has that one already
    made = place(ana, acme.ref, "bonos", {"line": acme.numbers[0], "action": "add", "bundle": str(five)})
    order = load_order(app, acme.id, order_id(made))
    assert order.payload["bundle_name"] == "Bono 5 GB" and order.payload["monthly_fee"] == "5.00"
    provision(app, acme.id, order.id)
    provision(app, acme.id, order.id)
    assert (five, today(), None) in _line_bundles(app, acme)
    made = place(
        ana, acme.ref, "bonos", {"line": acme.numbers[0], "action": "remove", "bundle": str(minutes)}
    )
    provision(app, acme.id, order_id(made))
    assert (minutes, today() - timedelta(days=40), today() - timedelta(days=1)) in _line_bundles(app, acme)
    made = place(ana, acme.ref, "bonos", {"line": acme.numbers[0], "action": "remove", "bundle": str(five)})
    provision(app, acme.id, order_id(made))
    assert [row[0] for row in _line_bundles(app, acme)] == [minutes]  # started today: gone
    assert load_order(app, acme.id, order_id(made)).state == "completed"


def test_a_bundle_outside_the_list_is_refused_naming_the_field(app, acme):
    five, minutes = _bundles(app, acme)
    ana = signed_in_client(app, "ana@acme.es")
    url = f"/empresa/{acme.ref}/pedidos/nuevo/bonos"
    key = order_form(ana, url)
    base = {"line": acme.numbers[0], "idempotency_key": key, "csrf_token": token(ana)}
    page = ana.post(url, data={**base, "action": "add", "bundle": str(minutes)})
    assert page.status_code == 422 and "one the line does not have" in text(page)
    page = ana.post(url, data={**base, "action": "remove", "bundle": str(five)})
    assert page.status_code == 422 and "one the line has" in text(page)
    assert orders_of(app) == []


def test_the_provisioning_job_refuses_to_suspend_a_cancelled_line(app, acme):
    bob = signed_in_client(app, "bob@acme.es")
    made = place(
        bob,
        acme.ref,
        "suspension-perdida-robo",
        {"line": acme.numbers[0], "action": "suspend", "reason": "lost"},
    )
    with app.app_context():
        session = get_session()
        set_tenant(session, acme.id)
        session.execute(update(Line).where(Line.id == acme.lines[0]).values(status="cancelled"))
        session.commit()
    with pytest.raises(ProvisioningError):
        provision(app, acme.id, order_id(made))
    assert load_order(app, acme.id, order_id(made)).state == "submitted"

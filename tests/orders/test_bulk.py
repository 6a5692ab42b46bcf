"""Orders of several lines: a list typed, pasted, ticked in a search or uploaded (CSV), checked row by row on a
preview before anything is ordered; at most 500 lines; a limited member only for their own lines; completion
changes every line."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from mgd.db import get_session, set_tenant
from mgd.tenants.models import Line, Tariff
from tests.accounts import create_company
from tests.kit import signed_in_client, speak, text, token
from tests.orders.kit import add_tariff, advisor, load_line, load_order, order_id, orders_of, provision
from tests.orders.test_rules import limit_to

BULK = "/empresa/{ref}/pedidos/nuevo/{slug}/varias-lineas"
KEY = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')


def bulk_post(client, url: str, data: dict, **extra):
    page = text(client.get(url))
    key = KEY.search(page).group(1)
    return client.post(url, data={"idempotency_key": key, **data, "csrf_token": token(client)}, **extra)


def confirm(client, url: str, asked) -> object:
    """Post the preview's form back, as its button does."""
    page = text(asked)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    fields["csrf_token"] = token(client)
    return client.post(
        url, data={k: v.replace("&#10;", "\n").replace("&#43;", "+") for k, v in fields.items()}
    )


def test_a_premium_block_of_several_pasted_lines_is_previewed_then_done_on_every_line(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    url = BULK.format(ref=acme.ref, slug="bloqueo-tarificacion")
    pasted = "\n".join(acme.numbers)
    asked = bulk_post(ana, url, {"numbers": pasted, "action": "block", "calls": "y", "sms": "y"})
    page = text(asked)
    assert asked.status_code == 200 and "Confirm the order" in page
    assert "Send the order for 3 lines" in page and orders_of(app) == []
    done = confirm(ana, url, asked)
    assert done.status_code == 302, text(done)
    number = order_id(done)
    order = load_order(app, acme.id, number)
    assert sorted(link.line_id for link in order.lines) == sorted(acme.lines)
    provision(app, acme.id, number)
    assert load_order(app, acme.id, number).state == "completed"
    for line_id in acme.lines:
        line = load_line(app, acme.id, line_id)
        assert line.premium_calls_blocked and line.premium_sms_blocked
    detail = text(ana.get(f"/empresa/{acme.ref}/pedidos/{number}"))
    assert "Lines (3)" in detail


def test_a_tariff_change_from_a_csv_file_is_completed_on_every_line(app, acme):
    tariff = add_tariff(app, fee="25.00", name="Tarifa Plus")
    ana = signed_in_client(app, "ana@acme.es")
    url = BULK.format(ref=acme.ref, slug="cambio-tarifa")
    csv = "numero,alias\n" + "\n".join(f"{n},x" for n in acme.numbers[:2]) + "\n"
    asked = bulk_post(
        ana,
        url,
        {"tariff": str(tariff), "file": (io.BytesIO(csv.encode("cp1252")), "lineas.csv")},
        content_type="multipart/form-data",
    )
    page = text(asked)
    assert asked.status_code == 200 and "Send the order for 2 lines" in page, page
    assert "€50.00" in page  # the monthly cost: two lines at €25.00
    number = order_id(confirm(ana, url, asked))
    order = load_order(app, acme.id, number)
    assert order.monthly_cost_eur == 50 and order.payload["tariff_name"] == "Tarifa Plus"
    desk = advisor(app)
    base = f"/backoffice/pedidos/{number}"
    desk.post(f"{base}/take", data={"take-expected": "submitted", "csrf_token": token(desk)})
    done = desk.post(f"{base}/complete", data={"complete-expected": "in_progress", "csrf_token": token(desk)})
    assert done.status_code == 302
    assert [load_line(app, acme.id, i).tariff_id for i in acme.lines[:2]] == [tariff, tariff]
    assert load_line(app, acme.id, acme.lines[2]).tariff_id != tariff


def test_lines_ticked_in_a_search_are_added_to_the_list(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    url = BULK.format(ref=acme.ref, slug="roaming")
    found = bulk_post(ana, url, {"lq": acme.numbers[1][-9:], "action": "search"})
    assert found.status_code == 200 and 'name="pick"' in text(found)
    asked = bulk_post(ana, url, {"pick": [acme.numbers[1]], "numbers": acme.numbers[0], "action": "off"})
    assert asked.status_code == 200 and "Send the order for 2 lines" in text(asked)
    number = order_id(confirm(ana, url, asked))
    order = load_order(app, acme.id, number)
    assert order.kind == "roaming" and len(order.lines) == 2 and order.payload["action"] == "off"


def test_every_refused_row_is_named_with_its_row_and_nothing_is_ordered(app, acme, beta):
    ana = signed_in_client(app, "ana@acme.es")
    url = BULK.format(ref=acme.ref, slug="bloqueo-tarificacion")
    listed = "\n".join([acme.numbers[0], "12345", beta.numbers[0], acme.numbers[0]])
    refused = bulk_post(ana, url, {"numbers": listed, "action": "block", "calls": "y"})
    page = text(refused)
    assert refused.status_code == 422 and orders_of(app) == []
    assert "3 rows of the list have problems" in page
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>(.*?)</td></tr>", page, re.S)
    problems = {int(row): (number, problem) for row, number, problem in rows}
    assert "not a phone number" in problems[2][1]
    assert problems[3][0] == beta.numbers[0] and "not one of the lines you may order for" in problems[3][1]
    assert "repeated in the list" in problems[4][1]
    assert 1 not in problems


def test_a_tariff_of_another_family_or_the_lines_own_is_refused_per_row(app, acme):
    fixed = add_tariff(app, family="fixed", fee="30.00", name="Fijo Pro")
    ana = signed_in_client(app, "ana@acme.es")
    url = BULK.format(ref=acme.ref, slug="cambio-tarifa")
    refused = bulk_post(ana, url, {"numbers": acme.numbers[0], "tariff": str(fixed)})
    assert refused.status_code == 422 and "not of this line&#39;s family" in text(refused)
    with app.app_context():
        session = get_session()
        set_tenant(session, acme.id)
        own = session.scalar(select(Line.tariff_id).where(Line.id == acme.lines[0]))
    refused = bulk_post(ana, url, {"numbers": acme.numbers[0], "tariff": str(own)})
    assert refused.status_code == 422 and "already has this tariff" in text(refused)
    missing = bulk_post(ana, url, {"numbers": acme.numbers[0]})
    assert missing.status_code == 422 and "This field is required" in text(missing)


def test_more_than_500_lines_are_refused_with_a_clear_message(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    url = BULK.format(ref=acme.ref, slug="bloqueo-tarificacion")
    many = "\n".join(f"+346{n:08d}" for n in range(501))
    refused = bulk_post(ana, url, {"numbers": many, "action": "block", "calls": "y"})
    page = text(refused)
    assert refused.status_code == 422 and orders_of(app) == []
    assert "At most 500 lines in one order: the list has 501" in page
    empty = bulk_post(ana, url, {"numbers": "", "action": "block", "calls": "y"})
    assert empty.status_code == 422 and "The list has no numbers" in text(empty)


def test_500_lines_make_one_order(app, bound):
    company = create_company(app, "Grande S.A.", 500)
    from tests.accounts import add_member  # noqa: PLC0415

    add_member(app, company, "gema@grande.es", "admin")
    gema = signed_in_client(app, "gema@grande.es")
    url = BULK.format(ref=company.ref, slug="buzon-voz")
    asked = bulk_post(gema, url, {"numbers": "\n".join(company.numbers)})
    assert asked.status_code == 200 and "Send the order for 500 lines" in text(asked)
    number = order_id(confirm(gema, url, asked))
    provision(app, company.id, number)
    order = load_order(app, company.id, number)
    assert order.state == "completed" and len(order.lines) == 500
    assert all(load_line(app, company.id, i).voicemail_reset_at for i in company.lines[::97])


def test_a_limited_member_orders_only_for_their_own_lines(app, acme):
    limit_to(app, acme, "bob@acme.es", acme.lines[1])
    bob = signed_in_client(app, "bob@acme.es")
    url = BULK.format(ref=acme.ref, slug="roaming")
    refused = bulk_post(bob, url, {"numbers": f"{acme.numbers[1]}\n{acme.numbers[0]}", "action": "off"})
    page = text(refused)
    assert refused.status_code == 422 and "not one of the lines you may order for" in page
    assert re.search(r"<tr><td>2</td><td>" + re.escape(acme.numbers[0]), page)
    found = bulk_post(bob, url, {"lq": acme.numbers[0][-9:], "action": "search"})
    assert acme.numbers[0] not in text(found).split("Tick the lines")[-1].split("</fieldset>")[0]
    asked = bulk_post(bob, url, {"numbers": acme.numbers[1], "action": "off"})
    assert asked.status_code == 200


def test_billing_and_viewers_cannot_order_several_lines(app, acme):
    carla = signed_in_client(app, "carla@acme.es")
    assert carla.get(BULK.format(ref=acme.ref, slug="roaming")).status_code == 403
    ana = signed_in_client(app, "ana@acme.es")
    assert ana.get(f"/empresa/{acme.ref}/pedidos/nuevo/consulta/varias-lineas").status_code == 404


def test_the_bulk_pages_in_spanish(app, acme):
    ana = speak(signed_in_client(app, "ana@acme.es"), "es")
    url = BULK.format(ref=acme.ref, slug="bloqueo-tarificacion")
    page = text(ana.get(url))
    assert "varias líneas" in page and "Comprobar la lista" in page
    refused = bulk_post(ana, url, {"numbers": "12345", "action": "block", "calls": "y"})
    assert "no es un número de teléfono" in text(refused)
    many = "\n".join(f"+346{n:08d}" for n in range(501))
    refused = bulk_post(ana, url, {"numbers": many, "action": "block", "calls": "y"})
    assert "Como mucho 500 líneas en un pedido" in text(refused)
    asked = bulk_post(ana, url, {"numbers": acme.numbers[0], "action": "block", "sms": "y"})
    assert "Enviar el pedido de 1 línea" in text(asked)
    with app.app_context():
        assert get_session().scalar(select(Tariff.id).limit(1)) is not None

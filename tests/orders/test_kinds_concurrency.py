"""The new kinds' limits under parallel requests on a real server: two advisors shipping one SIM at once
(one step, one event), and uploads racing for an enquiry's last file places (never more than five)."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update

from mgd.db import get_session, set_tenant
from mgd.orders.models import Order, OrderAttachment, OrderEvent
from mgd.orders.services import MAX_ATTACHMENTS
from mgd.tenants.models import Membership
from tests.accounts import add_member, create_company
from tests.factories import PASSWORD
from tests.kit import last_code
from tests.live import Browser, in_parallel
from tests.orders.test_concurrency import advisor_at, in_company

ROUNDS = 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def add_open_order(app, company, kind: str, **values) -> int:
    with app.app_context():
        session = get_session()
        set_tenant(session, company.id)
        member = session.scalar(select(Membership).order_by(Membership.id))
        order = Order(
            tenant_id=company.id,
            kind=kind,
            requester_id=member.user_id,
            payload={
                "recipient": "Ana",
                "address": "Calle 1",
                "postcode": "28013",
                "city": "Madrid",
                "province": "28",
            }
            if kind == "sim_duplicate"
            else {"subject": "Hola", "text": "Hola"},
            idempotency_key=f"live-{kind}",
            **values,
        )
        session.add(order)
        session.commit()
        return order.id


def test_two_advisors_shipping_one_sim_at_once_one_wins(live_app, live_server):
    company = create_company(live_app, "Acme S.L.", 1)
    add_member(live_app, company, "ana@acme.es", "admin")
    number = add_open_order(live_app, company, "sim_duplicate", state="in_progress", sub_state="preparing")
    desks = [advisor_at(live_app, live_server, name) for name in ("uno", "dos")]
    path = f"/backoffice/pedidos/{number}/ship"
    tokens = [desk.token(f"/backoffice/pedidos/{number}") for desk in desks]
    for _ in range(ROUNDS):
        in_company(live_app, company.id, update(Order).values(sub_state="preparing"))
        responses = in_parallel(
            2,
            lambda i: desks[i].post(
                path,
                {"ship-expected": "in_progress", "ship-carrier": "seur", "ship-tracking": f"SE-{i}0000"},
                token=tokens[i],
            ),
        )
        assert sorted(r.status_code for r in responses) == [302, 409]
    shipped = select(func.count()).select_from(OrderEvent).where(OrderEvent.sub_state == "shipped")
    assert in_company(live_app, company.id, shipped) == [(ROUNDS,)]


def test_parallel_uploads_never_pass_the_enquirys_file_limit(live_app, live_server):
    company = create_company(live_app, "Acme S.L.", 1)
    add_member(live_app, company, "ana@acme.es", "admin")
    number = add_open_order(live_app, company, "enquiry")
    ana = Browser(live_server)
    assert ana.post("/login", {"email": "ana@acme.es", "password": PASSWORD}).status_code == 302
    ana.post("/login/channel", {"channel": "email"})
    assert ana.post("/login/code", {"code": last_code(live_app, "ana@acme.es")}).status_code == 302
    page = f"/empresa/{company.ref}/pedidos/{number}"
    token = ana.token(page)
    tabs = [ana.copy() for _ in range(8)]
    for _ in range(3):
        in_company(live_app, company.id, delete(OrderAttachment))
        responses = in_parallel(
            8,
            lambda i: tabs[i].request(
                "POST",
                f"{page}/adjuntos",
                data={"csrf_token": token},
                files={"file": (f"f{i}.png", PNG, "image/png")},
            ),
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [302] * MAX_ATTACHMENTS + [409] * (8 - MAX_ATTACHMENTS), codes
        count = select(func.count()).select_from(OrderAttachment)
        assert in_company(live_app, company.id, count) == [(MAX_ATTACHMENTS,)]

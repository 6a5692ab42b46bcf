"""Two advisors moving the same order at the same moment, against a real server (real commits, one thread per
request): every time, one move wins and the other advisor is told; the timeline has the move once."""

from __future__ import annotations

from sqlalchemy import func, select, update

from mgd.db import get_session, set_tenant
from mgd.orders.models import Order, OrderEvent
from mgd.security.services import create_staff
from tests.accounts import add_member, add_order, create_company
from tests.kit import last_code
from tests.live import Browser, in_parallel

ROUNDS = 10


def advisor_at(app, base_url: str, name: str) -> Browser:
    """An advisor signed in on the live portal (the first sign-in sets a new password)."""
    email = f"{name}@operador.es"
    with app.app_context():
        session = get_session()
        _user, password = create_staff(session, email, name.title(), "advisor")
        session.commit()
    browser = Browser(base_url)
    assert browser.post("/login", {"email": email, "password": password}).status_code == 302
    browser.post("/login/channel", {"channel": "email"})
    assert browser.post("/login/code", {"code": last_code(app, email)}).status_code == 302
    assert (
        browser.post("/password", {"password": "Asesora2026x", "confirm": "Asesora2026x"}).status_code == 302
    )
    return browser


def in_company(app, company_id: int, statement):
    with app.app_context():
        session = get_session()
        set_tenant(session, company_id)
        result = session.execute(statement).all() if statement.is_select else session.execute(statement)
        session.commit()
        return result


def test_two_advisors_taking_one_order_at_once_one_wins(live_app, live_server):
    company = create_company(live_app, "Acme S.L.", 1)
    add_member(live_app, company, "ana@acme.es", "admin")
    number = add_order(live_app, company)
    desks = [advisor_at(live_app, live_server, name) for name in ("uno", "dos")]
    path = f"/backoffice/pedidos/{number}/take"
    tokens = [desk.token(f"/backoffice/pedidos/{number}") for desk in desks]
    for _ in range(ROUNDS):
        in_company(live_app, company.id, update(Order).values(state="submitted", assigned_to_id=None))
        responses = in_parallel(
            2, lambda i: desks[i].post(path, {"take-expected": "submitted"}, token=tokens[i])
        )
        assert sorted(r.status_code for r in responses) == [302, 409]
        assert (
            "Someone else changed this order meanwhile"
            in next(r for r in responses if r.status_code == 409).text
        )
    taken = select(func.count()).select_from(OrderEvent).where(OrderEvent.to_state == "in_progress")
    assert in_company(live_app, company.id, taken) == [(ROUNDS,)]


def test_two_administrators_deciding_one_order_at_once_one_wins(live_app, live_server):
    """Approve and decline posted at the same moment by two administrators other than the requester: one
    decision is made, the other is told (409); the requester's own approval is never the one made."""
    from tests.admin.test_concurrency import signed_in  # noqa: PLC0415

    company = create_company(live_app, "Acme S.L.", 1)
    for email in ("ana@acme.es", "bea@acme.es", "eva@acme.es"):
        add_member(live_app, company, email, "admin")
    number = add_order(live_app, company)  # asked for by Ana (the first member)
    admins = [signed_in(live_app, live_server, email) for email in ("bea@acme.es", "eva@acme.es")]
    requester = signed_in(live_app, live_server, "ana@acme.es")
    base = f"/empresa/{company.ref}/pedidos/{number}"
    tokens = [browser.token(base) for browser in (*admins, requester)]
    for _ in range(ROUNDS):
        in_company(live_app, company.id, update(Order).values(state="awaiting_approval"))
        responses = in_parallel(
            3,
            lambda i: [*admins, requester][i].post(
                f"{base}/aprobar" if i != 1 else f"{base}/declinar",
                {"reason": "No"} if i == 1 else {},
                token=tokens[i],
            ),
        )
        # The requester is refused: 403 while it still awaits approval, 409 once another decided it.
        assert responses[2].status_code in (403, 409)
        assert sorted(r.status_code for r in responses[:2]) == [302, 409]
    decided = select(func.count()).select_from(OrderEvent).where(OrderEvent.from_state == "awaiting_approval")
    assert in_company(live_app, company.id, decided) == [(ROUNDS,)]

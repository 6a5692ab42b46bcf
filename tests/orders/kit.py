"""Orders' test kit: an advisor signed in to the back office, a new order placed through its two pages, and
the rows a test reads back (the order, the line's services)."""

from __future__ import annotations

import re

from sqlalchemy import select

from mgd.db import get_session, operator_scope, set_tenant
from mgd.orders.models import Order
from mgd.security.services import create_staff
from mgd.tenants.models import Line, Tariff
from tests.kit import browser, text, token
from tests.security.test_backoffice import sign_in_staff

KEY = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')


def advisor(app, name: str = "advisor"):
    """A browser where an advisor of the operator has signed in (first sign-in: new password done)."""
    email = f"{name}@operador.es"
    with app.app_context():
        session = get_session()
        _user, password = create_staff(session, email, name.title(), "advisor")
        session.commit()
    client = browser(app)
    sign_in_staff(app, client, password, email=email)
    return client


def order_form(client, url: str) -> str:
    """The idempotency key of a fresh new-order form."""
    page = text(client.get(url))
    found = KEY.search(page) or re.search(r'value="([^"]+)"[^>]*name="idempotency_key"', page)
    assert found, page
    return found.group(1)


def place(client, ref: str, slug: str, data: dict, *, linea: str | None = None):
    """Fill a new-order form, then confirm it on the second page, as a person does; the confirmation's
    answer (a redirect to the order when it was made)."""
    url = f"/empresa/{ref}/pedidos/nuevo/{slug}"
    key = order_form(client, url + (f"?linea={linea}" if linea else ""))
    fields = {"idempotency_key": key, **data, "csrf_token": token(client)}
    asked = client.post(url, data=fields)
    assert asked.status_code == 200 and "Confirm the order" in text(asked), text(asked)
    return client.post(url, data={**fields, "confirmed": "yes"})


def order_id(response) -> int:
    return int(response.headers["Location"].rsplit("/", 1)[1])


def load_order(app, company_id: int, order_id: int) -> Order:
    with app.app_context():
        session = get_session()
        set_tenant(session, company_id)
        order = session.get(Order, order_id)
        _ = order.events, order.lines, order.assigned_to
        return order


def load_line(app, company_id: int, line_id: int) -> Line:
    with app.app_context():
        session = get_session()
        set_tenant(session, company_id)
        return session.get(Line, line_id)


def orders_of(app) -> list[Order]:
    with app.app_context():
        session = get_session()
        with operator_scope(session, "test"):
            return list(session.scalars(select(Order).order_by(Order.id)))


def add_tariff(app, family: str = "mobile", fee: str = "25.00", name: str = "Tarifa Plus") -> int:
    with app.app_context():
        session = get_session()
        tariff = Tariff(code=f"T-{name}-{fee}", name=name, family=family, monthly_fee_eur=fee)
        session.add(tariff)
        session.commit()
        return tariff.id


def provision(app, company_id: int, order_id: int) -> None:
    """Run the provisioning job for one order, as a worker does (its own app context)."""
    from mgd.orders.tasks import provision_order  # noqa: PLC0415

    with app.app_context():
        provision_order(company_id, order_id)

"""The Grandes Clientes access request."""

from sqlalchemy import select

from mgd.db import get_session
from mgd.registration.models import AccessRequest
from tests.kit import audit, outbox, post, text

DETAILS = {
    "fiscal_id": "B87654323",
    "requester_name": "Jorge Navarro",
    "position": "Director de sistemas",
    "email": "Jorge@Navarro.es",
    "phone": "915 55 12 12",
    "users_needed": "25",
    "comments": "Necesitamos acceso ya",
    "confirm": "y",
}


def requests(app):
    with app.app_context():
        return list(get_session().scalars(select(AccessRequest)))


def test_a_request_gets_a_reference_by_page_and_email(app, client, companies):
    response = post(client, "/register/gran-cliente", DETAILS)
    assert response.headers["Location"] == "/register/gran-cliente/enviada"
    [request] = requests(app)
    assert (request.fiscal_id, request.email, request.phone, request.users_needed, request.status) == (
        "B87654323",
        "jorge@navarro.es",
        "+34915551212",
        25,
        "pending",
    )
    assert request.company_id is not None and request.reference.startswith("GC-")
    assert request.reference in text(client.get("/register/gran-cliente/enviada"))
    [mail] = [m for m in outbox(app) if m.recipient == "jorge@navarro.es"]
    assert request.reference in mail.subject and request.reference in mail.body_text
    assert audit(app, "access_request.submitted")[0].detail == {"reference": request.reference}


def test_the_same_fiscal_id_and_email_cannot_have_two_pending_requests(app, client, companies):
    post(client, "/register/gran-cliente", DETAILS)
    reference = requests(app)[0].reference
    response = post(client, "/register/gran-cliente", {**DETAILS, "email": "jorge@navarro.es"})
    assert response.status_code == 422 and f"pending request with reference {reference}" in text(response)
    assert len(requests(app)) == 1
    assert post(client, "/register/gran-cliente", {**DETAILS, "email": "otra@navarro.es"}).status_code == 302


def test_every_field_is_checked_with_its_own_message(app, client, companies):
    bad = {
        **DETAILS,
        "fiscal_id": "B8765432X",
        "phone": "123",
        "users_needed": "0",
        "email": "x@",
        "confirm": "",
    }
    page = text(post(client, "/register/gran-cliente", bad))
    for field in ("fiscal_id", "phone", "users_needed", "email", "confirm"):
        assert f'id="{field}-error"' in page, field
    assert requests(app) == []


def test_the_sent_page_needs_a_request(client, companies):
    assert client.get("/register/gran-cliente/enviada").headers["Location"] == "/register/gran-cliente"

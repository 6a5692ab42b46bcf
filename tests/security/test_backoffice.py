"""Staff accounts and the back office: deciding Grandes Clientes requests, following up registrations."""

from click.testing import CliRunner
from sqlalchemy import select

from mgd.cli import main
from mgd.db import get_session, operator_scope
from mgd.registration.models import AccessRequest
from mgd.security.models import User
from mgd.security.services import create_staff
from mgd.tenants.models import Interlocutor, Membership
from tests.kit import audit, browser, csrf_token, last_code, outbox, post, text
from tests.registration.test_access_request import DETAILS


def staff(app, role="advisor"):
    with app.app_context():
        session = get_session()
        user, password = create_staff(session, f"{role}@operador.es", role.title(), role)
        session.commit()
        return user.id, password


def sign_in_staff(app, client, password, email="advisor@operador.es", new="Asesora2026x"):
    post(client, "/login", {"email": email, "password": password})
    post(client, "/login/channel", {"channel": "email"})
    assert post(client, "/login/code", {"code": last_code(app, email)}).headers["Location"] == "/password"
    assert post(client, "/password", {"password": new, "confirm": new}).headers["Location"] == "/mi-area"


def submit_request(app, companies, **changes):
    requester = browser(app)
    assert post(requester, "/register/gran-cliente", {**DETAILS, **changes}).status_code == 302
    with app.app_context():
        return (
            get_session().scalars(select(AccessRequest).order_by(AccessRequest.id.desc())).first().reference
        )


def test_staff_land_in_the_back_office_and_customers_never_see_it(app, client, companies):
    _, password = staff(app)
    sign_in_staff(app, client, password)
    assert client.get("/mi-area").headers["Location"] == "/backoffice"
    assert client.get("/backoffice").status_code == 200
    anonymous = app.test_client()
    assert anonymous.get("/backoffice").status_code == 404


def test_a_password_alone_never_opens_the_back_office(app, client, companies):
    _, password = staff(app)
    post(client, "/login", {"email": "advisor@operador.es", "password": password})
    assert client.get("/backoffice").status_code == 404
    assert client.get("/backoffice/registrations").status_code == 404


def test_the_queue_shows_pending_first_and_filters(app, client, companies):
    first = submit_request(app, companies)
    second = submit_request(app, companies, email="otra@navarro.es")
    _, password = staff(app)
    sign_in_staff(app, client, password)
    page = text(client.get("/backoffice"))
    assert page.index(first) < page.index(second)
    assert first not in text(client.get("/backoffice?status=approved"))
    assert client.get("/backoffice?status=nonsense").status_code == 404


def test_approving_makes_the_requester_administrator(app, client, companies):
    reference = submit_request(app, companies)
    advisor_id, password = staff(app)
    sign_in_staff(app, client, password)
    url = f"/backoffice/requests/{reference}"
    assert post(client, url, {"action": "approve"}).status_code == 422  # the confirmation is required
    assert post(client, url, {"action": "approve", "approve-confirm": "y"}).headers["Location"] == url
    with app.app_context():
        session = get_session()
        access = session.scalar(select(AccessRequest).where(AccessRequest.reference == reference))
        assert (access.status, access.decided_by_id) == ("approved", advisor_id) and access.decided_at
        user = session.scalar(select(User).where(User.email == "jorge@navarro.es"))
        with operator_scope(session, "test"):
            assert session.scalar(select(Membership.role).where(Membership.user_id == user.id)) == "admin"
            assert session.scalar(select(Interlocutor).where(Interlocutor.email == "jorge@navarro.es"))
    mail = [m for m in outbox(app) if m.recipient == "jorge@navarro.es"][-1]
    assert "temporary password" in mail.body_text
    assert audit(app, "access_request.approved")[0].user_id == advisor_id


def test_rejecting_needs_a_reason_that_is_emailed(app, client, companies):
    reference = submit_request(app, companies)
    _, password = staff(app)
    sign_in_staff(app, client, password)
    url = f"/backoffice/requests/{reference}"
    assert post(client, url, {"action": "reject", "reject-reason": ""}).status_code == 422
    post(client, url, {"action": "reject", "reject-reason": "No consta como interlocutor autorizado"})
    mail = [m for m in outbox(app) if m.recipient == "jorge@navarro.es"][-1]
    assert "No consta como interlocutor autorizado" in mail.body_text
    assert audit(app, "access_request.rejected")


def test_a_decided_request_cannot_be_decided_again(app, client, companies):
    reference = submit_request(app, companies)
    _, password = staff(app)
    sign_in_staff(app, client, password)
    url = f"/backoffice/requests/{reference}"
    token = csrf_token(client, url)
    client.post(url, data={"action": "reject", "reject-reason": "No", "csrf_token": token})
    response = client.post(url, data={"action": "approve", "approve-confirm": "y", "csrf_token": token})
    assert response.status_code == 409 and "already been decided" in text(response)
    with app.app_context():
        assert get_session().scalar(select(User).where(User.email == "jorge@navarro.es")) is None


def test_a_company_unknown_to_the_records_cannot_be_approved(app, client, companies):
    reference = submit_request(app, companies, fiscal_id="A58818501")
    _, password = staff(app)
    sign_in_staff(app, client, password)
    response = post(
        client, f"/backoffice/requests/{reference}", {"action": "approve", "approve-confirm": "y"}
    )
    assert response.status_code == 409 and "no company with this fiscal ID" in text(response)


def test_registrations_to_follow_up(app, client, companies):
    visitor = app.test_client()
    post(visitor, "/register", {"fiscal_id": "B12345674", "email": "stranger@example.es"})
    _, password = staff(app)
    sign_in_staff(app, client, password)
    page = text(client.get("/backoffice/registrations"))
    assert "stranger@example.es" in page and "not a contact of the company" in page


def test_create_staff_prints_the_password_once(app, tmp_path, monkeypatch):
    monkeypatch.setenv("MGD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("MGD_DATABASE_URL", f"sqlite:///{tmp_path / 'staff.sqlite3'}")
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["users", "create-staff", "Ana@Operador.es", "--role", "advisor"])
    assert result.exit_code == 0 and "Temporary password" in result.output
    again = runner.invoke(main, ["users", "create-staff", "ana@operador.es", "--role", "supervisor"])
    assert again.exit_code == 1 and "already belongs to a user" in again.output
    bad = runner.invoke(main, ["users", "create-staff", "ana@", "--role", "advisor"])
    assert bad.exit_code == 1 and "EMAIL:" in bad.output

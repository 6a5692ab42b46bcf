"""The users of a Grandes Clientes request: the request lists them, the advisor's approval prepares their
invitations as drafts (nothing is sent), and the new administrator corrects and then sends them."""

from __future__ import annotations

from sqlalchemy import select

from mgd.admin.invitations import prepare_drafts
from mgd.admin.models import Invitation
from mgd.db import get_session, operator_scope, set_tenant
from mgd.registration.models import AccessRequest
from mgd.security.models import User
from mgd.tenants.models import Company
from tests.kit import browser, outbox, post, signed_in_client, speak, text, token
from tests.registration.test_access_request import DETAILS
from tests.security.test_backoffice import sign_in_staff, staff, submit_request

LISTED = (
    "Eva Gómez, eva@navarro.es, Manager\nLuis Pardo, luis@navarro.es\nJorge Navarro, jorge@navarro.es, admin"
)


def invitations_of(app) -> list[Invitation]:
    with app.app_context():
        session = get_session()
        with operator_scope(session, "test"):
            return list(session.scalars(select(Invitation).order_by(Invitation.id)))


def test_approving_a_request_prepares_its_users_invitations_without_sending_them(app, client, companies):
    reference = submit_request(app, companies, users_list=LISTED)
    with app.app_context():
        access = get_session().scalar(select(AccessRequest).where(AccessRequest.reference == reference))
        assert [u["role"] for u in access.users] == ["manager", "viewer", "admin"]
    _, password = staff(app)
    sign_in_staff(app, client, password)
    url = f"/backoffice/requests/{reference}"
    page = text(client.get(url))
    assert "eva@navarro.es" in page and "Al aprobar la solicitud se preparan sus invitaciones" in page
    assert post(client, url, {"action": "approve", "approve-confirm": "y"}).headers["Location"] == url
    drafts = invitations_of(app)
    # The administrator himself is not invited again.
    assert [(i.email, i.role, i.status, i.sent_count) for i in drafts] == [
        ("eva@navarro.es", "manager", "draft", 0),
        ("luis@navarro.es", "viewer", "draft", 0),
    ]
    assert not any(m.recipient in ("eva@navarro.es", "luis@navarro.es") for m in outbox(app))
    welcome = next(
        m for m in outbox(app) if m.recipient == "jorge@navarro.es" and "ready" in m.subject.lower()
    )
    assert "2 users" in welcome.body_text or "2 usuarios" in welcome.body_text


def test_a_list_that_cannot_be_read_is_refused_naming_its_line(app, companies):
    visitor = browser(app)
    for listed, message in (
        ("Eva, not-an-email", "Line 1: the email is not valid."),
        ("Eva, eva@navarro.es\nEva, eva@navarro.es", "Line 2: this email is already in the list."),
        ("Eva, eva@navarro.es, Jefa", "Line 1: the role must be one of"),
        (", eva@navarro.es", "Line 1: give a name"),
    ):
        answer = post(visitor, "/register/gran-cliente", {**DETAILS, "users_list": listed})
        assert answer.status_code == 422 and message in text(answer), listed
    speak(visitor, "es")
    answer = post(visitor, "/register/gran-cliente", {**DETAILS, "users_list": "Eva, x"})
    assert "Línea 1: el email no es válido." in text(answer)


def drafts_for(app, company, admin_email: str, users: list[dict]) -> None:
    with app.app_context():
        session = get_session()
        admin = session.scalar(select(User).where(User.email == admin_email))
        set_tenant(session, company.id)
        prepare_drafts(session, session.get(Company, company.id), users, admin=admin)
        session.commit()


def test_the_administrator_corrects_then_sends_the_prepared_invitations(app, acme):
    drafts_for(
        app,
        acme,
        "ana@acme.es",
        [
            {"name": "Eva", "email": "eva@acme.es", "role": "manager"},
            {"name": "Bob again", "email": "bob@acme.es", "role": "viewer"},  # a member already: skipped
            {"name": "Luis", "email": "luis@acme.es", "role": "viewer"},
        ],
    )
    ana = signed_in_client(app, "ana@acme.es")
    users_page = text(ana.get(f"/empresa/{acme.ref}/usuarios"))
    assert (
        "Invitations prepared from your access request" in users_page
        and "Send the 2 invitations" in users_page
    )
    eva = invitations_of(app)[0]
    url = f"/empresa/{acme.ref}/usuarios/invitaciones/{eva.id}/corregir"
    assert "eva@acme.es" in text(ana.get(url))
    refused = ana.post(
        url, data={"email": "bob@acme.es", "name": "Eva", "role": "manager", "csrf_token": token(ana)}
    )
    assert refused.status_code == 422 and "already belongs to the company" in text(refused)
    fixed = ana.post(
        url,
        data={"email": "eva.gomez@acme.es", "name": "Eva Gómez", "role": "billing", "csrf_token": token(ana)},
    )
    assert fixed.status_code == 302
    asked = ana.post(
        f"/empresa/{acme.ref}/usuarios/invitaciones/enviar-preparadas", data={"csrf_token": token(ana)}
    )
    assert asked.status_code == 200 and "Send the invitations?" in text(asked)
    assert invitations_of(app)[0].status == "draft"
    sent = ana.post(
        f"/empresa/{acme.ref}/usuarios/invitaciones/enviar-preparadas",
        data={"csrf_token": token(ana), "confirmed": "yes"},
    )
    assert sent.status_code == 302
    done = invitations_of(app)
    assert [(i.email, i.role, i.status, i.sent_count) for i in done] == [
        ("eva.gomez@acme.es", "billing", "pending", 1),
        ("luis@acme.es", "viewer", "pending", 1),
    ]
    assert {m.recipient for m in outbox(app) if "/invitacion/" in (m.body_text or "")} == {
        "eva.gomez@acme.es",
        "luis@acme.es",
    }
    # Sent: no longer a draft to correct.
    assert ana.get(url).status_code == 404


def test_drafts_are_the_companys_own_and_only_administrators_see_them(app, acme, beta):
    drafts_for(app, beta, "dora@beta.es", [{"name": "Eva", "email": "eva@beta.es", "role": "viewer"}])
    theirs = invitations_of(app)[0]
    ana = signed_in_client(app, "ana@acme.es")
    assert ana.get(f"/empresa/{acme.ref}/usuarios/invitaciones/{theirs.id}/corregir").status_code == 404
    ana.post(
        f"/empresa/{acme.ref}/usuarios/invitaciones/enviar-preparadas",
        data={"csrf_token": token(ana), "confirmed": "yes"},
    )
    assert invitations_of(app)[0].status == "draft"
    bob = signed_in_client(app, "bob@acme.es")
    assert bob.get(f"/empresa/{acme.ref}/usuarios/invitaciones/{theirs.id}/corregir").status_code == 403

"""CSV uploads read their columns by the header's names (either language, any order), keep what a header
leaves out, and accept the role names the pages show, in both languages."""

from __future__ import annotations

from sqlalchemy import select

from mgd.admin.models import Invitation
from mgd.db import get_session, set_tenant
from mgd.tenants.models import Line
from tests.admin.test_invitations import csv_upload
from tests.admin.test_lines import assign_upload, label
from tests.kit import signed_in_client, text, token


def line_values(app, company, line_id):
    with app.app_context():
        session = get_session()
        set_tenant(session, company.id)
        line = session.scalar(select(Line).where(Line.id == line_id))
        return line.alias, line.cost_centre, line.user_id


def apply(client, company, content):
    return client.post(
        f"/empresa/{company.ref}/lineas/asignar",
        data={"content": content, "apply": "yes", "csrf_token": token(client)},
    )


def test_a_number_and_email_header_assigns_the_user_and_keeps_the_alias(app, acme):
    label(app, acme, acme.lines[0], alias="Reception", cost_centre="MAD-01")
    bob = signed_in_client(app, "bob@acme.es")
    content = f"number,email\n{acme.numbers[0]},carla@acme.es\n"
    preview = text(assign_upload(bob, acme, content))
    assert "Every row is correct" in preview and "carla@acme.es" in preview
    assert apply(bob, acme, content).status_code == 302
    alias, cost_centre, user_id = line_values(app, acme, acme.lines[0])
    assert (alias, cost_centre) == ("Reception", "MAD-01") and user_id is not None


def test_a_spanish_header_in_another_order_is_read_by_its_names(app, acme):
    bob = signed_in_client(app, "bob@acme.es")
    content = f"Centro de coste,Número,Alias\nBCN-02,{acme.numbers[1]},Almacén\n"
    assert "Every row is correct" in text(assign_upload(bob, acme, content))
    assert apply(bob, acme, content).status_code == 302
    alias, cost_centre, _user = line_values(app, acme, acme.lines[1])
    assert (alias, cost_centre) == ("Almacén", "BCN-02")


def test_a_header_with_an_unknown_column_is_refused_by_name(app, acme):
    bob = signed_in_client(app, "bob@acme.es")
    response = assign_upload(bob, acme, f"number,nickname\n{acme.numbers[0]},x\n")
    assert response.status_code == 422 and "“nickname” is not a column we read" in text(response)


def test_a_file_without_header_is_read_in_the_documented_order(app, acme):
    bob = signed_in_client(app, "bob@acme.es")
    content = f"{acme.numbers[2]},Store,,\n"
    assert "Every row is correct" in text(assign_upload(bob, acme, content))


def test_invitations_accept_the_role_names_shown_in_both_languages(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    content = (
        "Nombre,Rol,Correo\nEva,Gestor,eva@acme.es\nFran,Viewer,fran@acme.es\nGil,administrador,gil@acme.es\n"
    )
    preview = csv_upload(ana, acme, content)
    assert preview.status_code == 200 and "Every row is correct" in text(preview)
    response = ana.post(
        f"/empresa/{acme.ref}/usuarios/invitar/csv",
        data={"content": content, "send": "yes", "csrf_token": token(ana)},
    )
    assert response.status_code == 302
    with app.app_context():
        session = get_session()
        set_tenant(session, acme.id)
        roles = dict(session.execute(select(Invitation.email, Invitation.role)).all())
    assert roles == {"eva@acme.es": "manager", "fran@acme.es": "viewer", "gil@acme.es": "admin"}


def test_an_unknown_role_names_the_roles_as_the_pages_do(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    page = text(csv_upload(ana, acme, "email,name,role\neva@acme.es,Eva,owner\n"))
    assert "The role must be one of: Administrator, Manager, Billing, Viewer." in page

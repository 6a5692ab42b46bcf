"""One person in several companies: the choice after sign-in, remembered, a switch, the company on every page;
and the company's activity log for its admins (staff see every company's)."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from mgd.db import get_session
from mgd.security.models import User
from mgd.security.services import create_staff
from tests.accounts import add_member
from tests.kit import post, signed_in_client, text


def chooser_order(page: str) -> list[str]:
    return re.findall(r'<li><a href="/empresa/[^"]+" lang="es">([^<]+)</a>', page)


def test_a_person_in_two_companies_chooses_after_every_sign_in_the_last_used_first(app, acme, beta):
    add_member(app, beta, "bob@acme.es", "viewer")
    bob = signed_in_client(app, "bob@acme.es")
    chooser = text(bob.get("/mi-area"))
    assert "Choose the company" in chooser and chooser_order(chooser) == ["Acme S.L.", "Beta S.A."]
    page = text(bob.get(f"/empresa/{beta.ref}"))
    assert "You are working in" in page and "Beta S.A." in page and "Change company" in page
    bob = signed_in_client(app, "bob@acme.es")
    chooser = text(bob.get("/mi-area"))
    assert chooser_order(chooser) == ["Beta S.A.", "Acme S.L."] and "last used" in chooser
    # The role is per company: a manager in Acme, a viewer in Beta.
    assert "Assign from a CSV file" in text(bob.get(f"/empresa/{acme.ref}/lineas"))
    assert "Assign from a CSV file" not in text(bob.get(f"/empresa/{beta.ref}/lineas"))


def test_the_choice_is_remembered_even_when_the_page_is_refused(app, acme, beta):
    add_member(app, beta, "carla@acme.es", "viewer")
    carla = signed_in_client(app, "carla@acme.es")  # a viewer in both: the users pages are not hers
    assert carla.get(f"/empresa/{beta.ref}/usuarios").status_code == 403
    assert chooser_order(text(carla.get("/mi-area"))) == ["Beta S.A.", "Acme S.L."]


def test_a_single_company_opens_directly_without_a_switch(app, acme):
    carla = signed_in_client(app, "carla@acme.es")
    assert carla.get("/mi-area").headers["Location"] == f"/empresa/{acme.ref}"
    assert "Change company" not in text(carla.get(f"/empresa/{acme.ref}"))


def test_admins_see_their_companys_activity_only(app, acme, beta):
    signed_in_client(app, "dora@beta.es")
    ana = signed_in_client(app, "ana@acme.es")
    post(
        ana,
        f"/empresa/{acme.ref}/usuarios/invitar",
        {"email": "eva@acme.es", "name": "Eva", "role": "viewer"},
    )
    page = text(ana.get(f"/empresa/{acme.ref}/actividad"))
    assert "Invited eva@acme.es" in page
    assert "Signed in (by email)" in page  # its members' sign-ins are part of the company's log
    assert "dora@beta.es" not in page
    only = text(ana.get(f"/empresa/{acme.ref}/actividad", query_string={"action": "invitation."}))
    assert "Invited eva@acme.es" in only and "Signed in" not in only
    assert '<option value="invitation." selected>Invitations</option>' in only
    nobody = text(ana.get(f"/empresa/{acme.ref}/actividad", query_string={"since": "2099-01-01"}))
    assert "No event matches" in nobody
    export = ana.get(f"/empresa/{acme.ref}/actividad/exportar.csv", query_string={"person": "ana@"})
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["When (Madrid time)", "Event", "Person"] and rows[0][-1] == "What happened"
    assert {row[2] for row in rows[1:]} == {"ana@acme.es"}
    assert "invitation.sent" in {row[1] for row in rows[1:]}
    assert signed_in_client(app, "bob@acme.es").get(f"/empresa/{acme.ref}/actividad").status_code == 403


def test_staff_see_every_companys_activity(app, acme, beta):
    signed_in_client(app, "dora@beta.es")
    signed_in_client(app, "ana@acme.es")
    with app.app_context():
        session = get_session()
        _staff, password = create_staff(session, "advisor@operator.es", "Advisor", "advisor")
        session.commit()
    advisor = signed_in_client(app, "advisor@operator.es", password)
    with app.app_context():
        assert get_session().scalar(select(User.staff_role).where(User.email == "advisor@operator.es"))
    page = text(advisor.get("/backoffice/activity", follow_redirects=True))
    if "New password" in page:  # the temporary password comes first
        post(advisor, "/password", {"password": "Asesor2026x", "confirm": "Asesor2026x"})
        page = text(advisor.get("/backoffice/activity"))
    assert "dora@beta.es" in page and "ana@acme.es" in page
    export = advisor.get("/backoffice/activity/export.csv", query_string={"person": "dora"})
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))[1:]
    assert rows and {row[2] for row in rows} == {"dora@beta.es"}
    assert advisor.get(f"/empresa/{acme.ref}").status_code == 404

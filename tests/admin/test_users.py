"""The users page: list and filters, roles, disabling, resets, removal, and the company's last admin."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from mgd.db import get_session, operator_scope
from mgd.security.models import AuditEvent, User, UserSession
from mgd.tenants.models import Membership
from tests.accounts import add_member
from tests.factories import PASSWORD
from tests.kit import audit, browser, confirm, outbox, post, signed_in_client, stored_text, text, token


def member(app, membership_id) -> Membership | None:
    with app.app_context():
        session = get_session()
        with operator_scope(session, "test"):
            return session.scalar(select(Membership).where(Membership.id == membership_id))


def test_admin_lists_members_with_role_status_and_last_sign_in(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    page = text(ana.get(f"/empresa/{acme.ref}/usuarios"))
    for name in ("Ana Pérez", "Bob Pérez", "Carla Pérez"):
        assert name in page
    assert "Manager" in page and "Viewer" in page
    assert "Never" in page  # Bob and Carla have not signed in; Ana has
    assert "only one active administrator" in page


def test_search_and_filters_narrow_the_list(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    url = f"/empresa/{acme.ref}/usuarios"
    assert "Carla" not in text(ana.get(url, query_string={"q": "bob"}))
    assert "Bob" in text(ana.get(url, query_string={"q": "BOB@"}))
    by_role = text(ana.get(url, query_string={"role": "viewer"}))
    assert "Carla" in by_role and "Bob Pérez" not in by_role
    assert "No user matches" in text(ana.get(url, query_string={"status": "disabled"}))


def test_long_lists_are_paginated(app, acme):
    for n in range(30):
        add_member(app, acme, f"person{n:02d}@acme.es", "viewer")
    ana = signed_in_client(app, "ana@acme.es")
    first = text(ana.get(f"/empresa/{acme.ref}/usuarios", query_string={"role": "viewer"}))
    assert 'rel="prev"' not in first
    following = re.search(r'<a href="([^"]+)" rel="next">', first).group(1).replace("&amp;", "&")
    assert "role=viewer" in following  # the filters stay
    second = text(ana.get(following))
    assert "Person29" in second and "Person29" not in first and "Person00" in first
    assert 'rel="next"' not in second
    back = re.search(r'<a href="([^"]+)" rel="prev">', second).group(1).replace("&amp;", "&")
    names = re.compile(r'/usuarios/\d+">([^<]+)</a>')
    assert names.findall(text(ana.get(back))) == names.findall(first)
    assert len(names.findall(first)) == 25


def test_only_admins_reach_the_users_pages(app, acme):
    bob = signed_in_client(app, "bob@acme.es")
    assert bob.get(f"/empresa/{acme.ref}/usuarios").status_code == 403
    bob_id = acme.members["bob@acme.es"]
    response = bob.post(
        f"/empresa/{acme.ref}/usuarios/{bob_id}/role",
        data={"role": "admin", "confirmed": "yes", "csrf_token": token(bob)},
    )
    assert response.status_code == 403
    assert member(app, bob_id).role == "manager"


def test_a_change_waits_for_the_confirmation(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    bob_id = acme.members["bob@acme.es"]
    url = f"/empresa/{acme.ref}/usuarios/{bob_id}/role"
    asked = ana.post(url, data={"role": "billing", "csrf_token": token(ana)})
    assert "Change the role of Bob Pérez" in text(asked)
    assert member(app, bob_id).role == "manager"
    confirm(ana, url, {"role": "billing"})
    assert member(app, bob_id).role == "billing"
    [event] = audit(app, "member.role_changed")
    assert event.detail == {"member": "bob@acme.es", "previous": "manager", "role": "billing"}
    assert event.tenant_id == acme.id


def test_the_last_admin_cannot_be_demoted_disabled_or_removed(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    ana_id = acme.members["ana@acme.es"]
    base = f"/empresa/{acme.ref}/usuarios/{ana_id}"
    for action, data in (("role", {"role": "viewer"}), ("disable", {}), ("remove", {})):
        response = confirm(ana, f"{base}/{action}", data)
        assert response.status_code == 302
        assert "at least one active administrator" in text(ana.get(base))
    kept = member(app, ana_id)
    assert kept.role == "admin" and kept.is_active
    # With a second admin, the first one may step down.
    confirm(ana, f"/empresa/{acme.ref}/usuarios/{acme.members['bob@acme.es']}/role", {"role": "admin"})
    confirm(ana, f"{base}/role", {"role": "viewer"})
    assert member(app, ana_id).role == "viewer"


def test_disabling_ends_the_persons_sessions_at_once(app, acme):
    bob = signed_in_client(app, "bob@acme.es")
    assert bob.get(f"/empresa/{acme.ref}/lineas").status_code == 200
    ana = signed_in_client(app, "ana@acme.es")
    bob_id = acme.members["bob@acme.es"]
    confirm(ana, f"/empresa/{acme.ref}/usuarios/{bob_id}/disable")
    assert bob.get(f"/empresa/{acme.ref}/lineas").status_code == 401
    # Signing in again does not bring the company back while the membership is disabled.
    again = signed_in_client(app, "bob@acme.es")
    assert again.get(f"/empresa/{acme.ref}/lineas").status_code == 404
    confirm(ana, f"/empresa/{acme.ref}/usuarios/{bob_id}/enable")
    assert again.get(f"/empresa/{acme.ref}/lineas").status_code == 200
    assert [e.detail["member"] for e in audit(app, "member.disabled")] == ["bob@acme.es"]


def test_reset_password_emails_a_temporary_one_and_signs_the_person_out(app, acme):
    carla = signed_in_client(app, "carla@acme.es")
    ana = signed_in_client(app, "ana@acme.es")
    confirm(ana, f"/empresa/{acme.ref}/usuarios/{acme.members['carla@acme.es']}/password")
    mail = [m for m in outbox(app) if m.recipient == "carla@acme.es"][-1]
    assert "new temporary password" in mail.body_text
    password = re.search(r"temporary password: (\S+)", mail.body_text).group(1)
    assert password not in stored_text(app, "outbox_messages", mail.id)  # encrypted at rest
    assert carla.get(f"/empresa/{acme.ref}").status_code == 401
    with app.app_context():
        user = get_session().scalar(select(User).where(User.email == "carla@acme.es"))
        assert user.password_is_temporary


def test_reset_second_factor_removes_the_authenticator_app(app, acme):
    with app.app_context():
        session = get_session()
        user = session.scalar(select(User).where(User.email == "bob@acme.es"))
        user.totp_secret = "JBSWY3DPEHPK3PXP"
        session.commit()
    ana = signed_in_client(app, "ana@acme.es")
    bob_id = acme.members["bob@acme.es"]
    assert "Remove the authenticator app" in text(ana.get(f"/empresa/{acme.ref}/usuarios/{bob_id}"))
    confirm(ana, f"/empresa/{acme.ref}/usuarios/{bob_id}/second-factor")
    with app.app_context():
        assert get_session().scalar(select(User.totp_secret).where(User.email == "bob@acme.es")) is None
    assert (
        "removed the authenticator app"
        in [m for m in outbox(app) if m.recipient == "bob@acme.es"][-1].body_text
    )


def test_removing_a_member_unassigns_their_lines(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    bob_id = acme.members["bob@acme.es"]
    with app.app_context():
        bob = get_session().scalar(select(User.id).where(User.email == "bob@acme.es"))
    line_url = f"/empresa/{acme.ref}/lineas/{acme.lines[0]}"
    page = text(ana.get(line_url))
    assert "Bob Pérez" in page
    ana.post(
        line_url, data={"alias": "Bob's", "cost_centre": "", "user_id": str(bob), "csrf_token": token(ana)}
    )
    confirm(ana, f"/empresa/{acme.ref}/usuarios/{bob_id}/remove")
    assert member(app, bob_id) is None
    assert "Bob Pérez" not in text(ana.get(f"/empresa/{acme.ref}/lineas"))


def test_staff_and_strangers_never_reach_a_company(app, acme):
    assert browser(app).get(f"/empresa/{acme.ref}/usuarios").status_code == 401
    add_member(app, acme, "zoe@acme.es", "viewer")
    zoe = signed_in_client(app, "zoe@acme.es")
    assert zoe.get("/empresa/not-a-company/usuarios").status_code == 404


# A person in several companies: each company acts on its own membership only.


def stale(app, email: str) -> None:
    """The person's sessions signed in (or confirmed their password) eleven minutes ago."""
    with app.app_context():
        session = get_session()
        user_id = session.scalar(select(User.id).where(User.email == email))
        for row in session.scalars(select(UserSession).where(UserSession.user_id == user_id)):
            row.reauthenticated_at -= timedelta(minutes=11)
        session.commit()


@pytest.mark.parametrize(
    ("action", "data"), [("role", {"role": "viewer"}), ("password", {}), ("second-factor", {})]
)
def test_an_admins_sensitive_change_needs_a_recent_password(app, acme, action, data):
    ana = signed_in_client(app, "ana@acme.es")
    stale(app, "ana@acme.es")
    bob_id = acme.members["bob@acme.es"]
    url = f"/empresa/{acme.ref}/usuarios/{bob_id}/{action}"
    response = ana.post(url, data={**data, "csrf_token": token(ana), "confirmed": "yes"})
    back = f"/empresa/{acme.ref}/usuarios/{bob_id}"
    assert response.headers["Location"] == f"/reautenticar?next={back}"
    assert member(app, bob_id).role == "manager" and not audit(app, "member.")
    assert not [m for m in outbox(app) if m.recipient == "bob@acme.es"]
    confirmed = post(ana, response.headers["Location"], {"password": PASSWORD})
    assert confirmed.headers["Location"] == back
    assert confirm(ana, url, data).headers["Location"] == back


def test_other_changes_do_not_ask_for_the_password_again(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    stale(app, "ana@acme.es")
    bob_id = acme.members["bob@acme.es"]
    confirm(ana, f"/empresa/{acme.ref}/usuarios/{bob_id}/disable")
    assert not member(app, bob_id).is_active


def test_an_admin_cannot_reset_what_a_person_uses_for_other_companies(app, acme, beta):
    in_beta = add_member(app, beta, "bob@acme.es", "viewer")
    with app.app_context():
        session = get_session()
        bob = session.scalar(select(User).where(User.email == "bob@acme.es"))
        bob.totp_secret = "JBSWY3DPEHPK3PXP"
        hash_before = bob.password_hash
        session.commit()
    bob_browser = signed_in_client(app, "bob@acme.es")
    dora = signed_in_client(app, "dora@beta.es")
    sent = len(outbox(app))
    for action in ("second-factor", "password"):
        response = confirm(dora, f"/empresa/{beta.ref}/usuarios/{in_beta}/{action}")
        assert response.headers["Location"] == f"/empresa/{beta.ref}/usuarios/{in_beta}"
        assert "also uses MGD for other companies" in text(dora.get(response.headers["Location"]))
    with app.app_context():
        bob = get_session().scalar(select(User).where(User.email == "bob@acme.es"))
        assert bob.totp_secret == "JBSWY3DPEHPK3PXP" and bob.password_hash == hash_before
    assert not audit(app, "member.second_factor_reset") and not audit(app, "member.password_reset")
    assert len(outbox(app)) == sent
    # Disabling Bob in Beta closes Beta to him, not his sessions for Acme.
    confirm(dora, f"/empresa/{beta.ref}/usuarios/{in_beta}/disable")
    assert bob_browser.get(f"/empresa/{beta.ref}").status_code == 404
    assert bob_browser.get(f"/empresa/{acme.ref}/lineas").status_code == 200
    confirm(dora, f"/empresa/{beta.ref}/usuarios/{in_beta}/remove")
    assert bob_browser.get(f"/empresa/{acme.ref}/lineas").status_code == 200


def test_a_company_sees_a_members_events_only_since_they_joined(app, acme, beta):
    in_beta = add_member(app, beta, "bob@acme.es", "viewer")
    with app.app_context():
        session = get_session()
        bob_id = session.scalar(select(User.id).where(User.email == "bob@acme.es"))
        joined = member(app, in_beta).created_at
        with operator_scope(session, "test: Bob joined Acme long ago"):
            in_acme = session.get(Membership, acme.members["bob@acme.es"])
            in_acme.created_at = joined - timedelta(days=30)
        for ip, when in (
            ("10.0.0.1", joined - timedelta(days=1)),
            ("10.0.0.2", joined + timedelta(minutes=1)),
        ):
            session.add(
                AuditEvent(action="login.succeeded", user_id=bob_id, ip=ip, occurred_at=when, detail={})
            )
        session.commit()
    dora = signed_in_client(app, "dora@beta.es")
    export = text(dora.get(f"/empresa/{beta.ref}/actividad/exportar.csv", query_string={"person": "bob@"}))
    assert "10.0.0.2" in export and "10.0.0.1" not in export
    ana = signed_in_client(app, "ana@acme.es")
    export = text(ana.get(f"/empresa/{acme.ref}/actividad/exportar.csv", query_string={"person": "bob@"}))
    assert "10.0.0.1" in export and "10.0.0.2" in export  # Bob was in Acme all along

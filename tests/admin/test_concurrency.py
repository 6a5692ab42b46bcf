"""A company's guards under parallel requests against a real server: two admins demoting each other keep one
admin, invitation resends stop at the limit, and the same invitation sent or accepted many times at once gives
one invitation and one membership."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, update

from mgd.admin.invitations import MAX_SENDS
from mgd.admin.models import Invitation
from mgd.db import get_session, set_tenant
from mgd.security.models import User
from mgd.tenants.models import Membership
from tests.accounts import add_member, create_company
from tests.factories import PASSWORD
from tests.kit import audit, last_code, outbox
from tests.live import Browser, in_parallel, posted_in_parallel

PARALLEL = 40
EVA = "eva@acme.es"


@pytest.fixture
def acme(live_app, live_server):
    """Acme in the live portal, with two admins: Ana and Bea."""
    company = create_company(live_app, "Acme S.L.")
    add_member(live_app, company, "ana@acme.es", "admin")
    add_member(live_app, company, "bea@acme.es", "admin")
    return company


def signed_in(app, base_url: str, email: str) -> Browser:
    browser = Browser(base_url)
    assert browser.post("/login", {"email": email, "password": PASSWORD}).status_code == 302
    browser.post("/login/channel", {"channel": "email"})
    assert browser.post("/login/code", {"code": last_code(app, email)}).status_code == 302
    return browser


def in_company(app, company, statement):
    with app.app_context():
        session = get_session()
        set_tenant(session, company.id)
        result = session.execute(statement)
        session.commit()
        return result


def active_admins(app, company) -> int:
    query = (
        select(func.count()).select_from(Membership).where(Membership.role == "admin", Membership.is_active)
    )
    return in_company(app, company, query).scalar_one()


def test_two_admins_demoting_each_other_at_once_leave_one_admin(live_app, live_server, acme):
    ana, bea = (signed_in(live_app, live_server, email) for email in ("ana@acme.es", "bea@acme.es"))
    tokens = [browser.token("/condiciones-de-uso") for browser in (ana, bea)]
    demote = [  # each demotes the other
        (ana, f"/empresa/{acme.ref}/usuarios/{acme.members['bea@acme.es']}/role", tokens[0]),
        (bea, f"/empresa/{acme.ref}/usuarios/{acme.members['ana@acme.es']}/role", tokens[1]),
    ]
    for _ in range(10):
        in_company(live_app, acme, update(Membership).values(role="admin"))
        responses = in_parallel(
            2,
            lambda i: demote[i][0].post(demote[i][1], {"role": "viewer", "confirmed": "yes"}, demote[i][2]),
        )
        assert [r.status_code for r in responses if r.status_code >= 500] == []
        assert active_admins(live_app, acme) == 1


def invite_eva(browser: Browser, company) -> object:
    return browser.post(
        f"/empresa/{company.ref}/usuarios/invitar", {"email": EVA, "name": "Eva Martín", "role": "viewer"}
    )


def mails_to_eva(app) -> list:
    return [m for m in outbox(app) if m.recipient == EVA]


def test_the_same_invitation_posted_40_times_invites_once(live_app, live_server, acme):
    ana = signed_in(live_app, live_server, "ana@acme.es")
    form = {"email": EVA, "name": "Eva Martín", "role": "viewer"}
    responses = posted_in_parallel(ana, f"/empresa/{acme.ref}/usuarios/invitar", [form] * PARALLEL)
    assert [r.status_code for r in responses if r.status_code >= 500] == []
    assert in_company(live_app, acme, select(func.count()).select_from(Invitation)).scalar_one() == 1
    assert len(audit(live_app, "invitation.sent")) == len(mails_to_eva(live_app)) == 1


def test_parallel_resends_stop_at_the_limit(live_app, live_server, acme):
    ana = signed_in(live_app, live_server, "ana@acme.es")
    assert invite_eva(ana, acme).status_code == 302
    invitation_id = in_company(live_app, acme, select(Invitation.id)).scalar_one()
    url = f"/empresa/{acme.ref}/usuarios/invitaciones/{invitation_id}/resend"
    responses = posted_in_parallel(ana, url, [{"confirmed": "yes"}] * PARALLEL)
    assert [r.status_code for r in responses if r.status_code >= 500] == []
    assert in_company(live_app, acme, select(Invitation.sent_count)).scalar_one() == MAX_SENDS
    assert len(audit(live_app, "invitation.resent")) == MAX_SENDS - 1
    assert len(mails_to_eva(live_app)) == MAX_SENDS


def test_an_invitation_accepted_40_times_at_once_makes_one_membership(live_app, live_server, acme):
    assert invite_eva(signed_in(live_app, live_server, "ana@acme.es"), acme).status_code == 302
    path = re.search(r"https?://[^/\s]+(/invitacion/\S+)", mails_to_eva(live_app)[-1].body_text).group(1)
    eva = Browser(live_server)
    form = {"password": "Nueva2026x", "confirm": "Nueva2026x"}
    responses = posted_in_parallel(eva, path, [form] * PARALLEL)
    assert [r.status_code for r in responses if r.status_code >= 500] == []
    assert len([r for r in responses if r.headers.get("Location") == "/mi-area"]) == 1
    assert len(audit(live_app, "invitation.accepted")) == 1
    with live_app.app_context():
        assert get_session().scalar(select(func.count()).select_from(User).where(User.email == EVA)) == 1
    members = select(func.count()).select_from(Membership).join(User).where(User.email == EVA)
    assert in_company(live_app, acme, members).scalar_one() == 1

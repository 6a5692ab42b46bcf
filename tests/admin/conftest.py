"""Two companies with members of every role and some lines, and a browser signed in as any of those members."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from mgd.db import get_session, set_tenant, utcnow
from mgd.extensions import limiter
from mgd.security.models import User
from mgd.security.passwords import hash_password
from mgd.tenants.models import Membership
from tests.conftest import CSRF
from tests.factories import make_company, make_line
from tests.registration.conftest import last_code, outbox, post, text  # noqa: F401
from tests.security.conftest import PASSWORD

_HASH = {}


@dataclass
class Company:
    id: int
    ref: str
    lines: list[int] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    members: dict[str, int] = field(default_factory=dict)  # email -> membership id


def add_member(app, company: Company, email: str, role: str, **values) -> int:
    """An onboarded user with a membership of ``company`` (the user is reused if the email exists)."""
    if "hash" not in _HASH:
        _HASH["hash"] = hash_password(PASSWORD)
    with app.app_context():
        session = get_session()
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(
                email=email,
                name=email.split("@", maxsplit=1)[0].title() + " Pérez",
                password_hash=_HASH["hash"],
                password_is_temporary=False,
                mobile="+34612000009",
                terms_version=app.config["TERMS_VERSION"],
                terms_accepted_at=utcnow(),
                access_data_confirmed_at=utcnow(),
            )
            session.add(user)
            session.flush()
        set_tenant(session, company.id)
        membership = Membership(tenant_id=company.id, user_id=user.id, role=role, **values)
        session.add(membership)
        session.commit()
        company.members[email] = membership.id
        return membership.id


def create_company(app, name: str, lines: int = 0) -> Company:
    """A company with some lines, committed in ``app``'s database."""
    with app.app_context():
        session = get_session()
        company = make_company(session, name=name)
        set_tenant(session, company.id)
        made = [make_line(session, company) for _ in range(lines)]
        session.commit()
        return Company(
            company.id, company.public_ref, [line.id for line in made], [line.number for line in made]
        )


@pytest.fixture
def acme(app, bound) -> Company:
    """Acme: three lines; Ana (admin), Bob (manager), Carla (viewer)."""
    limiter.reset()
    company = create_company(app, "Acme S.L.", 3)
    add_member(app, company, "ana@acme.es", "admin")
    add_member(app, company, "bob@acme.es", "manager")
    add_member(app, company, "carla@acme.es", "viewer")
    return company


@pytest.fixture
def beta(app, bound) -> Company:
    """Beta: two lines; Dora (admin)."""
    company = create_company(app, "Beta S.A.", 2)
    add_member(app, company, "dora@beta.es", "admin")
    return company


def browser(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def signed_in(app, email: str, password: str = PASSWORD):
    """A browser where ``email`` has signed in with the password and a code by email."""
    client = browser(app)
    response = post(client, "/login", {"email": email, "password": password})
    assert response.headers.get("Location") == "/login/channel", text(response)
    post(client, "/login/channel", {"channel": "email"})
    response = post(client, "/login/code", {"code": last_code(app, email)})
    assert response.status_code == 302, text(response)
    return client


def token(client) -> str:
    """A CSRF token of this browser's session (every page carries one in its language form)."""
    return CSRF.search(text(client.get("/condiciones-de-uso"))).group(1)


def confirm(client, url: str, data: dict | None = None):
    """Post an admin action twice, as a person does: the form, then the confirmation page's button."""
    asked = client.post(url, data={**(data or {}), "csrf_token": token(client)})
    assert asked.status_code == 200 and "Confirm the change" in text(asked), text(asked)
    return client.post(url, data={**(data or {}), "csrf_token": token(client), "confirmed": "yes"})

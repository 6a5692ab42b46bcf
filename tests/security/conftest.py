"""Sign-in fixtures: an onboarded web administrator, and helpers to sign in as a person would."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from mgd.db import get_session, set_tenant, utcnow
from mgd.extensions import limiter
from mgd.security.models import User, UserSession
from mgd.security.passwords import hash_password
from mgd.tenants.models import Membership
from tests.factories import make_company
from tests.registration.conftest import client, last_code, post, text  # noqa: F401 (client: English-speaking)

PASSWORD = "Zx9kPq2mWv"


def create_member(app) -> int:
    """Ana: an onboarded web administrator of a new company, with a verified mobile; her user id."""
    with app.app_context():
        session = get_session()
        company = make_company(session)
        user = User(
            email="ana@example.es",
            name="Ana Ruiz",
            password_hash=hash_password(PASSWORD),
            password_is_temporary=False,
            mobile="+34612000001",
            terms_version=app.config["TERMS_VERSION"],
            terms_accepted_at=utcnow(),
            access_data_confirmed_at=utcnow(),
        )
        session.add(user)
        session.flush()
        set_tenant(session, company.id)
        session.add(Membership(tenant_id=company.id, user_id=user.id, role="admin"))
        session.commit()
        return user.id


@pytest.fixture
def member(app, bound):
    """An onboarded web administrator with a verified mobile."""
    limiter.reset()
    return create_member(app)


def update_user(app, user_id, **values):
    with app.app_context():
        session = get_session()
        user = session.get(User, user_id)
        for name, value in values.items():
            setattr(user, name, value)
        session.commit()


def load_user(app, user_id) -> User:
    with app.app_context():
        return get_session().get(User, user_id)


def age_session(app, user_id, **ages: timedelta) -> None:
    """Move the user's newest session's timestamps (``last_seen_at=timedelta(minutes=31)``) into the past."""
    with app.app_context():
        session = get_session()
        row = session.scalars(
            select(UserSession).where(UserSession.user_id == user_id).order_by(UserSession.id.desc())
        ).first()
        for name, age in ages.items():
            setattr(row, name, getattr(row, name) - age)
        session.commit()


def user_sessions(app, user_id) -> list[UserSession]:
    """The user's server-side sessions, oldest first."""
    with app.app_context():
        query = select(UserSession).where(UserSession.user_id == user_id).order_by(UserSession.id)
        return list(get_session().scalars(query))


def sign_in(app, browser, channel="sms", password=PASSWORD, email="ana@example.es"):
    response = post(browser, "/login", {"email": email, "password": password})
    assert response.headers.get("Location") == "/login/channel", text(response)
    post(browser, "/login/channel", {"channel": channel})
    destination = "+34612000001" if channel == "sms" else email
    return post(browser, "/login/code", {"code": last_code(app, destination)})


from tests.registration.conftest import companies  # noqa: E402, F401 (records with every product mix)

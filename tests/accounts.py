"""Companies and their members committed in an app's database (the suite's, or the live portal's), as web tests
need them: ids and references, never ORM objects; and the user rows tests read or change between requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from mgd.db import get_session, set_tenant
from mgd.security.models import User, UserSession
from tests.factories import make_company, make_line, make_member


@dataclass
class Company:
    id: int
    ref: str
    lines: list[int] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    members: dict[str, int] = field(default_factory=dict)  # email -> membership id


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


def add_member(app, company: Company, email: str, role: str) -> int:
    """An onboarded user with a membership of ``company`` (the user is reused if the email exists); its id."""
    with app.app_context():
        session = get_session()
        membership_id = make_member(session, company.id, email, role).id
        session.commit()
        company.members[email] = membership_id
        return membership_id


def create_member(app) -> int:
    """Ana: an onboarded web administrator of a new company, with a verified mobile; her user id."""
    with app.app_context():
        session = get_session()
        company = make_company(session)
        ana = make_member(session, company.id, "ana@example.es", name="Ana Ruiz", mobile="+34612000001")
        user_id = ana.user_id
        session.commit()
        return user_id


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


def user_id_of(app, email: str) -> int:
    with app.app_context():
        return get_session().scalar(select(User.id).where(User.email == email))

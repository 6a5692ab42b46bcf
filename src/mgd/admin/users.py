"""The company's members as its web administrators manage them: roles, line limits, disabling, password and
second-factor resets, removal. The company always keeps at least one active admin, and a person who also
belongs to other companies keeps their password, authenticator app and sessions: only the membership is ours.

Every change is audited with the acting admin and the company; services flush, the edge commits.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session, contains_eager

from mgd.db import operator_scope
from mgd.identifiers import InvalidIdentifier, to_ascii
from mgd.notify.senders import templated_mail
from mgd.notify.services import queue_mail
from mgd.notify.throttle import Requester, count_send
from mgd.security.audit import Origin, record_event
from mgd.security.models import User
from mgd.security.services import issue_temporary_password
from mgd.security.sessions import end_sessions
from mgd.tenants.context import Tenant
from mgd.tenants.models import Line, Membership, MembershipScope
from mgd.tenants.services import visible_lines
from mgd.web.paging import KeysetPage, keyset_page


class LastAdmin(Exception):
    """The change would leave the company without an active admin."""


class AdminNotLimited(Exception):
    """Admins always see the whole company: they cannot be limited to some lines."""


class UnknownLines(ValueError):
    """Some numbers given as a membership's scope are not lines of the company."""

    def __init__(self, numbers: list[str]) -> None:
        super().__init__(", ".join(numbers))
        self.numbers = numbers


def list_members(
    session: Session,
    tenant: Tenant,
    *,
    q: str = "",
    role: str = "",
    status: str = "",
    after: str | None = None,
    before: str | None = None,
) -> KeysetPage:
    """The company's memberships with their users, by name, a keyset page at a time; ``q`` searches name and
    email. The page's ``values`` hold how many active admins the company has (``active_admins``), read in
    the same statement."""
    query = select(Membership).join(Membership.user).options(contains_eager(Membership.user))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(func.lower(User.name).like(like), User.email.like(like)))
    if role:
        query = query.where(Membership.role == role)
    if status:
        query = query.where(Membership.is_active.is_(status == "active"))
    admins = _active_admins().scalar_subquery()
    return keyset_page(
        session, query, [User.name, Membership.id], after=after, before=before, columns=[admins]
    )


def find_member(session: Session, tenant: Tenant, membership_id: int) -> Membership | None:
    """A membership of the tenant's company, or None (the page is a 404)."""
    return session.scalar(
        select(Membership)
        .join(Membership.user)
        .options(contains_eager(Membership.user))
        .where(Membership.id == membership_id)
    )


def _active_admins() -> Select:
    query = select(func.count()).where(Membership.role == "admin", Membership.is_active.is_(True))
    return query.select_from(Membership)


def active_admins(session: Session) -> int:
    """How many active admins the (scoped) company has."""
    return session.scalar(_active_admins()) or 0


def scopes_of(session: Session, member: Membership) -> tuple[list[str], list[str]]:
    """The line numbers and cost centres a limited membership sees."""
    rows = session.execute(
        select(Line.number, MembershipScope.cost_centre)
        .select_from(MembershipScope)
        .outerjoin(Line, Line.id == MembershipScope.line_id)
        .where(MembershipScope.membership_id == member.id)
    ).all()
    return sorted(n for n, _c in rows if n), sorted(c for _n, c in rows if c)


PICKER_SIZE = 30


def lines_to_pick(session: Session, tenant: Tenant, q: str, chosen: list[str]) -> list[Line]:
    """The lines the limit picker lists: those already chosen, then up to ``PICKER_SIZE`` found by ``q``
    (part of a number, an alias or a cost centre), by number."""
    query = visible_lines(tenant.membership).order_by(Line.number)
    found = list(session.scalars(query.where(Line.number.in_(chosen)))) if chosen else []
    if q:
        try:
            digits = to_ascii(q.replace(" ", "")).removeprefix("+")
        except InvalidIdentifier:
            digits = ""
        like = f"%{q.lower()}%"
        matches = (
            Line.number.like(f"%{digits}%")
            if digits.isdigit()
            else or_(func.lower(Line.alias).like(like), func.lower(Line.cost_centre).like(like))
        )
        found += [
            line for line in session.scalars(query.where(matches).limit(PICKER_SIZE)) if line not in found
        ]
    return found


def _keeps_an_admin(session: Session, member: Membership) -> None:
    """Raise LastAdmin if ``member`` is the company's last active admin.

    The company's active admins (and ``member``) are locked until commit, in one order, and read again: of two
    admins demoting each other at once, the second waits for the first and then sees one admin left.
    """
    rows = session.scalars(
        select(Membership)
        .where(or_(Membership.id == member.id, (Membership.role == "admin") & Membership.is_active.is_(True)))
        .order_by(Membership.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    admins = sum(1 for row in rows if row.role == "admin" and row.is_active)
    if member.role == "admin" and member.is_active and admins <= 1:
        raise LastAdmin()


def _audit(
    session: Session,
    action: str,
    tenant: Tenant,
    member: Membership,
    *,
    actor: User,
    origin: Origin,
    **detail,
):
    record_event(
        session,
        action,
        origin,
        user_id=actor.id,
        tenant_id=tenant.company.id,
        member=member.user.email,
        **detail,
    )


def change_role(
    session: Session, tenant: Tenant, member: Membership, role: str, *, actor: User, origin: Origin
) -> None:
    """Give the membership another role; raises LastAdmin when it would demote the last active admin."""
    if role != "admin":
        _keeps_an_admin(session, member)
    if role == member.role:
        return
    previous, member.role = member.role, role
    if role == "admin":
        member.limited = False  # an admin sees the whole company
        session.execute(delete(MembershipScope).where(MembershipScope.membership_id == member.id))
    session.flush()
    _audit(
        session,
        "member.role_changed",
        tenant,
        member,
        actor=actor,
        origin=origin,
        previous=previous,
        role=role,
    )


def limit_member(
    session: Session,
    tenant: Tenant,
    member: Membership,
    numbers: list[str],
    cost_centres: list[str],
    *,
    actor: User,
    origin: Origin,
) -> None:
    """Limit the membership to these lines and cost centres (none of either: no limit).

    Raises UnknownLines naming numbers that are not the company's, and AdminNotLimited for an admin.
    """
    if member.role == "admin" and (numbers or cost_centres):
        raise AdminNotLimited()
    found = dict(session.execute(select(Line.number, Line.id).where(Line.number.in_(numbers))).all())
    missing = [number for number in numbers if number not in found]
    if missing:
        raise UnknownLines(missing)
    session.execute(delete(MembershipScope).where(MembershipScope.membership_id == member.id))
    for line_id in dict.fromkeys(found.values()):
        session.add(MembershipScope(tenant_id=tenant.company.id, membership_id=member.id, line_id=line_id))
    for cost_centre in dict.fromkeys(cost_centres):
        session.add(
            MembershipScope(tenant_id=tenant.company.id, membership_id=member.id, cost_centre=cost_centre)
        )
    member.limited = bool(numbers or cost_centres)
    session.flush()
    _audit(
        session,
        "member.limited",
        tenant,
        member,
        actor=actor,
        origin=origin,
        lines=len(found),
        cost_centres=cost_centres,
    )


class SharedPerson(Exception):
    """The person also belongs to other companies: their password, authenticator app and sessions are theirs,
    not one of those companies' to reset."""


def _in_other_companies(session: Session, tenant: Tenant, member: Membership) -> bool:
    query = select(func.count()).where(
        Membership.user_id == member.user_id, Membership.tenant_id != tenant.company.id
    )
    with operator_scope(session, "whether a member also belongs to other companies"):
        return bool(session.scalar(query.select_from(Membership)))


def _only_ours(session: Session, tenant: Tenant, member: Membership) -> None:
    if _in_other_companies(session, tenant, member):
        raise SharedPerson()


def _end_sessions(session: Session, tenant: Tenant, member: Membership) -> None:
    """Sign the person out everywhere, unless they also work for other companies: those sessions are not ours
    to end (this company's pages refuse them anyway once the membership is disabled or gone)."""
    if not _in_other_companies(session, tenant, member):
        end_sessions(session, member.user_id)


def disable_member(
    session: Session, tenant: Tenant, member: Membership, *, actor: User, origin: Origin
) -> None:
    """Disable the membership and end the person's sessions at once; never the last active admin."""
    _keeps_an_admin(session, member)
    member.is_active = False
    _end_sessions(session, tenant, member)
    session.flush()
    _audit(session, "member.disabled", tenant, member, actor=actor, origin=origin)


def enable_member(
    session: Session, tenant: Tenant, member: Membership, *, actor: User, origin: Origin
) -> None:
    member.is_active = True
    session.flush()
    _audit(session, "member.enabled", tenant, member, actor=actor, origin=origin)


def remove_member(
    session: Session, tenant: Tenant, member: Membership, *, actor: User, origin: Origin
) -> None:
    """Take the person out of the company: their lines are unassigned and their sessions end."""
    _keeps_an_admin(session, member)
    _audit(session, "member.removed", tenant, member, actor=actor, origin=origin)
    session.execute(update(Line).where(Line.user_id == member.user_id).values(user_id=None))
    _end_sessions(session, tenant, member)
    session.delete(member)
    session.flush()


def _tell(
    session: Session, tenant: Tenant, user: User, subject: object, template: str, **values: object
) -> None:
    """Email the person about a change an admin of the company made to their access."""
    mail = templated_mail(
        user.email, subject, template, locale=user.locale, user=user, company=tenant.company, **values
    )
    queue_mail(session, mail)


def reset_member_password(
    session: Session, tenant: Tenant, member: Membership, *, actor: User, origin: Origin
) -> None:
    """A new temporary password, emailed to the person; their sessions end. Raises SharedPerson for someone
    who also belongs to other companies, SendLimited."""
    _only_ours(session, tenant, member)
    user = member.user
    count_send(session, user.email, Requester(company_ids=(tenant.company.id,)))
    password = issue_temporary_password(user)
    end_sessions(session, user.id)
    session.flush()
    _tell(
        session,
        tenant,
        user,
        _l("Your new temporary password for MGD"),
        "member_password_reset",
        password=password,
    )
    _audit(session, "member.password_reset", tenant, member, actor=actor, origin=origin)


def reset_second_factor(
    session: Session, tenant: Tenant, member: Membership, *, actor: User, origin: Origin
) -> None:
    """Remove the person's authenticator app (codes go by SMS or email again); they are told by email.
    Raises SharedPerson for someone who also belongs to other companies."""
    _only_ours(session, tenant, member)
    user = member.user
    count_send(session, user.email, Requester(company_ids=(tenant.company.id,)))
    user.totp_secret, user.totp_last_step, user.totp_pending_secret = None, None, None
    session.flush()
    _tell(
        session, tenant, user, _l("Your authenticator app was removed from MGD"), "member_second_factor_reset"
    )
    _audit(session, "member.second_factor_reset", tenant, member, actor=actor, origin=origin)

"""Invitations: an admin invites a colleague by email; the emailed link, single use and valid 7 days, lets
them set a password (or, if they already use MGD, confirm theirs) and join the company with the invited role.

Only the SHA-256 of a link's token is stored. Resending makes a new link (the old one stops working) and is
bounded; revoking kills the link. CSV invitations are checked row by row before anything is sent.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mgd.admin.models import Invitation
from mgd.db import increment, operator_scope, set_tenant, utcnow
from mgd.identifiers import InvalidIdentifier, normalize_email
from mgd.notify.senders import templated_mail
from mgd.notify.services import queue_mail
from mgd.notify.throttle import Requester, count_send
from mgd.security.audit import Origin, record_event
from mgd.security.models import User
from mgd.security.services import create_user
from mgd.tenants.context import ROLE_NAMES, Tenant, role_from_name
from mgd.tenants.models import ROLES, Company, Membership
from mgd.web.links import external_url
from mgd.web.shell import current_language
from mgd.web.uploads import csv_records

LIFETIME = timedelta(days=7)
MAX_SENDS = 5  # the first email and four resends
MAX_CSV_ROWS = 500


class InvitationRefused(Exception):
    """``reason``: ``domain``, ``member``, ``pending``, ``sends`` or ``not_pending``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def allowed_domains(company: Company) -> list[str]:
    return (company.invite_domains or "").split()


def set_invite_domains(
    session: Session, tenant: Tenant, domains: list[str], *, actor: User, origin: Origin
) -> None:
    """Invitations of the company may only go to these email domains (none: any)."""
    tenant.company.invite_domains = " ".join(domains) or None
    session.flush()
    record_event(
        session,
        "company.invite_domains",
        origin,
        user_id=actor.id,
        tenant_id=tenant.company.id,
        domains=domains,
    )


def check_invitee(session: Session, tenant: Tenant, email: str) -> None:
    """Raise InvitationRefused when this (normalised) email cannot be invited to the tenant's company now."""
    domains = allowed_domains(tenant.company)
    if domains and email.rsplit("@", 1)[-1] not in domains:
        raise InvitationRefused("domain")
    member = select(Membership.id).join(Membership.user).where(User.email == email)
    if session.scalar(member) is not None:
        raise InvitationRefused("member")
    pending = select(Invitation.id).where(Invitation.email == email, Invitation.status == "pending")
    if session.scalar(pending) is not None:
        raise InvitationRefused("pending")


def _new_link(invitation: Invitation) -> str:
    """A new token for the invitation's link (the old one stops working) and seven more days."""
    token = secrets.token_urlsafe(32)
    invitation.token_hash = _hash(token)
    invitation.expires_at = utcnow() + LIFETIME
    return token


def _send(session: Session, tenant: Tenant, invitation: Invitation, *, token: str, actor: User) -> None:
    # The company's caps and the invitee's address count it; the admin's own limit does not, so that a CSV of
    # a few hundred colleagues can go at once (each invitation is bounded by MAX_SENDS).
    count_send(session, invitation.email, Requester(company_ids=(tenant.company.id,)))
    # Someone who already has an account reads it in their language; a new person in the inviter's.
    invitee = existing_user(session, invitation)
    mail = templated_mail(
        invitation.email,
        _l("%(name)s invites you to %(company)s in MGD", name=actor.name, company=tenant.company.name),
        "invitation",
        locale=invitee.locale if invitee else None,
        invitation=invitation,
        company=tenant.company,
        inviter=actor,
        link=external_url("invitations.accept", token=token),
        days=LIFETIME.days,
    )
    queue_mail(session, mail)


def invite(
    session: Session,
    tenant: Tenant,
    *,
    email: str,
    name: str,
    role: str,
    actor: User,
    origin: Origin,
) -> Invitation:
    """Invite one person (email already normalised); raises InvitationRefused or SendLimited, and then keeps
    nothing.

    The database keeps one pending invitation per company and email: of the same invitation sent twice at
    once, the second is refused as ``pending``.
    """
    with session.begin_nested():
        return _invite(session, tenant, email=email, name=name, role=role, actor=actor, origin=origin)


def _invite(
    session: Session, tenant: Tenant, *, email: str, name: str, role: str, actor: User, origin: Origin
) -> Invitation:
    check_invitee(session, tenant, email)
    invitation = Invitation(
        tenant_id=tenant.company.id, email=email, name=name, role=role, invited_by_id=actor.id
    )
    token = _new_link(invitation)
    try:
        with session.begin_nested():
            session.add(invitation)
    except IntegrityError:
        raise InvitationRefused("pending") from None
    _send(session, tenant, invitation, token=token, actor=actor)
    record_event(
        session,
        "invitation.sent",
        origin,
        user_id=actor.id,
        tenant_id=tenant.company.id,
        email=email,
        role=role,
    )
    return invitation


def invite_rows(session: Session, tenant: Tenant, rows: list[CsvRow], *, actor: User, origin: Origin) -> None:
    """Invite every row of a CSV that ``read_csv`` found correct, all or none: raises InvitationRefused if one
    became impossible since, SendLimited if the company's caps are spent, and then keeps nothing."""
    with session.begin_nested():
        for row in rows:
            _invite(
                session, tenant, email=row.email, name=row.name, role=row.role, actor=actor, origin=origin
            )


def listed_invitations(
    session: Session, tenant: Tenant, limit: int = 25
) -> tuple[list[Invitation], list[Invitation]]:
    """The members page's invitations in one statement: the newest pending ones (at most ``limit``) and the
    drafts prepared from the company's access request (oldest first)."""
    newest = (
        select(Invitation.id)
        .where(Invitation.status == "pending")
        .order_by(Invitation.created_at.desc())
        .limit(limit)
    )
    rows = session.scalars(
        select(Invitation).where(
            or_(Invitation.id.in_(newest.scalar_subquery()), Invitation.status == "draft")
        )
    ).all()
    pending = sorted(
        (row for row in rows if row.status == "pending"), key=lambda row: row.created_at, reverse=True
    )
    return pending, sorted((row for row in rows if row.status == "draft"), key=lambda row: row.id)


def find_invitation(session: Session, tenant: Tenant, invitation_id: int) -> Invitation | None:
    """A pending invitation of the tenant's company, or None (the page is a 404)."""
    return session.scalar(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.status == "pending")
    )


def resend(session: Session, tenant: Tenant, invitation: Invitation, *, actor: User, origin: Origin) -> None:
    """A new link (the old one stops working) and seven more days; at most MAX_SENDS emails in all, counted
    by the database. Raises InvitationRefused or SendLimited, and then keeps nothing."""
    pending = Invitation.status == "pending"
    with session.begin_nested():
        if increment(session, invitation, "sent_count", pending, below=MAX_SENDS) is None:
            raise InvitationRefused("sends")
        token = _new_link(invitation)
        session.flush()
        _send(session, tenant, invitation, token=token, actor=actor)
        record_event(
            session,
            "invitation.resent",
            origin,
            user_id=actor.id,
            tenant_id=tenant.company.id,
            email=invitation.email,
        )


def revoke(session: Session, tenant: Tenant, invitation: Invitation, *, actor: User, origin: Origin) -> None:
    invitation.status = "revoked"
    session.flush()
    record_event(
        session,
        "invitation.revoked",
        origin,
        user_id=actor.id,
        tenant_id=tenant.company.id,
        email=invitation.email,
    )


def invitation_by_token(session: Session, token: str) -> Invitation | None:
    """The pending, unexpired invitation behind a link; scopes the session to its company."""
    with operator_scope(session, "invitation link"):
        invitation = session.scalar(select(Invitation).where(Invitation.token_hash == _hash(token)))
    if invitation is None or invitation.status != "pending" or invitation.expires_at < utcnow():
        return None
    set_tenant(session, invitation.tenant_id)
    return invitation


def existing_user(session: Session, invitation: Invitation) -> User | None:
    return session.scalar(select(User).where(User.email == invitation.email))


def accept(
    session: Session, invitation: Invitation, *, user: User | None, password: str | None, origin: Origin
) -> User:
    """Join the invitation's company. A new person (``user`` None) is created with ``password`` (already
    checked against the policy); an existing user has proven their password.

    The link is used up first, by a conditional UPDATE: of the same link accepted twice at once, the second is
    refused as ``not_pending`` and joins nobody.
    """
    now = utcnow()
    used = session.scalar(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.status == "pending", Invitation.expires_at > now)
        .values(status="accepted", accepted_at=now)
        .returning(Invitation.id)
        .execution_options(synchronize_session=False)
    )
    if used is None:
        raise InvitationRefused("not_pending")
    session.refresh(invitation, ["status", "accepted_at"])
    if user is None:
        user = create_user(
            session,
            email=invitation.email,
            name=invitation.name,
            password=password or "",
            locale=current_language(),
        )[0]
    session.add(Membership(tenant_id=invitation.tenant_id, user_id=user.id, role=invitation.role))
    session.flush()
    record_event(
        session,
        "invitation.accepted",
        origin,
        user_id=user.id,
        tenant_id=invitation.tenant_id,
        role=invitation.role,
    )
    return user


@dataclass
class CsvRow:
    line: int
    email: str
    name: str
    role: str
    problems: list[str] = field(default_factory=list)


#: The columns of an invitations CSV, and how a header may name them (in either language).
CSV_COLUMNS = {
    "email": ("correo", "correo electronico", "e-mail", "mail"),
    "name": ("nombre", "nombre y apellidos", "name and surname", "full name"),
    "role": ("rol", "perfil"),
}


def read_csv(session: Session, tenant: Tenant, text: str) -> list[CsvRow]:
    """Rows of an ``email,name,role`` CSV (a header row, in either language and in any order, is optional),
    each with the problems that would stop its invitation; nothing is written. Roles are read as the pages
    name them, in either language, or by their codes. Raises ValueError when the file cannot be used."""
    rows, seen = [], set()
    for number, record, extra in csv_records(text, CSV_COLUMNS):
        if len(rows) >= MAX_CSV_ROWS:
            raise ValueError(_("The file has more than %(max)s rows.", max=MAX_CSV_ROWS))
        email, name, role = (record.get(column, "") for column in CSV_COLUMNS)
        row = CsvRow(number, email.lower(), name, role_from_name(role) or role)
        rows.append(row)
        if extra:
            row.problems.append(_("Too many columns: expected email, name and role."))
        try:
            row.email = normalize_email(email)
        except InvalidIdentifier:
            row.problems.append(_("The email is not valid."))
        if not name or len(name) > 200 or not name.isprintable():
            row.problems.append(_("Give a name of up to 200 characters."))
        if row.role not in ROLES:
            names = ", ".join(str(ROLE_NAMES[role]) for role in ROLES)
            row.problems.append(_("The role must be one of: %(roles)s.", roles=names))
        if row.email in seen:
            row.problems.append(_("This email is repeated in the file."))
        seen.add(row.email)
        if not row.problems:
            try:
                check_invitee(session, tenant, row.email)
            except InvitationRefused as refused:
                row.problems.append(refusal_message(refused.reason))
    if not rows:
        raise ValueError(_("The file has no rows."))
    return rows


def refusal_message(reason: str) -> str:
    return {
        "domain": _("Invitations of this company only go to its own email domains."),
        "member": _("This person already belongs to the company."),
        "pending": _("This person already has a pending invitation."),
        "sends": _("This invitation has been sent too many times. Revoke it and invite again."),
        "not_pending": _("This invitation is no longer pending."),
    }[reason]


# ---- drafts: the users a Grandes Clientes request listed -----------------------------------------------


def prepare_drafts(session: Session, company: Company, users: list[dict], *, admin: User) -> int:
    """Draft invitations (not sent) for the users an approved Grandes Clientes request listed, on behalf of
    its new administrator, who edits and sends them. Skips the administrator and anyone who already belongs
    to the company or has an invitation waiting. Returns how many were prepared. Written in the company's
    scope (the caller's session works for the back office)."""
    set_tenant(session, company.id)
    members = set(session.scalars(select(User.email).join(Membership, Membership.user_id == User.id)))
    waiting = set(
        session.scalars(select(Invitation.email).where(Invitation.status.in_(("pending", "draft"))))
    )
    made = 0
    for entry in users:
        email = entry.get("email", "")
        if not email or email == admin.email or email in members or email in waiting:
            continue
        waiting.add(email)
        invitation = Invitation(
            tenant_id=company.id,
            email=email,
            name=entry.get("name") or email,
            role=entry.get("role") if entry.get("role") in ROLES else "viewer",
            invited_by_id=admin.id,
            status="draft",
            sent_count=0,
        )
        _new_link(invitation)  # a link nobody is told of: sending makes a new one
        session.add(invitation)
        made += 1
    session.flush()
    return made


def draft_invitations(session: Session, tenant: Tenant) -> list[Invitation]:
    """The company's draft invitations (prepared from its access request), oldest first."""
    query = select(Invitation).where(Invitation.status == "draft").order_by(Invitation.id)
    return list(session.scalars(query))


def find_draft(session: Session, tenant: Tenant, invitation_id: int) -> Invitation | None:
    """A draft invitation of the tenant's company, or None (404)."""
    return session.scalar(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.status == "draft")
    )


def update_draft(
    session: Session, tenant: Tenant, invitation: Invitation, *, email: str, name: str, role: str
) -> None:
    """Correct a draft before it goes out (the domain and membership rules of any invitation apply)."""
    if email != invitation.email:
        check_invitee(session, tenant, email)
    invitation.email, invitation.name, invitation.role = email, name, role
    session.flush()


def send_drafts(
    session: Session, tenant: Tenant, drafts: list[Invitation], *, actor: User, origin: Origin
) -> int:
    """Send draft invitations, all or none: each moves draft → pending by a conditional UPDATE (a draft sent
    by another request meanwhile is skipped), gets its link and email, and is audited. Raises
    InvitationRefused (someone else invited that person meanwhile, or they joined) or SendLimited."""
    sent = 0
    with session.begin_nested():
        for invitation in drafts:
            check_invitee(session, tenant, invitation.email)
            try:
                with session.begin_nested():
                    moved = session.scalar(
                        update(Invitation)
                        .where(Invitation.id == invitation.id, Invitation.status == "draft")
                        .values(status="pending", sent_count=1, invited_by_id=actor.id)
                        .returning(Invitation.id)
                        .execution_options(synchronize_session=False)
                    )
            except IntegrityError:
                raise InvitationRefused("pending") from None
            if moved is None:
                continue
            session.refresh(invitation)
            token = _new_link(invitation)
            session.flush()
            _send(session, tenant, invitation, token=token, actor=actor)
            record_event(
                session,
                "invitation.sent",
                origin,
                user_id=actor.id,
                tenant_id=tenant.company.id,
                email=invitation.email,
                role=invitation.role,
            )
            sent += 1
    return sent

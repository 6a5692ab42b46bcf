"""Back-office work: the queue of access requests, deciding them, and registrations that need a call.

Deciding is race-safe: the request's status moves from ``pending`` in one conditional UPDATE, so two advisors
can never both decide it. Staff read across companies; the queries here touch no tenant-owned class except the
interlocutor an approval creates, which is written under the company's own scope.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from mgd.admin.invitations import prepare_drafts
from mgd.db import utcnow
from mgd.notify.senders import templated_mail
from mgd.notify.services import queue_mail
from mgd.registration.models import AccessRequest, RegistrationFlow
from mgd.security.audit import Origin, record_event
from mgd.security.models import User
from mgd.security.services import create_user
from mgd.tenants.models import Interlocutor, Membership
from mgd.tenants.services import find_company, find_interlocutor
from mgd.web.paging import Page, paginate

FOLLOW_UP_REASONS = ("not_interlocutor", "wrong_phones", "wrong_ibans", "codes_exhausted")


class DecisionRefused(Exception):
    """``reason``: ``already_decided`` or ``unknown_company``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def request_queue(session: Session, status: str | None, page: int) -> Page:
    """Access requests, pending first then oldest first; ``status`` filters (None: all)."""
    query = select(AccessRequest)
    if status:
        query = query.where(AccessRequest.status == status)
    pending_first = case((AccessRequest.status == "pending", 0), else_=1)
    return paginate(session, query.order_by(pending_first, AccessRequest.created_at, AccessRequest.id), page)


def request_by_reference(session: Session, reference: str) -> AccessRequest | None:
    return session.scalar(select(AccessRequest).where(AccessRequest.reference == reference))


def _decide(session: Session, request: AccessRequest, status: str, advisor: User, reason: str | None) -> None:
    result = session.execute(
        update(AccessRequest)
        .where(AccessRequest.id == request.id, AccessRequest.status == "pending")
        .values(status=status, decided_by_id=advisor.id, decided_at=utcnow(), decision_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DecisionRefused("already_decided")
    session.refresh(request)


def approve_request(session: Session, request: AccessRequest, advisor: User, origin: Origin) -> User:
    """Make the requester web administrator of the company, creating the interlocutor and user if needed,
    and prepare the users the request listed as draft invitations (sent when the administrator says)."""
    company = find_company(session, request.fiscal_id)
    if company is None:
        raise DecisionRefused("unknown_company")
    _decide(session, request, "approved", advisor, None)
    if find_interlocutor(session, company, request.email) is None:
        session.add(
            Interlocutor(
                tenant_id=company.id, name=request.requester_name, email=request.email, phone=request.phone
            )
        )
    user = session.scalar(select(User).where(User.email == request.email))
    password = None
    if user is None:
        user, password = create_user(
            session, email=request.email, name=request.requester_name, locale=request.locale
        )
    if session.scalar(select(Membership.id).where(Membership.user_id == user.id)) is None:
        session.add(Membership(tenant_id=company.id, user_id=user.id, role="admin"))
    session.flush()
    # The users the request listed: draft invitations the new administrator corrects and sends.
    drafts = prepare_drafts(session, company, request.users or [], admin=user) if request.users else 0
    subject = _l("Your access to MGD is ready")
    queue_mail(
        session,
        templated_mail(
            user.email,
            subject,
            "request_approved",
            locale=user.locale,
            user=user,
            company=company,
            password=password,
            access=request,
            drafts=drafts,
        ),
    )
    record_event(
        session,
        "access_request.approved",
        origin,
        user_id=advisor.id,
        tenant_id=company.id,
        fiscal_id=request.fiscal_id,
        reference=request.reference,
        administrator=user.id,
        drafts=drafts,
    )
    return user


def reject_request(
    session: Session, request: AccessRequest, advisor: User, reason: str, origin: Origin
) -> None:
    """Refuse the request and tell the requester why."""
    _decide(session, request, "rejected", advisor, reason)
    subject = _l("About your access request %(reference)s", reference=request.reference)
    mail = templated_mail(request.email, subject, "request_rejected", locale=request.locale, access=request)
    queue_mail(session, mail)
    record_event(
        session,
        "access_request.rejected",
        origin,
        user_id=advisor.id,
        tenant_id=request.company_id,
        fiscal_id=request.fiscal_id,
        reference=request.reference,
    )


def follow_ups(session: Session, page: int, days: int = 30) -> Page:
    """Registrations of the last ``days`` that ended in *call 1489* or a lock, newest first."""
    query = select(RegistrationFlow).where(
        RegistrationFlow.end_reason.in_(FOLLOW_UP_REASONS),
        RegistrationFlow.updated_at >= utcnow() - timedelta(days=days),
    )
    return paginate(session, query.order_by(RegistrationFlow.updated_at.desc()), page)

"""Grandes Clientes: a request for access that an operator advisor validates and decides."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from mgd.notify.senders import templated_mail
from mgd.notify.services import queue_mail
from mgd.notify.throttle import Requester, count_send
from mgd.registration.models import AccessRequest
from mgd.security.audit import Origin, record_event
from mgd.tenants.services import find_company
from mgd.web.shell import current_language

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone


class DuplicateRequest(Exception):
    """This fiscal ID and email already have a pending request; ``reference`` is its reference."""

    def __init__(self, reference: str) -> None:
        super().__init__(reference)
        self.reference = reference


@dataclass(frozen=True)
class RequestDetails:
    fiscal_id: str  # normalised
    requester_name: str
    position: str
    email: str
    phone: str  # E.164
    users_needed: int
    comments: str | None
    users: tuple[dict[str, str], ...] = ()  # the users listed: name, email, role


def new_reference() -> str:
    return "GC-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def submit_access_request(session: Session, details: RequestDetails, origin: Origin) -> AccessRequest:
    """Record the request and email the requester its reference. Raises ``DuplicateRequest`` or
    ``SendLimited``."""
    email = details.email.strip().lower()
    pending = session.scalar(
        select(AccessRequest.reference).where(
            AccessRequest.fiscal_id == details.fiscal_id,
            AccessRequest.email == email,
            AccessRequest.status == "pending",
        )
    )
    if pending is not None:
        raise DuplicateRequest(pending)
    company = find_company(session, details.fiscal_id)
    count_send(session, email, Requester(company_ids=(company.id,) if company else ()))
    request = AccessRequest(
        reference=new_reference(),
        fiscal_id=details.fiscal_id,
        company_id=company.id if company else None,
        requester_name=details.requester_name,
        position=details.position,
        email=email,
        phone=details.phone,
        users_needed=details.users_needed,
        comments=details.comments,
        users=list(details.users) or None,
        ip=origin.ip,
        locale=current_language(),
    )
    session.add(request)
    session.flush()
    subject = _("We have received your access request %(reference)s", reference=request.reference)
    queue_mail(session, templated_mail(email, subject, "access_request", access=request))
    record_event(
        session,
        "access_request.submitted",
        origin,
        tenant_id=request.company_id,
        fiscal_id=request.fiscal_id,
        reference=request.reference,
    )
    return request

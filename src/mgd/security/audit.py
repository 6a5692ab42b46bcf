"""The audit trail of security events; written in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass

from flask import has_request_context, request
from sqlalchemy.orm import Session

from mgd.security.models import AuditEvent


@dataclass(frozen=True)
class Origin:
    """Where a request came from, captured at the edge so services never touch ``request``."""

    ip: str | None = None
    user_agent: str | None = None

    @classmethod
    def of_request(cls) -> Origin:
        if not has_request_context():
            return cls()
        # A client can send anything in a header: control characters would not fit the audit table.
        agent = "".join(ch for ch in (request.user_agent.string or "")[:300] if ch.isprintable())
        return cls(ip=request.remote_addr, user_agent=agent or None)


def record_event(
    session: Session,
    action: str,
    origin: Origin,
    *,
    user_id: int | None = None,
    tenant_id: int | None = None,
    fiscal_id: str | None = None,
    **detail: object,
) -> AuditEvent:
    """Add one audit event; it is kept when the request (or job) commits."""
    event = AuditEvent(
        action=action,
        ip=origin.ip,
        user_agent=origin.user_agent,
        user_id=user_id,
        tenant_id=tenant_id,
        fiscal_id=fiscal_id,
        detail=detail,
    )
    session.add(event)
    session.flush()
    return event

"""Spend caps carried out: when a line's spend reaches its cap (``tenants.signals.spend_cap_reached``,
sent by consumption alerts once per line and cycle), the system orders the bars it asks for: premium-rate
blocking of calls and SMS (done by the provisioning job) and roaming off (done by an advisor). In the
evaluating transaction; each order's idempotency key names the cap request, so a cap makes its orders once
per cycle even if the signal came twice."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from mgd.orders.services import Request, place_order
from mgd.tenants.models import Company, Line
from mgd.tenants.signals import spend_cap_reached

log = logging.getLogger(__name__)

#: What a cap asks for: (kind, payload, the key's suffix).
BARS = (
    ("premium_block", {"action": "block", "calls": True, "sms": True}, "premium"),
    ("roaming", {"action": "off", "country": None, "start": None, "end": None}, "roaming"),
)


def cap_key(cap_request_id: int, suffix: str) -> str:
    return f"spend-cap-{cap_request_id}-{suffix}"


@spend_cap_reached.connect
def bar_capped_line(
    session: Session, *, tenant_id: int, line_id: int, cap_request_id: int, **_: object
) -> None:
    """Order the bars of a line whose spend reached its cap (those it does not have already)."""
    company, line = session.get(Company, tenant_id), session.get(Line, line_id)
    if company is None or line is None or line.tenant_id != tenant_id or line.status == "cancelled":
        return
    already = {
        "premium": line.premium_calls_blocked and line.premium_sms_blocked,
        "roaming": not line.roaming_enabled,
    }
    for kind, payload, suffix in BARS:
        if already[suffix]:
            continue
        order, created = place_order(
            session,
            company,
            None,
            Request(kind, line, dict(payload), None, cap_key(cap_request_id, suffix)),
            actor="system",
        )
        if created:
            log.info("spend cap %s: order %s (%s) for line %s", cap_request_id, order.id, kind, line_id)

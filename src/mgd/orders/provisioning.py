"""Applying a completed order to the records: the adapter interface, and the default adapter that writes the
portal's own copy of the operator's records (a real deployment puts the network's API behind the same
interface). Called inside the transaction that completes the order, so the change and the completion are
committed together or not at all."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from mgd.db import utcnow
from mgd.orders.models import Order
from mgd.tenants.models import Line, Tariff
from mgd.usage.models import Bundle, LineBundle

MADRID = ZoneInfo("Europe/Madrid")


class ProvisioningError(Exception):
    """The change could not be applied now; the job tries again later."""


class ProvisioningAdapter(Protocol):
    def apply(self, session: Session, order: Order) -> None:
        """Make the change ``order`` asks for on each of its lines; safe to call twice for one order."""


class LocalRecords:
    """The default adapter: the lines' columns in the portal's database are the records."""

    def apply(self, session: Session, order: Order) -> None:
        lines = list(session.scalars(select(Line).where(Line.id.in_([link.line_id for link in order.lines]))))
        payload = order.payload
        for line in lines:
            if order.kind == "tariff_change":
                tariff = session.get(Tariff, payload["tariff_id"])
                current = session.get(Tariff, line.tariff_id)
                if tariff is None or current is None or tariff.family != current.family:
                    raise ProvisioningError(f"tariff {payload['tariff_id']} does not fit line {line.id}")
                line.tariff_id = tariff.id
            elif order.kind == "voicemail_reset":
                line.voicemail_reset_at = utcnow()
            elif order.kind == "premium_block":
                blocked = payload["action"] == "block"
                if payload.get("calls"):
                    line.premium_calls_blocked = blocked
                if payload.get("sms"):
                    line.premium_sms_blocked = blocked
            elif order.kind == "roaming":
                line.roaming_enabled = payload["action"] == "on"
            elif order.kind == "sim_duplicate":
                line.iccid = payload["iccid"]
                if payload.get("restore") and line.status == "suspended":
                    line.status, line.suspension_reason = "active", None
            elif order.kind == "suspension":
                _suspension(line, payload)
            elif order.kind == "bundle":
                _bundle(session, line, payload)
        session.flush()


def _suspension(line: Line, payload: dict) -> None:
    if line.status == "cancelled":
        raise ProvisioningError(f"line {line.id} is cancelled")
    if payload["action"] == "suspend":
        line.status, line.suspension_reason = "suspended", payload["reason"]
    else:
        line.status, line.suspension_reason = "active", None


def _bundle(session: Session, line: Line, payload: dict) -> None:
    """Add a bundle from today, or remove it from today (ended yesterday; one that started today goes);
    both leave a line as they found it when done twice."""
    on = datetime.now(MADRID).date()
    active = (
        LineBundle.tenant_id == line.tenant_id,
        LineBundle.line_id == line.id,
        LineBundle.bundle_id == payload["bundle_id"],
        or_(LineBundle.ends_on.is_(None), LineBundle.ends_on >= on),
    )
    if payload["action"] == "add":
        if session.get(Bundle, payload["bundle_id"]) is None:
            raise ProvisioningError(f"no bundle {payload['bundle_id']}")
        if session.scalar(select(LineBundle.id).where(*active, LineBundle.starts_on <= on)) is None:
            session.add(
                LineBundle(
                    tenant_id=line.tenant_id, line_id=line.id, bundle_id=payload["bundle_id"], starts_on=on
                )
            )
        return
    session.execute(delete(LineBundle).where(*active, LineBundle.starts_on >= on))
    session.execute(
        update(LineBundle)
        .where(*active, LineBundle.starts_on < on)
        .values(ends_on=on - timedelta(days=1))
        .execution_options(synchronize_session=False)
    )


def default_adapter() -> ProvisioningAdapter:
    return LocalRecords()

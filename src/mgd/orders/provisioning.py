"""Applying a completed order to the records: the adapter interface, and the default adapter that writes the
portal's own copy of the operator's records (a real deployment puts the network's API behind the same
interface). Called inside the transaction that completes the order, so the change and the completion are
committed together or not at all."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mgd.db import utcnow
from mgd.orders.models import Order
from mgd.tenants.models import Line, Tariff


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
        session.flush()


def default_adapter() -> ProvisioningAdapter:
    return LocalRecords()

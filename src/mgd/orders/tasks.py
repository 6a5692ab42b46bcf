"""The provisioning job: the automatic kinds of order (``kinds.Kind.automatic``) taken, applied through the
provisioning adapter and completed, with retries. Takes ids; running it twice for one order does nothing the
second time (an order no longer submitted or in progress is left as it is)."""

from __future__ import annotations

import logging

from mgd.db import get_session, set_tenant
from mgd.jobs import actor
from mgd.orders.kinds import KINDS
from mgd.orders.models import Order
from mgd.orders.services import StaleOrder, complete_order, move_order

log = logging.getLogger(__name__)


@actor(queue_name="orders", max_retries=8, min_backoff=5_000, max_backoff=600_000)
def provision_order(tenant_id: int, order_id: int) -> None:
    """Take (if still submitted), apply and complete one automatic order, in one transaction: a failure of
    the adapter rolls it all back and dramatiq tries again later."""
    session = get_session()
    set_tenant(session, tenant_id)
    order = session.get(Order, order_id)
    if order is None or not KINDS[order.kind].automatic or order.state not in ("submitted", "in_progress"):
        log.info("order %s not provisioned: gone, not automatic or already decided", order_id)
        session.rollback()
        return
    try:
        if order.state == "submitted":
            move_order(session, order, "take", expected="submitted", actor="system")
        complete_order(session, order, expected="in_progress", actor="system")
    except StaleOrder:
        session.rollback()  # an advisor moved it meanwhile: theirs now
        log.info("order %s moved by someone else during provisioning", order_id)
        return
    except Exception:
        session.rollback()
        raise
    session.commit()
    log.info("order %s provisioned", order_id)

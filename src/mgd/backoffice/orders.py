"""The back office's side of orders: the queue across companies (per kind and state, oldest in its state
first) with each order's SLA clock, and finding one order, after which the request works in its company.

The queue reads across companies inside an operator scope; an order's page and its actions are scoped to the
order's own company, so a move can only touch that company's rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mgd.db import operator_scope, set_tenant, utcnow
from mgd.orders.kinds import KINDS
from mgd.orders.models import Order, OrderLine
from mgd.tenants.models import Company
from mgd.web.paging import KeysetPage, keyset_page

OPEN_STATES = ("submitted", "in_progress")


@dataclass(frozen=True)
class Clock:
    """How long an order has been in its state against its kind's target."""

    elapsed: timedelta
    target: timedelta

    @property
    def late(self) -> bool:
        return self.elapsed > self.target

    @property
    def hours(self) -> int:
        return int(self.elapsed.total_seconds() // 3600)


def clock(order: Order, now: datetime | None = None) -> Clock | None:
    """The SLA clock of an open order (None once it is decided)."""
    if order.state not in OPEN_STATES:
        return None
    return Clock((now or utcnow()) - order.state_changed_at, KINDS[order.kind].target)


def order_queue(
    session: Session, kind: str | None, state: str, *, after: str | None = None, before: str | None = None
) -> KeysetPage:
    """Orders in ``state`` (of ``kind``, or every kind), longest in that state first, with their company's
    name: rows ``(order, company name)``."""
    query = (
        select(Order, Company.name)
        .join(Company, Company.id == Order.tenant_id)
        .where(Order.state == state)
        .options(selectinload(Order.lines).selectinload(OrderLine.line))
    )
    if kind:
        query = query.where(Order.kind == kind)
    with operator_scope(session, "back office: order queue"):
        # The queue shows no count: counting up to 10,000 orders for every page was most of its cost.
        return keyset_page(
            session,
            query,
            (Order.state_changed_at, Order.id),
            after=after,
            before=before,
            rows=True,
            count=False,
        )


def staff_order(session: Session, order_id: int) -> Order | None:
    """One order of any company, the session then scoped to that company (None: no such order)."""
    with operator_scope(session, "back office: an order"):
        tenant_id = session.scalar(select(Order.tenant_id).where(Order.id == order_id))
    if tenant_id is None:
        return None
    set_tenant(session, tenant_id)
    return session.scalar(select(Order).where(Order.id == order_id))

"""Orders from the customer's side and the moves every side shares.

Guarantees: a form posted twice makes one order (its idempotency key is unique per company); an order's state
moves only by one conditional UPDATE on the state the mover saw, so of two movers one wins and the other gets
``StaleOrder``; every move and note is an event of the order's timeline, and each move (and each note the
customer may read) queues an email to the requester in their language, in the same transaction.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import event as sa_event
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mgd import attachments
from mgd.db import utcnow
from mgd.notify.senders import templated_mail
from mgd.notify.services import queue_mail
from mgd.orders.kinds import (
    FIRST_SUB_STATE,
    KINDS,
    SIM_STEP_FROM,
    SIM_STEPS,
    STATE_NAMES,
    carrier_name,
    tracking_url,
)
from mgd.orders.machine import target_of
from mgd.orders.models import Order, OrderAttachment, OrderEvent, OrderLine
from mgd.orders.provisioning import ProvisioningAdapter, default_adapter
from mgd.security.audit import Origin, record_event
from mgd.security.models import User
from mgd.tenants.context import Tenant
from mgd.tenants.models import Line, Tariff
from mgd.tenants.services import visible_lines
from mgd.usage.models import Bundle, LineBundle
from mgd.web.paging import KeysetPage, keyset_page

log = logging.getLogger(__name__)

MADRID = ZoneInfo("Europe/Madrid")
_TO_PROVISION = "mgd.orders_to_provision"


class StaleOrder(Exception):
    """The order is no longer in the state the mover saw (someone moved it first); ``state``: its state."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


class NotAllowed(Exception):
    """The machine allows no such event from the order's state."""


def today() -> date:
    """Today in Madrid, the customers' calendar."""
    return datetime.now(MADRID).date()


def new_idempotency_key() -> str:
    """The key a new-order form carries: posting it twice finds the order the first post made."""
    return secrets.token_urlsafe(24)


def visible_line(session: Session, tenant: Tenant, number: str) -> Line | None:
    """The line in service with this E.164 number, if the member may see it (None: not the company's, not
    in the member's limits, or cancelled)."""
    query = visible_lines(tenant.membership).where(Line.number == number, Line.status != "cancelled")
    return session.scalar(query)


def find_lines(session: Session, tenant: Tenant, text: str, limit: int = 20) -> list[Line]:
    """Lines in service the member may see whose number, alias or cost centre contains ``text``."""
    digits = "".join(ch for ch in text if ch.isdigit() and ch.isascii())
    like = f"%{text.lower()}%"
    matches = [func.lower(Line.alias).like(like), func.lower(Line.cost_centre).like(like)]
    if digits:
        matches.append(Line.number.like(f"%{digits}%"))
    query = visible_lines(tenant.membership).where(Line.status != "cancelled", or_(*matches))
    return list(session.scalars(query.order_by(Line.number).limit(limit)))


def compatible_tariffs(session: Session, line: Line) -> list[Tariff]:
    """The catalogue's tariffs a line can move to: its own tariff's family, its own tariff left out."""
    family = select(Tariff.family).where(Tariff.id == line.tariff_id).scalar_subquery()
    return list(
        session.scalars(
            select(Tariff)
            .where(Tariff.family == family, Tariff.id != line.tariff_id)
            .order_by(Tariff.monthly_fee_eur, Tariff.name)
        )
    )


def next_cycle_start(line: Line, on: date | None = None) -> date:
    """The first day of the line's next billing cycle (its account's cycle day, Madrid time): a tariff change
    takes effect then."""
    on = on or today()
    day = line.billing_account.cycle_day
    if on.day < day:
        return on.replace(day=day)
    year, month = (on.year + 1, 1) if on.month == 12 else (on.year, on.month + 1)
    return date(year, month, day)


def order_payload(session: Session, kind: str, payload: dict, line: Line | None) -> dict:
    """What an order of ``kind`` records beside the form's own values: for a tariff change, the new and the
    current tariff's names and fees and the day it takes effect (shown before confirming, kept as asked); for
    a bundle, its name and fee."""
    if kind == "bundle" and line is not None:
        return bundle_payload(session, payload)
    if kind != "tariff_change" or line is None:
        return payload
    tariff = session.get(Tariff, payload["tariff_id"])
    return payload | {
        "tariff_name": tariff.name,
        "monthly_fee": str(tariff.monthly_fee_eur),
        "previous_tariff_name": line.tariff.name,
        "previous_monthly_fee": str(line.tariff.monthly_fee_eur),
        "effective_from": next_cycle_start(line).isoformat(),
    }


def _order_query(tenant: Tenant):
    """The company's orders the member may see: all of them, or (a member limited to some lines) those they
    asked for and those about a line they see."""
    query = select(Order)
    if tenant.membership.limited:
        seen = visible_lines(tenant.membership, load_related=False).with_only_columns(Line.id)
        about_seen = exists().where(OrderLine.order_id == Order.id, OrderLine.line_id.in_(seen))
        query = query.where(or_(Order.requester_id == tenant.membership.user_id, about_seen))
    return query


def company_orders(
    session: Session, tenant: Tenant, *, after: str | None = None, before: str | None = None
) -> KeysetPage:
    """The orders the member may see, newest first, a keyset page at a time."""
    query = _order_query(tenant).options(selectinload(Order.lines).selectinload(OrderLine.line))
    return keyset_page(
        session, query, (Order.created_at, Order.id), descending=True, after=after, before=before
    )


def find_order(session: Session, tenant: Tenant, order_id: int) -> Order | None:
    """One of the company's orders that the member may see, or None (404)."""
    return session.scalar(_order_query(tenant).where(Order.id == order_id))


@dataclass(frozen=True)
class Request:
    """What a customer's form asks for."""

    kind: str
    line: Line | None
    payload: dict[str, Any]
    customer_reference: str | None
    idempotency_key: str


def submit_order(session: Session, tenant: Tenant, user: User, request: Request) -> tuple[Order, bool]:
    """Record the order as ``submitted`` with its first event and the requester's email, and hand an
    automatic kind to the provisioning job after the commit. The same idempotency key again finds the order
    made the first time: ``(order, False)``; even two posts at once make one (the unique key decides)."""
    found = session.scalar(select(Order).where(Order.idempotency_key == request.idempotency_key))
    if found is not None:
        return found, False
    order = Order(
        tenant_id=tenant.company.id,
        kind=request.kind,
        requester_id=user.id,
        customer_reference=request.customer_reference,
        payload=request.payload,
        idempotency_key=request.idempotency_key,
    )
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:  # the other post of the pair won
        found = session.scalar(select(Order).where(Order.idempotency_key == request.idempotency_key))
        if found is None:
            raise
        return found, False
    if request.line is not None:
        session.add(OrderLine(tenant_id=order.tenant_id, order_id=order.id, line_id=request.line.id))
    _record(session, order, None, "submitted", actor="customer", user=user)
    if KINDS[order.kind].automatic:
        session.info.setdefault(_TO_PROVISION, []).append((order.tenant_id, order.id))
    return order, True


def move_order(
    session: Session,
    order: Order,
    event: str,
    *,
    expected: str,
    actor: str,
    user: User | None = None,
    note: str | None = None,
    visible: bool = True,
    assign: bool = False,
) -> Order:
    """Send ``event`` to an order that the mover saw in state ``expected``. One conditional UPDATE
    (``… WHERE id = :id AND state = :expected``): when it changes no row, someone else moved the order first
    and ``StaleOrder`` says its state now. ``NotAllowed``: the machine has no such move from ``expected``.
    ``assign``: the mover (an advisor taking the order) becomes its advisor."""
    target = target_of(expected, event)
    if target is None:
        raise NotAllowed(event)
    now = utcnow()
    values: dict[str, Any] = {"state": target, "state_changed_at": now, "updated_at": now}
    if assign and user is not None:
        values["assigned_to_id"] = user.id
    if target != "in_progress":
        values["sub_state"] = None
    elif assign:
        values["sub_state"] = FIRST_SUB_STATE.get(order.kind, "with_advisor")
    moved = session.scalar(
        update(Order)
        .where(Order.tenant_id == order.tenant_id, Order.id == order.id, Order.state == expected)
        .values(values)
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(order)
    if moved is None:
        raise StaleOrder(order.state)
    _record(session, order, expected, target, actor=actor, user=user, note=note, visible=visible)
    return order


def complete_order(
    session: Session,
    order: Order,
    *,
    expected: str,
    actor: str,
    user: User | None = None,
    note: str | None = None,
    adapter: ProvisioningAdapter | None = None,
) -> Order:
    """Complete an order and apply its change to the records (``provisioning``), both or neither: a
    savepoint undoes the move when the adapter raises ``ProvisioningError`` (re-raised), and the mail with
    it."""
    with session.begin_nested():
        move_order(session, order, "complete", expected=expected, actor=actor, user=user, note=note)
        (adapter or default_adapter()).apply(session, order)
    return order


def set_sub_state(session: Session, order: Order, sub_state: str, *, user: User) -> Order:
    """Move an order in progress to another sub-state (the same conditional UPDATE: it must still be in
    progress); an internal event, the customer is not emailed."""
    moved = session.scalar(
        update(Order)
        .where(Order.tenant_id == order.tenant_id, Order.id == order.id, Order.state == "in_progress")
        .values(sub_state=sub_state, updated_at=utcnow())
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(order)
    if moved is None:
        raise StaleOrder(order.state)
    session.add(
        OrderEvent(
            tenant_id=order.tenant_id,
            order_id=order.id,
            sub_state=sub_state,
            actor="advisor",
            user_id=user.id,
            visible=False,
        )
    )
    session.flush()
    return order


def add_note(session: Session, order: Order, note: str, *, actor: str, user: User, visible: bool) -> None:
    """A note on the order's timeline; one the customer may read is emailed to the requester."""
    _record(session, order, None, None, actor=actor, user=user, note=note, visible=visible)


def _record(
    session: Session,
    order: Order,
    from_state: str | None,
    to_state: str | None,
    *,
    actor: str,
    user: User | None,
    note: str | None = None,
    visible: bool = True,
) -> None:
    event = OrderEvent(
        tenant_id=order.tenant_id,
        order_id=order.id,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        user_id=user.id if user else None,
        note=note,
        visible=visible,
    )
    session.add(event)
    session.flush()
    if visible and (to_state or note):
        _notify(session, order, event)


def _notify(session: Session, order: Order, event: OrderEvent) -> None:
    requester = session.get(User, order.requester_id) if order.requester_id else None
    if requester is None:
        return
    locale = requester.locale or "es"
    kind = KINDS[order.kind].name
    if event.to_state:
        subject = _l(
            "Your order %(number)s (%(kind)s): %(state)s",
            number=order.id,
            kind=kind,
            state=STATE_NAMES[event.to_state],
        )
    elif event.sub_state in SIM_STEPS:
        subject = _l(
            "Your order %(number)s (%(kind)s): %(state)s",
            number=order.id,
            kind=kind,
            state=SIM_STEPS[event.sub_state],
        )
    else:
        subject = _l("A message about your order %(number)s (%(kind)s)", number=order.id, kind=kind)
    mail = templated_mail(
        requester.email,
        subject,
        "order_changed",
        locale=locale,
        user=requester,
        order=order,
        event=event,
        kind=kind,
        state_names=STATE_NAMES,
        carrier=carrier_name(order.payload.get("carrier")),
        tracking_url=tracking_url(order.payload),
    )
    queue_mail(session, mail)


@sa_event.listens_for(Session, "after_commit")
def _provision_after_commit(session: Session) -> None:
    pending = session.info.pop(_TO_PROVISION, [])
    if not pending:
        return
    from mgd.orders.tasks import provision_order  # noqa: PLC0415 (tasks import this module)

    for tenant_id, order_id in pending:
        try:
            provision_order.send(tenant_id, order_id)
        except Exception:
            # The order is committed and submitted: an advisor sees it in the queue and can do it by hand.
            log.exception("could not enqueue the provisioning of order %s", order_id)


@sa_event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_TO_PROVISION, None)


# --- SIM duplicates, suspensions, bundles, the PUK and attachments


def active_bundles(session: Session, line: Line, on: date | None = None) -> list[Bundle]:
    """The bundles active on a line today (started, and not ended before today)."""
    on = on or today()
    return list(
        session.scalars(
            select(Bundle)
            .join(LineBundle, LineBundle.bundle_id == Bundle.id)
            .where(
                LineBundle.tenant_id == line.tenant_id,
                LineBundle.line_id == line.id,
                LineBundle.starts_on <= on,
                or_(LineBundle.ends_on.is_(None), LineBundle.ends_on >= on),
            )
            .order_by(Bundle.name)
        )
    )


def addable_bundles(session: Session, line: Line) -> list[Bundle]:
    """The catalogue's bundles not active on the line."""
    active = {bundle.id for bundle in active_bundles(session, line)}
    return [
        b
        for b in session.scalars(select(Bundle).order_by(Bundle.monthly_fee_eur, Bundle.name))
        if b.id not in active
    ]


def bundle_payload(session: Session, payload: dict) -> dict:
    bundle = session.get(Bundle, payload["bundle_id"])
    return payload | {"bundle_name": bundle.name, "monthly_fee": str(bundle.monthly_fee_eur)}


def submit_with_replacement(
    session: Session, tenant: Tenant, user: User, request: Request, replacement: dict | None
) -> tuple[Order, Order | None, bool]:
    """A suspension and, when ``replacement`` (a shipping address) is given, the SIM duplicate that replaces
    the lost card, made by one submission as two orders: the suspension is done at once by the provisioning
    job, the SIM follows its shipping steps, and activating it lifts the suspension (``restore``). The SIM's
    idempotency key is the suspension's with ``-sim``: posting the form twice makes both once."""
    order, created = submit_order(session, tenant, user, request)
    if replacement is None:
        return order, None, created
    sim, _created = submit_order(
        session,
        tenant,
        user,
        Request(
            "sim_duplicate",
            request.line,
            replacement | {"restore": True, "suspension_order": order.id},
            request.customer_reference,
            request.idempotency_key[:60] + "-sim",
        ),
    )
    return order, sim, created


def sim_step(
    session: Session,
    order: Order,
    step: str,
    *,
    user: User,
    carrier: str | None = None,
    tracking: str | None = None,
) -> Order:
    """Move a SIM duplicate in progress to its next step (``SIM_STEPS``): ``shipped`` from ``preparing``
    (with the carrier and tracking number, kept in the payload and shown to the customer), ``delivered`` from
    ``shipped``. One conditional UPDATE on the kind, state and sub-state: a step already made, or made by
    someone else meanwhile, is ``StaleOrder``. The customer reads the step and is emailed."""
    values: dict[str, Any] = {"sub_state": step, "updated_at": utcnow()}
    if step == "shipped":
        values["payload"] = order.payload | {"carrier": carrier, "tracking": tracking}
    moved = session.scalar(
        update(Order)
        .where(
            Order.tenant_id == order.tenant_id,
            Order.id == order.id,
            Order.kind == "sim_duplicate",
            Order.state == "in_progress",
            Order.sub_state == SIM_STEP_FROM[step],
        )
        .values(values)
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(order)
    if moved is None:
        raise StaleOrder(order.state)
    event = OrderEvent(
        tenant_id=order.tenant_id,
        order_id=order.id,
        sub_state=step,
        actor="advisor",
        user_id=user.id,
        visible=True,
    )
    session.add(event)
    session.flush()
    _notify(session, order, event)
    return order


def activate_sim(session: Session, order: Order, iccid: str, *, user: User, note: str | None = None) -> Order:
    """Complete a delivered SIM duplicate: the new ICCID goes into its payload and, through the provisioning
    adapter, onto the line (and a line suspended for the lost card is restored when it was ordered with the
    suspension). Only from the ``delivered`` step (the same conditional UPDATE), both or neither."""
    with session.begin_nested():
        moved = session.scalar(
            update(Order)
            .where(
                Order.tenant_id == order.tenant_id,
                Order.id == order.id,
                Order.kind == "sim_duplicate",
                Order.state == "in_progress",
                Order.sub_state == "delivered",
            )
            .values(payload=order.payload | {"iccid": iccid}, updated_at=utcnow())
            .returning(Order.id)
            .execution_options(synchronize_session=False)
        )
        session.refresh(order)
        if moved is None:
            raise StaleOrder(order.state)
        complete_order(session, order, expected="in_progress", actor="advisor", user=user, note=note)
    return order


def reveal_puk(session: Session, tenant: Tenant, user: User, line: Line, origin: Origin) -> str | None:
    """A line's PUK, for a member who has just confirmed their password; who saw which line's PUK is kept in
    the security audit trail (never the PUK itself)."""
    record_event(
        session,
        "line.puk_viewed",
        origin,
        user_id=user.id,
        tenant_id=tenant.company.id,
        line=line.number,
        found=line.puk is not None,
    )
    return line.puk


#: The most files one order may have.
MAX_ATTACHMENTS = 5
ATTACHMENT_AREA = "orders"


class TooManyAttachments(Exception):
    pass


def attach_file(session: Session, order: Order, stored: attachments.Stored, *, user: User) -> OrderAttachment:
    """Record a stored file on an order. The order's row is locked first, so two uploads at once count one
    after the other: never more than ``MAX_ATTACHMENTS`` (``TooManyAttachments``; the caller removes the
    bytes)."""
    session.scalar(
        select(Order.id).where(Order.tenant_id == order.tenant_id, Order.id == order.id).with_for_update()
    )
    count = session.scalar(
        select(func.count()).where(
            OrderAttachment.tenant_id == order.tenant_id, OrderAttachment.order_id == order.id
        )
    )
    if count >= MAX_ATTACHMENTS:
        raise TooManyAttachments
    row = OrderAttachment(
        tenant_id=order.tenant_id,
        order_id=order.id,
        filename=stored.filename,
        content_type=stored.content_type,
        size=stored.size,
        storage_key=stored.key,
        uploaded_by_id=user.id,
    )
    session.add(row)
    session.flush()
    _record(
        session,
        order,
        None,
        None,
        actor="customer",
        user=user,
        note=str(_l("Attached the file %(name)s.", name=stored.filename)),
        visible=False,
    )
    return row


def order_attachments(session: Session, order: Order) -> list[OrderAttachment]:
    return list(
        session.scalars(
            select(OrderAttachment)
            .where(OrderAttachment.tenant_id == order.tenant_id, OrderAttachment.order_id == order.id)
            .order_by(OrderAttachment.id)
        )
    )


def find_attachment(session: Session, order: Order, attachment_id: int) -> OrderAttachment | None:
    return session.scalar(
        select(OrderAttachment).where(
            OrderAttachment.tenant_id == order.tenant_id,
            OrderAttachment.order_id == order.id,
            OrderAttachment.id == attachment_id,
        )
    )


def yesterday(on: date | None = None) -> date:
    return (on or today()) - timedelta(days=1)

"""Orders from the customer's side and the moves every side shares.

Guarantees: a form posted twice makes one order (its idempotency key is unique per company); an order's state
moves only by one conditional UPDATE on the state the mover saw, so of two movers one wins and the other gets
``StaleOrder``; every move and note is an event of the order's timeline, and each move (and each note the
customer may read) queues an email to the requester in their language, in the same transaction.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event as sa_event
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mgd import attachments
from mgd.db import utcnow
from mgd.identifiers import InvalidIdentifier, normalize_phone
from mgd.notify.senders import in_language, templated_mail
from mgd.notify.services import queue_mail, queue_sms
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
from mgd.orders.models import Order, OrderAttachment, OrderEvent, OrderLine, OrderSurvey
from mgd.orders.provisioning import ProvisioningAdapter, default_adapter
from mgd.orders.words import money
from mgd.security.audit import Origin, record_event
from mgd.security.models import User
from mgd.tenants.context import PERMISSIONS, Tenant
from mgd.tenants.models import Company, Line, Membership, Tariff
from mgd.tenants.services import visible_lines
from mgd.usage.models import Bundle, LineBundle
from mgd.web.links import external_url
from mgd.web.paging import KeysetPage, keyset_page
from mgd.web.uploads import csv_rows, folded

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


class OwnOrder(Exception):
    """The requester of an order awaiting approval tried to approve (or decline) it: another administrator
    must."""


class TooManyLines(ValueError):
    """More lines than one order may concern (``MAX_LINES``)."""


#: The most lines one order (a bulk change) may concern.
MAX_LINES = 500
#: The kinds an order of several lines (a bulk change) can be.
BULK_KINDS = ("tariff_change", "premium_block", "roaming", "voicemail_reset")
#: How a header of a list of numbers may name its column (in either language).
NUMBER_COLUMNS = {"number": ("numero", "linea", "line", "phone", "telefono", "movil", "mobile")}


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
    """What a customer's form asks for: one line (``line``), or several (``lines``, a bulk change)."""

    kind: str
    line: Line | None
    payload: dict[str, Any]
    customer_reference: str | None
    idempotency_key: str
    lines: tuple[Line, ...] = ()

    @property
    def all_lines(self) -> list[Line]:
        return list(self.lines) or ([self.line] if self.line is not None else [])


def monthly_cost(kind: str, payload: dict, lines: int) -> Decimal:
    """What an order adds to the company's monthly bill: the monthly fee it sets up (a tariff's, or any kind
    whose payload names a ``monthly_fee``) times its lines; nothing for the others."""
    fee = payload.get("monthly_fee")
    return (Decimal(str(fee)) * max(lines, 1)).quantize(Decimal("0.01")) if fee else Decimal("0.00")


def needs_approval(company: Company, cost: Decimal) -> bool:
    """Whether an order of this monthly cost waits for another administrator (the company's threshold)."""
    threshold = company.order_approval_threshold_eur
    return threshold is not None and cost > threshold


def submit_order(
    session: Session, tenant: Tenant, user: User, request: Request, *, origin: Origin | None = None
) -> tuple[Order, bool]:
    """A member's order: ``place_order`` for the member's company."""
    return place_order(session, tenant.company, user, request, origin=origin)


def place_order(
    session: Session,
    company: Company,
    user: User | None,
    request: Request,
    *,
    origin: Origin | None = None,
    actor: str = "customer",
) -> tuple[Order, bool]:
    """Record the order as ``submitted`` with its first event, the requester's notice and the audit event,
    and hand an automatic kind to the provisioning job after the commit. An order above the company's
    approval threshold is then held (``awaiting_approval``) and the company's other administrators are told.
    The same idempotency key again finds the order made the first time: ``(order, False)``; even two posts
    at once make one (the unique key decides). ``user`` None: the system orders (a spend cap)."""
    found = session.scalar(select(Order).where(Order.idempotency_key == request.idempotency_key))
    if found is not None:
        return found, False
    lines = request.all_lines
    if len(lines) > MAX_LINES:
        raise TooManyLines(len(lines))
    cost = monthly_cost(request.kind, request.payload, len(lines))
    order = Order(
        tenant_id=company.id,
        kind=request.kind,
        requester_id=user.id if user else None,
        customer_reference=request.customer_reference,
        payload=request.payload,
        idempotency_key=request.idempotency_key,
        monthly_cost_eur=cost,
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
    session.add_all(
        OrderLine(tenant_id=order.tenant_id, order_id=order.id, line_id=line.id)
        for line in {line.id: line for line in lines}.values()
    )
    held = user is not None and needs_approval(company, cost)
    _record(session, order, None, "submitted", actor=actor, user=user, notify=not held)
    record_event(
        session,
        "order.placed",
        origin or Origin(),
        user_id=user.id if user else None,
        tenant_id=company.id,
        order=order.id,
        lines=len(lines),
    )
    if held:
        move_order(session, order, "hold", expected="submitted", actor="system")
        _ask_for_approval(session, order, company)
    elif KINDS[order.kind].automatic:
        session.info.setdefault(_TO_PROVISION, []).append((order.tenant_id, order.id))
    return order, True


def decide_approval(
    session: Session,
    order: Order,
    approved: bool,
    *,
    user: User,
    note: str | None = None,
    origin: Origin | None = None,
) -> Order:
    """Another administrator approves (→ submitted: the operator's queue, the provisioning job for an
    automatic kind) or declines (→ rejected, ``note`` the reason) an order awaiting approval. The database
    decides: one conditional UPDATE on ``awaiting_approval`` and a requester other than ``user``.
    ``OwnOrder``: ``user`` asked for it; ``StaleOrder``: someone decided it (or it was cancelled) first."""
    event = "approve" if approved else "decline"
    try:
        move_order(
            session,
            order,
            event,
            expected="awaiting_approval",
            actor="customer",
            user=user,
            note=note,
            not_requester=True,
        )
    except StaleOrder as stale:
        if stale.state == "awaiting_approval":
            raise OwnOrder from None
        raise
    detail = {"user_id": user.id, "tenant_id": order.tenant_id, "order": order.id}
    if approved:
        record_event(session, "order.approved", origin or Origin(), **detail)
    else:
        record_event(session, "order.declined", origin or Origin(), **detail)
    if approved and KINDS[order.kind].automatic:
        session.info.setdefault(_TO_PROVISION, []).append((order.tenant_id, order.id))
    return order


def cancel_order(session: Session, order: Order, *, user: User, origin: Origin | None = None) -> Order:
    """The customer cancels an order nobody has taken (submitted, or still awaiting approval); audited."""
    expected = order.state if order.state in ("submitted", "awaiting_approval") else "submitted"
    move_order(session, order, "cancel", expected=expected, actor="customer", user=user)
    record_event(
        session,
        "order.cancelled",
        origin or Origin(),
        user_id=user.id,
        tenant_id=order.tenant_id,
        order=order.id,
    )
    return order


def approvers(session: Session, company_id: int, order: Order) -> list[User]:
    """The company's active administrators other than the requester: those who may approve ``order``."""
    roles = [role for role in PERMISSIONS["approve_orders"]]
    query = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.tenant_id == company_id,
            Membership.role.in_(roles),
            Membership.is_active.is_(True),
            User.is_active.is_(True),
        )
        .order_by(User.id)
    )
    if order.requester_id is not None:
        query = query.where(User.id != order.requester_id)
    return list(session.scalars(query))


def _ask_for_approval(session: Session, order: Order, company: Company) -> None:
    kind = KINDS[order.kind].name
    for admin in approvers(session, company.id, order):
        locale = admin.locale or "es"
        with in_language(locale):
            cost, threshold = (
                money(order.monthly_cost_eur or 0),
                money(company.order_approval_threshold_eur or 0),
            )
        mail = templated_mail(
            admin.email,
            _l("Order %(number)s (%(kind)s) awaits your approval", number=order.id, kind=kind),
            "order_approval",
            locale=locale,
            user=admin,
            order=order,
            kind=kind,
            company=company,
            cost=cost,
            threshold=threshold,
        )
        queue_mail(session, mail)


def set_approval_threshold(
    session: Session, tenant: Tenant, threshold: Decimal | None, *, user: User, origin: Origin | None = None
) -> None:
    """The monthly cost above which the company's orders wait for another administrator (None: none wait)."""
    company = tenant.company
    previous = company.order_approval_threshold_eur
    company.order_approval_threshold_eur = threshold
    session.flush()
    record_event(
        session,
        "order.approval_threshold",
        origin or Origin(),
        user_id=user.id,
        tenant_id=company.id,
        previous=None if previous is None else str(previous),
        threshold=None if threshold is None else str(threshold),
    )


def pending_approval(session: Session, tenant: Tenant) -> int:
    """How many of the orders the member sees await approval (the list says it to administrators)."""
    query = _order_query(tenant).where(Order.state == "awaiting_approval")
    return session.scalar(query.with_only_columns(func.count(Order.id))) or 0


@dataclass
class LineRow:
    """A row of a list of numbers for an order of several lines, with the problems that would stop it."""

    line: int  # the row's line in the list (or file)
    number: str
    problems: list[str] = field(default_factory=list)
    found: Line | None = None


def read_line_list(session: Session, tenant: Tenant, kind: str, payload: dict, text: str) -> list[LineRow]:
    """The rows of a list of numbers (one a line, or a CSV whose first or ``number`` column holds them),
    each with the problems that would stop the order: not a number, not a line the member may order for,
    cancelled, repeated, or (a tariff change) a tariff of another family or the line's own. Nothing is
    written. ``TooManyLines`` over ``MAX_LINES`` rows; ValueError for an unusable list."""
    rows = [LineRow(line, number) for line, number in _numbers_of(text)]
    if len(rows) > MAX_LINES:
        raise TooManyLines(len(rows))
    if not rows:
        raise ValueError(_("The list has no numbers."))
    for row in rows:
        try:
            row.number = normalize_phone(row.number).e164
        except InvalidIdentifier:
            row.problems.append(_("The number is not a phone number."))
    numbers = [row.number for row in rows if not row.problems]
    found = {
        line.number: line
        for line in session.scalars(visible_lines(tenant.membership).where(Line.number.in_(numbers)))
    }
    tariff = session.get(Tariff, payload["tariff_id"]) if kind == "tariff_change" else None
    seen: set[str] = set()
    for row in rows:
        if row.problems:
            continue
        row.found = found.get(row.number)
        problem = _line_problem(row.found, tariff)
        if problem:
            row.problems.append(problem)
        if row.number in seen:
            row.problems.append(_("This number is repeated in the list."))
        seen.add(row.number)
    return rows


def _numbers_of(text: str) -> list[tuple[int, str]]:
    """The numbers of a list, with the line each is on: the first column, or the one a header row names
    (``NUMBER_COLUMNS``, either language; its other columns are left aside). Empty rows are skipped."""
    names = {folded(name) for spellings in NUMBER_COLUMNS.items() for name in (spellings[0], *spellings[1])}
    column: int | None = None
    numbers = []
    for line, values in csv_rows(text):
        cells = [value.strip() for value in values]
        if not any(cells):
            continue
        if column is None:
            named = [index for index, cell in enumerate(cells) if folded(cell) in names]
            column = named[0] if named else 0
            if named:
                continue
        if column < len(cells) and cells[column]:
            numbers.append((line, cells[column]))
    return numbers


def _line_problem(line: Line | None, tariff: Tariff | None) -> str | None:
    if line is None:
        return _("This number is not one of the lines you may order for.")
    if line.status == "cancelled":
        return _("The line is cancelled.")
    if tariff is not None and line.tariff_id == tariff.id:
        return _("The line already has this tariff.")
    if tariff is not None and line.tariff.family != tariff.family:
        return _("The tariff %(tariff)s is not of this line's family of tariffs.", tariff=tariff.name)
    return None


def bulk_payload(session: Session, kind: str, payload: dict) -> dict:
    """What an order of several lines records beside the form's values: for a tariff change, the tariff's
    name and fee (each line's change takes effect at the start of its own next billing cycle)."""
    if kind != "tariff_change":
        return payload
    tariff = session.get(Tariff, payload["tariff_id"])
    return payload | {
        "tariff_name": tariff.name,
        "monthly_fee": str(tariff.monthly_fee_eur),
        "effective": "next_cycle",
    }


def all_tariffs(session: Session) -> list[Tariff]:
    """The catalogue, for a tariff change of several lines (each line is checked against its family)."""
    return list(session.scalars(select(Tariff).order_by(Tariff.family, Tariff.monthly_fee_eur, Tariff.name)))


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
    not_requester: bool = False,
) -> Order:
    """Send ``event`` to an order that the mover saw in state ``expected``. One conditional UPDATE
    (``… WHERE id = :id AND state = :expected``): when it changes no row, someone else moved the order first
    and ``StaleOrder`` says its state now. ``NotAllowed``: the machine has no such move from ``expected``.
    ``assign``: the mover (an advisor taking the order) becomes its advisor. ``not_requester``: the UPDATE
    also requires that ``user`` is not the order's requester (an approval)."""
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
    statement = update(Order).where(
        Order.tenant_id == order.tenant_id, Order.id == order.id, Order.state == expected
    )
    if not_requester:
        if user is None:
            raise NotAllowed(event)
        statement = statement.where(or_(Order.requester_id.is_(None), Order.requester_id != user.id))
    moved = session.scalar(
        statement.values(values).returning(Order.id).execution_options(synchronize_session=False)
    )
    session.refresh(order)
    if moved is None:
        raise StaleOrder(order.state)
    _record(session, order, expected, target, actor=actor, user=user, note=note, visible=visible)
    if target == "completed":
        record_event(
            session,
            "order.completed",
            Origin(),
            user_id=user.id if user else None,
            tenant_id=order.tenant_id,
            order=order.id,
        )
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
    notify: bool = True,
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
    if notify and visible and (to_state or note):
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
        survey_url=_survey_url(session, order) if event.to_state == "completed" else None,
    )
    queue_mail(session, mail)
    if requester.order_sms and requester.mobile:
        with in_language(locale):
            if event.to_state:
                sms = _(
                    "MGD: your order %(number)s (%(kind)s) is now %(state)s.",
                    number=order.id,
                    kind=kind,
                    state=STATE_NAMES[event.to_state],
                )
            else:
                sms = _(
                    "MGD: a new message about your order %(number)s (%(kind)s).", number=order.id, kind=kind
                )
        queue_sms(session, requester.mobile, sms)


def _survey_url(session: Session, order: Order) -> str | None:
    """The address of the completed order's survey, for its email (None in development without
    ``MGD_PUBLIC_URL`` outside a request: there is no address to give)."""
    if not (current_app.config["PUBLIC_URL"] or has_request_context()):
        return None
    company = session.get(Company, order.tenant_id)
    return external_url("orders.detail", ref=company.public_ref, order_id=order.id) + "#survey"


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
    session: Session,
    tenant: Tenant,
    user: User,
    request: Request,
    replacement: dict | None,
    *,
    origin: Origin | None = None,
) -> tuple[Order, Order | None, bool]:
    """A suspension and, when ``replacement`` (a shipping address) is given, the SIM duplicate that replaces
    the lost card, made by one submission as two orders: the suspension is done at once by the provisioning
    job, the SIM follows its shipping steps, and activating it lifts the suspension (``restore``). The SIM's
    idempotency key is the suspension's with ``-sim``: posting the form twice makes both once."""
    order, created = submit_order(session, tenant, user, request, origin=origin)
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
        origin=origin,
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


# ---- the survey after a completed order ----------------------------------------------------------------


def may_rate(order: Order, tenant: Tenant) -> bool:
    """Who is asked about a completed order: its requester, or one of the company's administrators."""
    return order.requester_id == tenant.membership.user_id or tenant.membership.role == "admin"


def completed_by(session: Session, order: Order) -> int | None:
    """The back-office user who completed the order (the completing event's advisor), else the advisor who
    had it; None for an order the provisioning job did on its own."""
    advisor = session.scalar(
        select(OrderEvent.user_id)
        .where(
            OrderEvent.tenant_id == order.tenant_id,
            OrderEvent.order_id == order.id,
            OrderEvent.to_state == "completed",
            OrderEvent.actor == "advisor",
        )
        .order_by(OrderEvent.id.desc())
        .limit(1)
    )
    return advisor or order.assigned_to_id


def submit_survey(session: Session, order: Order, score: int, comment: str | None) -> bool:
    """The rating of a completed order; False when it was already rated (the unique key decides, even for
    two posts at once). The caller checks that the order is completed and who rates it."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(OrderSurvey)
        .values(
            tenant_id=order.tenant_id,
            order_id=order.id,
            advisor_id=completed_by(session, order),
            score=score,
            comment=(comment or "").strip()[:1000] or None,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "order_id"])
        .returning(OrderSurvey.id)
    )
    return session.execute(statement).scalar() is not None


def survey_of(session: Session, order: Order) -> OrderSurvey | None:
    return session.scalar(
        select(OrderSurvey).where(OrderSurvey.tenant_id == order.tenant_id, OrderSurvey.order_id == order.id)
    )


def yesterday(on: date | None = None) -> date:
    return (on or today()) - timedelta(days=1)

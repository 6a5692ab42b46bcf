"""The back office's order pages: the queue (per kind and state, with SLA clocks) and one order, where an
advisor takes it, moves it, writes a note (for the customer or internal), completes it (the change applied to
the records in the same transaction) or rejects it with a reason. Two advisors acting on the same order: the
first wins, the second is told what happened (409)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from mgd import attachments
from mgd.backoffice import orders as queue
from mgd.backoffice.access import staff_required
from mgd.db import get_session
from mgd.orders import services
from mgd.orders.forms import (
    ActivateForm,
    CompleteForm,
    NoteForm,
    RejectForm,
    ShipForm,
    StaffForm,
    SubStateForm,
)
from mgd.orders.kinds import KINDS, STATE_NAMES
from mgd.orders.models import Order
from mgd.orders.provisioning import ProvisioningError
from mgd.orders.words import template_words

bp = Blueprint("backoffice_orders", __name__, url_prefix="/backoffice/pedidos")
ACTIONS = "any(take, move, note, complete, reject, ship, deliver, activate)"


@bp.context_processor
def _words() -> dict:
    return template_words() | {"clock": queue.clock}


@bp.get("")
@staff_required
def index() -> tuple[str, int]:
    kind = request.args.get("kind") or None
    state = request.args.get("state") or "submitted"
    if (kind is not None and kind not in KINDS) or state not in STATE_NAMES:
        abort(404)
    page = queue.order_queue(
        get_session(), kind, state, after=request.args.get("after"), before=request.args.get("before")
    )
    args = {"state": state} | ({"kind": kind} if kind else {})
    return render_template("backoffice/orders.html", page=page, kind=kind, state=state, args=args), 200


def _forms(order: Order, *, fresh: bool = False) -> dict:
    """The order page's forms, each carrying the state the advisor sees (``fresh``: the order's state now,
    not the one posted)."""
    forms = {
        "note_form": NoteForm(prefix="note"),
        "complete_form": CompleteForm(prefix="complete"),
        "reject_form": RejectForm(prefix="reject"),
        "move_form": SubStateForm(prefix="move"),
        "take_form": StaffForm(prefix="take"),
        "ship_form": ShipForm(prefix="ship"),
        "deliver_form": StaffForm(prefix="deliver"),
        "activate_form": ActivateForm(prefix="activate"),
    }
    for form in forms.values():
        if fresh or not form.expected.data:
            form.expected.data = order.state
    return forms


@bp.get("/<int:order_id>")
@staff_required
def detail(order_id: int) -> str:
    order = queue.staff_order(get_session(), order_id)
    if order is None:
        abort(404)
    return _page(order, **_forms(order, fresh=True))


def _page(order: Order, **context) -> str:
    files = services.order_attachments(get_session(), order)
    return render_template("backoffice/order.html", order=order, files=files, **context)


@bp.get("/<int:order_id>/adjuntos/<int:attachment_id>")
@staff_required
def attachment(order_id: int, attachment_id: int) -> Response:
    order = queue.staff_order(get_session(), order_id)
    found = services.find_attachment(get_session(), order, attachment_id) if order else None
    if found is None:
        abort(404)
    return attachments.send(
        services.ATTACHMENT_AREA,
        order.tenant_id,
        found.storage_key,
        content_type=found.content_type,
        filename=found.filename,
    )


SIM_ACTIONS = ("ship", "deliver", "activate")


def _act(db, order: Order, action: str, form) -> None:
    """Do one action of the order page (its form validated)."""
    expected = form.expected.data or order.state
    note = (getattr(form, "note", None) and (form.note.data or "").strip()) or None
    if action == "take":
        services.move_order(
            db, order, "take", expected=expected, actor="advisor", user=current_user, assign=True
        )
    elif action == "note":
        services.add_note(db, order, note, actor="advisor", user=current_user, visible=form.visible.data)
    elif action == "ship":
        services.sim_step(
            db, order, "shipped", user=current_user, carrier=form.carrier.data, tracking=form.tracking.data
        )
    elif action == "deliver":
        services.sim_step(db, order, "delivered", user=current_user)
    elif action == "activate":
        services.activate_sim(db, order, form.iccid.data, user=current_user, note=note)
    elif action == "move":
        services.set_sub_state(db, order, form.sub_state.data, user=current_user)
    elif action == "complete":
        services.complete_order(db, order, expected=expected, actor="advisor", user=current_user, note=note)
    else:
        services.move_order(
            db,
            order,
            "reject",
            expected=expected,
            actor="advisor",
            user=current_user,
            note=form.reason.data.strip(),
        )


@bp.post("/<int:order_id>/<" + ACTIONS + ":action>")
@staff_required
def act(order_id: int, action: str) -> Response | tuple[str, int]:
    db = get_session()
    order = queue.staff_order(db, order_id)
    if order is None:
        abort(404)
    forms = _forms(order)
    form = forms[f"{action}_form"]
    if not form.validate_on_submit():
        return _page(order, **forms), 422
    if (action in SIM_ACTIONS) != (order.kind == "sim_duplicate") and action in (
        *SIM_ACTIONS,
        "complete",
        "move",
    ):
        message = _("A SIM duplicate is shipped, delivered and activated; other orders are completed.")
        return _page(order, message=message, **_forms(order, fresh=True)), 409
    try:
        _act(db, order, action, form)
    except services.StaleOrder as stale:
        message = _(
            "Someone else changed this order meanwhile: it is now %(state)s. Nothing was done; check it "
            "and try again.",
            state=STATE_NAMES[stale.state],
        )
        return _page(order, message=message, **_forms(order, fresh=True)), 409
    except services.NotAllowed:
        message = _("An order that is %(state)s cannot be moved that way.", state=STATE_NAMES[order.state])
        return _page(order, message=message, **_forms(order, fresh=True)), 409
    except ProvisioningError as error:
        db.refresh(order)
        message = _("The change could not be applied to the records: %(error)s", error=str(error))
        return _page(order, message=message, **_forms(order, fresh=True)), 409
    flash(_("Order %(number)s updated.", number=order.id), "success")
    return redirect(url_for("backoffice_orders.detail", order_id=order.id))

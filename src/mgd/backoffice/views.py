"""Back-office pages, for operator staff only (everyone else gets a 404)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

from mgd.backoffice import services
from mgd.backoffice.access import staff_required
from mgd.db import get_session
from mgd.registration.models import REQUEST_STATUSES
from mgd.security import activity as audit
from mgd.security.audit import Origin
from mgd.tenants.context import ROLE_NAMES
from mgd.web.exports import csv_response, own_session
from mgd.web.forms import Form
from mgd.web.paging import page_number

bp = Blueprint("backoffice", __name__, url_prefix="/backoffice")


class ApproveForm(Form):
    confirm = BooleanField(
        _l("I have checked the requester's details with the company"),
        [DataRequired(_l("Confirm that you have checked the details."))],
    )


class RejectForm(Form):
    reason = TextAreaField(
        _l("Reason, sent to the requester"), [DataRequired(_l("Give the reason.")), Length(max=1000)]
    )


@bp.get("")
@staff_required
def queue() -> str:
    status = request.args.get("status", "pending")
    if status not in (*REQUEST_STATUSES, "all"):
        abort(404)
    page = services.request_queue(
        get_session(), None if status == "all" else status, page_number(request.args)
    )
    return render_template(
        "backoffice/queue.html", page=page, status=status, statuses=(*REQUEST_STATUSES, "all")
    )


@bp.route("/requests/<reference>", methods=["GET", "POST"])
@staff_required
def request_detail(reference: str) -> Response | str:
    db = get_session()
    access = services.request_by_reference(db, reference)
    if access is None:
        abort(404)
    approve, reject = ApproveForm(prefix="approve"), RejectForm(prefix="reject")
    message, status = None, 200
    action = request.form.get("action")
    form = approve if action == "approve" else reject if action == "reject" else None
    if form is not None and form.validate_on_submit():
        try:
            if action == "approve":
                services.approve_request(db, access, current_user, Origin.of_request())
            else:
                services.reject_request(
                    db, access, current_user, reject.reason.data.strip(), Origin.of_request()
                )
        except services.DecisionRefused as error:
            db.refresh(access)  # as a parallel decision left it
            message = {
                "already_decided": _("This request has already been decided."),
                "unknown_company": _(
                    "The operator's records have no company with this fiscal ID: it cannot be "
                    "approved until the company is imported."
                ),
            }[error.reason]
            status = 409
        else:
            return redirect(url_for("backoffice.request_detail", reference=reference))
    elif form is not None:
        status = 422
    return render_template(
        "backoffice/request.html",
        access=access,
        approve=approve,
        reject=reject,
        message=message,
        role_names=ROLE_NAMES,
    ), status


@bp.get("/registrations")
@staff_required
def follow_ups() -> str:
    return render_template(
        "backoffice/follow_ups.html", page=services.follow_ups(get_session(), page_number(request.args))
    )


@bp.get("/activity")
@staff_required
def activity() -> tuple[str, int]:
    filters, problems = audit.audit_filters(request.args)
    page = audit.all_events(get_session(), filters, page_number(request.args))
    return render_template(
        "backoffice/activity.html",
        page=page,
        filters=filters,
        problems=problems,
        args=audit.filter_args(filters),
    ), 422 if problems else 200


@bp.get("/activity/export.csv")
@staff_required
def activity_export() -> Response:
    filters = audit.export_filters(request.args)

    def rows():
        with own_session(None) as session:
            yield from audit.export_events(session, None, filters)

    return csv_response("activity.csv", audit.EXPORT_HEADER, rows())

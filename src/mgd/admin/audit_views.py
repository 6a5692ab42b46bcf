"""The company's activity log for its admins: filter by person, action and dates; export as CSV."""

from __future__ import annotations

from flask import render_template, request
from werkzeug.wrappers import Response

from mgd.db import get_session
from mgd.extensions import limiter
from mgd.security import activity
from mgd.tenants.context import current_tenant, requires, tenant_blueprint
from mgd.web.exports import csv_response, own_session

bp = tenant_blueprint("activity", __name__, "/actividad")


@bp.get("")
@requires("view_audit")
def index() -> str:
    filters, problems = activity.audit_filters(request.args)
    page = activity.company_events(
        get_session(),
        current_tenant().company.id,
        filters,
        after=request.args.get("after"),
        before=request.args.get("before"),
    )
    return render_template(
        "admin/activity.html",
        page=page,
        filters=filters,
        problems=problems,
        args=activity.filter_args(filters),
    ), 422 if problems else 200


@bp.get("/exportar.csv")
@requires("view_audit")
@limiter.limit("30 per hour")
def export() -> Response:
    company_id, filters = current_tenant().company.id, activity.export_filters(request.args)

    def rows():
        with own_session(company_id) as session:
            yield from activity.export_events(session, company_id, filters)

    return csv_response("actividad.csv", activity.EXPORT_HEADER, rows())

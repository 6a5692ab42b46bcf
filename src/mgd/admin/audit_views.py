"""The company's activity log for its admins: filter by person, action and dates; export as CSV."""

from __future__ import annotations

from datetime import date

from flask import render_template, request
from werkzeug.wrappers import Response

from mgd.admin import audit
from mgd.admin.context import current_tenant, requires, tenant_blueprint
from mgd.admin.exports import csv_response, own_session
from mgd.db import get_session
from mgd.extensions import limiter
from mgd.paging import page_number

bp = tenant_blueprint("activity", __name__, "/actividad")


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def audit_filters(args) -> audit.AuditFilters:
    """The filters of an audit page from its query string; malformed dates are ignored."""
    return audit.AuditFilters(
        person=args.get("person", "").strip()[:100],
        action=args.get("action", "").strip()[:60],
        since=_date(args.get("since")),
        until=_date(args.get("until")),
    )


def filter_args(filters: audit.AuditFilters) -> dict:
    args = {
        "person": filters.person,
        "action": filters.action,
        "since": filters.since,
        "until": filters.until,
    }
    return {name: value for name, value in args.items() if value}


@bp.get("")
@requires("view_audit")
def index() -> str:
    filters = audit_filters(request.args)
    page = audit.company_events(
        get_session(), current_tenant().company.id, filters, page_number(request.args)
    )
    return render_template("admin/activity.html", page=page, filters=filters, args=filter_args(filters))


@bp.get("/exportar.csv")
@requires("view_audit")
@limiter.limit("30 per hour")
def export() -> Response:
    company_id, filters = current_tenant().company.id, audit_filters(request.args)

    def rows():
        with own_session(company_id) as session:
            yield from audit.export_events(session, company_id, filters)

    return csv_response("actividad.csv", audit.EXPORT_HEADER, rows())

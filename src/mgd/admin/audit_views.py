"""The company's activity log for its admins: filter by person, action and dates; export as CSV."""

from __future__ import annotations

from datetime import date, timedelta

from flask import render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from mgd.admin import audit
from mgd.admin.context import current_tenant, requires, tenant_blueprint
from mgd.admin.exports import csv_response, own_session
from mgd.db import get_session
from mgd.extensions import limiter
from mgd.paging import page_number
from mgd.web import BadParameter

bp = tenant_blueprint("activity", __name__, "/actividad")


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


def _date(args, name: str, problems: dict[str, str]) -> date | None:
    value = args.get(name)
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        day = FIRST_DAY - timedelta(1)
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        problems[name] = _("This is not a date between the years 2000 and 2100.")
        return None
    return day


def audit_filters(args) -> tuple[audit.AuditFilters, dict[str, str]]:
    """The filters of an audit page from its query string, and a message for each date that is not one
    (that filter is left out)."""
    problems: dict[str, str] = {}
    filters = audit.AuditFilters(
        person=args.get("person", "").strip()[:100],
        action=args.get("action", "").strip()[:60],
        since=_date(args, "since", problems),
        until=_date(args, "until", problems),
    )
    return filters, problems


def export_filters(args) -> audit.AuditFilters:
    """The filters of an export; a date that is not one is a 400 that names it."""
    filters, problems = audit_filters(args)
    for name, message in problems.items():
        raise BadParameter(name, message)
    return filters


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
    filters, problems = audit_filters(request.args)
    page = audit.company_events(
        get_session(), current_tenant().company.id, filters, page_number(request.args)
    )
    return render_template(
        "admin/activity.html", page=page, filters=filters, problems=problems, args=filter_args(filters)
    ), 422 if problems else 200


@bp.get("/exportar.csv")
@requires("view_audit")
@limiter.limit("30 per hour")
def export() -> Response:
    company_id, filters = current_tenant().company.id, export_filters(request.args)

    def rows():
        with own_session(company_id) as session:
            yield from audit.export_events(session, company_id, filters)

    return csv_response("actividad.csv", audit.EXPORT_HEADER, rows())

"""The lines pages of a company: search, filter, sort, paginate and export; labels and assignment of one line
or many from a CSV (with a preview). Limited members see and touch only their own lines."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from mgd.db import get_session
from mgd.extensions import limiter
from mgd.identifiers import format_phone
from mgd.lines import services
from mgd.lines.forms import LineForm, LinesCsvForm
from mgd.security.audit import Origin
from mgd.tenants.context import current_tenant, requires, tenant_blueprint
from mgd.tenants.marks import mark_columns
from mgd.tenants.models import LINE_KINDS, LINE_STATUSES, PRODUCTS
from mgd.web.exports import csv_response, own_session, xlsx_response
from mgd.web.paging import whole_number
from mgd.web.uploads import checked_upload

bp = tenant_blueprint("lines", __name__, "/lineas")

#: What the pages and the exports call each kind, product and status.
KIND_NAMES = {"fixed": _l("Fixed"), "mobile": _l("Mobile")}
PRODUCT_NAMES = {"fixed": _l("Fixed"), "mobile": _l("Mobile"), "convergent": _l("Convergent")}
STATUS_NAMES = {"active": _l("Active"), "suspended": _l("Suspended"), "cancelled": _l("Cancelled")}


def _filters() -> services.LineFilters:
    args = request.args
    sort = args.get("sort", "number")
    descending = sort.startswith("-")
    return services.LineFilters(
        q=args.get("q", "").strip()[:60],
        kind=args.get("kind", "") if args.get("kind") in LINE_KINDS else "",
        product=args.get("product", "") if args.get("product") in PRODUCTS else "",
        status=args.get("status", "") if args.get("status") in LINE_STATUSES else "",
        tariff_id=whole_number(args.get("tariff"), 1, 2**63 - 1),
        sort=sort.lstrip("-") if sort.lstrip("-") in services.SORTS else "number",
        descending=descending,
    )


def _filter_args(filters: services.LineFilters) -> dict:
    args = {
        "q": filters.q,
        "kind": filters.kind,
        "product": filters.product,
        "status": filters.status,
        "tariff": filters.tariff_id or "",
        "sort": ("-" if filters.descending else "") + filters.sort,
    }
    return {name: value for name, value in args.items() if value}


@bp.get("")
@requires("view_lines")
def index() -> str:
    db, tenant, filters = get_session(), current_tenant(), _filters()
    tariffs = services.tariffs(db)  # first: the page's lines find their tariffs among these, with no query
    after, before = request.args.get("after"), request.args.get("before")
    marking = mark_columns(tenant)  # read with the page's lines: no statement of their own
    page, values = services.list_lines(
        db, tenant, filters, after=after, before=before, columns=marking.columns
    )
    return render_template(
        "admin/lines.html",
        page=page,
        marks=marking.marks(values),
        filters=filters,
        args=_filter_args(filters),
        tariffs=tariffs,
        kinds=LINE_KINDS,
        products=PRODUCTS,
        statuses=LINE_STATUSES,
        # Translated once, not once a row (each lazy text is a look-up every time it is shown).
        kind_names=_translated(KIND_NAMES),
        product_names=_translated(PRODUCT_NAMES),
        status_names=_translated(STATUS_NAMES),
    )


def _translated(names: dict) -> dict[str, str]:
    return {key: str(name) for key, name in names.items()}


EXPORT_HEADER = [
    _l("Number"),
    _l("Kind"),
    _l("Product"),
    _l("Status"),
    _l("Tariff"),
    _l("Alias"),
    _l("Cost centre"),
    _l("User email"),
]


def _export_rows(tenant, filters: services.LineFilters):
    kinds, products, statuses = ({key: str(name) for key, name in names.items()} for names in _NAMES)
    with own_session(tenant.company.id) as session:
        for number, kind, product, status, *rest in services.export_lines(session, tenant, filters):
            yield [format_phone(number), kinds[kind], products[product], statuses[status], *rest]


_NAMES = (KIND_NAMES, PRODUCT_NAMES, STATUS_NAMES)


@bp.get("/exportar.<any(csv, xlsx):extension>")
@requires("view_lines")
@limiter.limit("30 per hour")
def export(extension: str) -> Response:
    rows = _export_rows(current_tenant(), _filters())
    if extension == "csv":
        return csv_response("lineas.csv", EXPORT_HEADER, rows)
    return xlsx_response("lineas.xlsx", _("Lines"), EXPORT_HEADER, rows)


@bp.route("/<int:line_id>", methods=["GET", "POST"])
@requires("view_lines")
def line(line_id: int) -> Response | str:
    db, tenant = get_session(), current_tenant()
    found = services.find_line(db, tenant, line_id)
    if found is None:
        abort(404)
    form = LineForm(
        data={"alias": found.alias, "cost_centre": found.cost_centre, "user_id": str(found.user_id or "")}
    )
    form.user_id.choices = [SelectChoice("", _("Nobody"))] + [
        SelectChoice(str(user.id), f"{user.name} <{user.email}>")
        for user in services.assignable_users(db, tenant)
    ]
    if form.is_submitted():
        tenant.require("edit_lines")
        if form.validate():
            services.update_line(
                db,
                tenant,
                found,
                alias=(form.alias.data or "").strip() or None,
                cost_centre=(form.cost_centre.data or "").strip() or None,
                user_id=int(form.user_id.data) if form.user_id.data else None,
                actor=current_user,
                origin=Origin.of_request(),
            )
            flash(_("Line saved."), "success")
            return redirect(url_for("lines.line", line_id=line_id))
    return render_template("admin/line.html", line=found, form=form), 422 if form.errors else 200


@bp.route("/asignar", methods=["GET", "POST"])
@requires("edit_lines")
@limiter.limit("20 per hour", methods=["POST"])
def assign_csv() -> Response | str:
    """Upload shows a preview with each row's problems; the change is made only from a preview without any."""
    form, db, tenant = LinesCsvForm(), get_session(), current_tenant()
    upload = checked_upload(
        form, lambda content: services.read_assignments(db, tenant, content), limit=500_000, button="apply"
    )
    if not upload.confirmed:
        return render_template("admin/assign_csv.html", form=form, upload=upload), upload.status(form)
    rows = upload.rows
    services.apply_assignments(db, tenant, rows, actor=current_user, origin=Origin.of_request())
    flash(_("%(count)s lines updated.", count=len(rows)), "success")
    return redirect(url_for("lines.index"))

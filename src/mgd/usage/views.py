"""The consumption pages of a company under ``/empresa/<ref>/consumo``: the usage records of the company and
of one line (filters, keyset pages, totals per type, not billed apart from billed, CSV and Excel), the
allowance left in the current cycle per line and pool, and the cycle's top lines and spend by cost centre as
charts. Its card on the company's home page too.

``view_usage`` (every role) opens them; a member limited to some lines sees only those (404 for the others).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from flask import abort, current_app, g, render_template, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from mgd.db import get_session, utcnow
from mgd.extensions import limiter
from mgd.identifiers import format_phone
from mgd.tenants.context import Tenant, current_tenant, requires, tenant_blueprint
from mgd.tenants.home import add_home_card
from mgd.tenants.marks import add_line_marker
from mgd.tenants.models import Line
from mgd.tenants.services import visible_lines
from mgd.usage import allowances, charts, queries
from mgd.usage.filters import (
    DIRECTIONS,
    KINDS,
    MADRID,
    PLACES,
    UsageFilters,
    cursor_token,
    parse_cursor,
    read_filters,
)
from mgd.web.exports import csv_response, own_session, xlsx_response

bp = tenant_blueprint("usage", __name__, "/consumo")

KIND_NAMES = {
    "voice": _l("Calls"),
    "sms": _l("SMS"),
    "mms": _l("MMS"),
    "data": _l("Data"),
    "premium": _l("Premium services"),
}
DIRECTION_NAMES = {"out": _l("Made"), "in": _l("Received")}
PLACE_NAMES = {"home": _l("In Spain"), "roaming": _l("Roaming")}
STATE_NAMES = {"unbilled": _l("Not billed yet"), "billed": _l("Billed")}
ZONE_NAMES = {"eu": _l("EU roaming"), "world1": _l("Roaming zone 1"), "world2": _l("Roaming zone 2")}


def _locale() -> str:
    """The request's language, looked up once (a page formats some hundred dates and measures)."""
    if "usage_locale" not in g:
        g.usage_locale = str(get_locale() or "es")[:2]
    return g.usage_locale


def _number(value: int, places: int = 0) -> str:
    """``value`` (in units of 10**-``places``) grouped as the portal's languages write it (``12.345,6``;
    ``12,345.6`` in English), by hand as the euro amounts are (``billing.money``): Babel's patterns cost
    more than the rest of a record's row; the same text as Babel's ``#,##0`` patterns for both languages."""
    english = _locale() == "en"
    sign = "-" if value < 0 else ""
    whole, rest = divmod(abs(int(value)), 10**places)
    digits = f"{whole:,}" if english else f"{whole:,}".replace(",", ".")
    if not places:
        return sign + digits
    return f"{sign}{digits}{'.' if english else ','}{rest:0{places}d}"


def _euros(cents: int) -> str:
    return current_app.jinja_env.filters["euros"](cents)  # billing's filter: the portal's one euro format


@bp.app_template_filter("usage_phone")
@lru_cache(maxsize=16384)
def _phone(number: str) -> str:
    """A line's number as people read it, remembered: a page shows the same few lines many times."""
    return format_phone(number)


@bp.app_template_filter("usage_time")
def _when(value: datetime) -> str:
    """A record's start in Madrid, to the second, as the operator's statements write it (``23/07/2026
    12:08:55``; ISO in English): written by hand, fifty times a page, instead of Babel's patterns."""
    local = value.astimezone(MADRID)
    return f"{local:%d/%m/%Y %H:%M:%S}" if _locale() == "es" else f"{local:%Y-%m-%d %H:%M:%S}"


def _patterns() -> dict[str, str]:
    """The measures' texts in the request's language, translated once per page (a page shows fifty
    records: every ``_()`` is a look-up of the request's translations)."""
    if "usage_patterns" not in g:
        g.usage_patterns = {
            "hours": _("%(hours)s h %(minutes)02d min"),
            "minutes": _("%(minutes)s min %(seconds)02d s"),
            "GB": _("%(amount)s GB"),
            "MB": _("%(amount)s MB"),
        }
    return g.usage_patterns


@bp.app_template_filter("usage_duration")
def _duration(seconds: int) -> str:
    """``2 min 31 s``; ``1 h 02 min`` from an hour on."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return _patterns()["hours"] % {"hours": _number(hours), "minutes": minutes}
    return _patterns()["minutes"] % {"minutes": minutes, "seconds": seconds}


@bp.app_template_filter("usage_bytes")
def _bytes(count: int) -> str:
    """Megabytes below a gigabyte, else gigabytes with two decimals (decimal units, as operators count)."""
    if count >= 10**9:
        return _patterns()["GB"] % {"amount": _number(round(count / 10**7), 2)}
    return _patterns()["MB"] % {"amount": _number(round(count / 10**5), 1)}


@bp.app_template_filter("usage_minutes")
def _minutes(seconds: int) -> str:
    """Whole minutes, a started minute counted (as allowances count them)."""
    return _("%(minutes)s min", minutes=format_decimal(-(-int(seconds) // 60)))


def _measure(kind: str, duration_s: int, data: int, units: int) -> str:
    if kind == "voice":
        return _duration(duration_s)
    if kind == "data":
        return _bytes(data)
    return _number(units)


def _translated(names: dict) -> dict[str, str]:
    return {key: str(name) for key, name in names.items()}


@bp.context_processor
def _names() -> dict:
    # Translated once per page, not at every use (a page shows fifty records, each with its type's name).
    return {
        "kind_names": _translated(KIND_NAMES),
        "direction_names": _translated(DIRECTION_NAMES),
        "place_names": _translated(PLACE_NAMES),
        "state_names": _translated(STATE_NAMES),
        "zone_names": _translated(ZONE_NAMES),
        "measure": _measure,
        "data_shown": _bytes,
        "minutes_shown": _minutes,
    }


def _today() -> date:
    return utcnow().astimezone(MADRID).date()


def _home_figures(tenant: Tenant):
    """The card's sums, read with the home page's own statement (``tenants.home``)."""
    if not tenant.can("view_usage"):
        return None
    return allowances.home_summary_query(tenant.membership, _today())


def _home_card(_tenant: Tenant, row) -> Markup:
    summary = allowances.HomeSummary(*(int(value or 0) for value in row))
    return Markup(render_template("usage/_home_card.html", summary=summary))  # noqa: S704


bp.record_once(lambda state: add_home_card(state.app, _home_card, _home_figures))


def _mark_columns(tenant: Tenant) -> tuple:
    """The allowance of each line of the lines page, read with the page's lines (``tenants.marks``)."""
    return allowances.allowance_columns(_today()) if tenant.can("view_usage") else ()


def _line_marks(_tenant: Tenant, values: dict[int, tuple]) -> dict[int, Markup]:
    """The lines page's mark on its lines near or over their allowance."""
    found = (allowances.line_allowance_of(line_id, "", None, row) for line_id, row in values.items())
    return {
        item.line_id: Markup(render_template("usage/_line_mark.html", item=item))  # noqa: S704
        for item in found
        if item.near
    }


bp.record_once(lambda state: add_line_marker(state.app, _mark_columns, _line_marks))


# ---- records -----------------------------------------------------------------------------------------------


def _line_or_404(line_id: int) -> Line:
    """The line, with its tariff and billing account (its allowance and cycle), in one statement."""
    query = visible_lines(current_tenant().membership, load_related=False).options(
        joinedload(Line.tariff), joinedload(Line.billing_account)
    )
    line = get_session().scalar(query.where(Line.id == line_id))
    if line is None:
        abort(404)
    return line


def _filters(line: Line | None) -> UsageFilters:
    cycle = allowances.current_cycle(get_session(), line, _today())
    return read_filters(request.args, cycle)


def _records_page(line: Line | None) -> str:
    db, tenant = get_session(), current_tenant()
    filters = _filters(line)
    after = parse_cursor(request.args.get("after"))
    line_id = line.id if line else None
    # A line's page shows fewer records (its totals and allowance come first; the worker draws each row).
    size = queries.LINE_PAGE_SIZE if line else queries.PAGE_SIZE
    page = queries.record_page(db, tenant.membership, filters, line_id=line_id, after=after, size=size)
    # The totals are the filters', on their first page: the next pages only read their records (keyset).
    totals = queries.totals(db, tenant.membership, filters, line_id=line_id) if after is None else None
    endpoint = "usage.line" if line else "usage.index"
    route = {"line_id": line.id} if line else {}

    def link(state: str | None = None, **extra) -> str:
        """This page with the same filters (another state, a cursor)."""
        return url_for(endpoint, **route, **filters.args(state=state), **extra)

    def export_link(extension: str) -> str:
        exporting = "usage.line_export" if line else "usage.export"
        return url_for(exporting, extension=extension, **route, **filters.args())

    return render_template(
        "usage/records.html",
        line=line,
        allowance=allowances.line_allowance(db, line, _today()) if line else None,
        page=page,
        totals=totals,
        estimate=sum(
            t.billed_records if filters.state == "billed" else t.unbilled_records for t in totals or ()
        ),
        next_after=cursor_token(page.next_cursor) if page.next_cursor else None,
        first_page=after is None,
        filters=filters,
        kinds=KINDS,
        directions=DIRECTIONS,
        places=PLACES,
        action=url_for(endpoint, **route),
        line_links={
            line_id: url_for("usage.line", line_id=line_id, **filters.args())
            for line_id in {record.line_id for record, _number, _alias in page.records}
        }
        if line is None
        else {},
        link=link,
        export_link=export_link,
    )


@bp.get("")
@requires("view_usage")
def index() -> str:
    return _records_page(None)


@bp.get("/lineas/<int:line_id>")
@requires("view_usage")
def line(line_id: int) -> str:
    return _records_page(_line_or_404(line_id))


def export_header() -> list[str]:
    return [
        _("Date and time"),
        _("Line"),
        _("Type"),
        _("Direction"),
        _("Destination"),
        _("Country"),
        _("Roaming zone"),
        _("Duration (seconds)"),
        _("Data (bytes)"),
        _("Units"),
        _("Cost"),
        _("Billed"),
        _("Invoice"),
    ]


def _export_rows(tenant: Tenant, filters: UsageFilters, line_id: int | None, money):
    """The records as rows, read after the response starts on a session of their own."""
    with own_session(tenant.company.id) as db:
        for record, number in queries.export_records(db, tenant.membership, filters, line_id=line_id):
            yield [
                record.started_at,
                number,
                str(KIND_NAMES[record.kind]),
                str(DIRECTION_NAMES[record.direction]),
                record.destination,
                record.country,
                str(ZONE_NAMES[record.roaming_zone]) if record.roaming_zone else None,
                record.duration_s,
                record.bytes,
                record.units,
                money(record.cost_cents),
                _("Yes") if record.billed else _("No"),
                record.invoice_number,
            ]


def _export(line: Line | None, extension: str) -> Response:
    """The filtered records (billed and not) as Excel (real dates and euros) or CSV (the reader's format)."""
    tenant, filters = current_tenant(), _filters(line)
    number = f"{line.number.removeprefix('+')}-" if line else ""
    name = f"consumo-{number}{filters.start:%Y%m%d}-{filters.end:%Y%m%d}"
    line_id = line.id if line else None
    if extension == "xlsx":
        rows = _export_rows(tenant, filters, line_id, lambda cents: cents / 100)
        return xlsx_response(
            f"{name}.xlsx",
            _("Consumption"),
            export_header(),
            _local_times(rows),
            kinds=XLSX_KINDS,
        )
    rows = _export_rows(tenant, filters, line_id, lambda cents: Decimal(cents).scaleb(-2))
    return csv_response(f"{name}.csv", export_header(), rows)


#: The Excel columns written as numbers and times (the others as text).
XLSX_KINDS = {0: "datetime", 7: "integer", 8: "integer", 9: "integer", 10: "euro"}


def _local_times(rows):
    """Excel has no time zones: the start times as Madrid's wall clock."""
    for row in rows:
        yield [row[0].astimezone(MADRID).replace(tzinfo=None), *row[1:]]


@bp.get("/exportar.<any(csv, xlsx):extension>")
@requires("view_usage")
@limiter.limit("30 per hour")
def export(extension: str) -> Response:
    return _export(None, extension)


@bp.get("/lineas/<int:line_id>/exportar.<any(csv, xlsx):extension>")
@requires("view_usage")
@limiter.limit("60 per hour")
def line_export(line_id: int, extension: str) -> Response:
    return _export(_line_or_404(line_id), extension)


# ---- allowances and rankings -------------------------------------------------------------------------------


@bp.get("/disponible")
@requires("view_usage")
def allowances_page() -> str:
    found = allowances.allowance_page(
        get_session(),
        current_tenant().membership,
        _today(),
        after=request.args.get("after"),
        before=request.args.get("before"),
    )
    return render_template("usage/allowances.html", pools=found.pools, page=found.lines)


def _ranking_chart(chart_id: str, title: str, items: list[queries.Ranked], shown) -> Markup | None:
    if not items:
        return None
    labels = [(item.alias or item.number, item.value) for item in items]
    return charts.ranking_bars(
        chart_id,
        title,
        labels,
        shown,
        description=_("Bars, longest first; the table gives the same figures."),
    )


@bp.get("/ranking")
@requires("view_usage")
def ranking() -> str:
    db, tenant, today = get_session(), current_tenant(), _today()
    cycle = allowances.current_cycle(db, None, today)
    found = queries.cycle_rankings(db, tenant.membership, cycle, today=today)
    top, centres = found.top, found.centres
    no_centre = _("No cost centre")
    rankings = [
        ("calls", _("Top lines by calls"), _duration),
        ("data", _("Top lines by data"), _bytes),
        ("spend", _("Top lines by spend"), _euros),
    ]
    return render_template(
        "usage/ranking.html",
        cycle=cycle,
        rankings=[
            (by, title, _ranking_chart(f"chart-{by}", title, top[by], shown), top[by], shown)
            for by, title, shown in rankings
        ],
        centres=centres,
        no_centre=no_centre,
        centres_chart=charts.ranking_bars(
            "chart-centres",
            _("Usage spend by cost centre"),
            [(name or no_centre, cents) for name, cents in centres],
            _euros,
            description=_("Bars, longest first; the table gives the same figures."),
        )
        if centres
        else None,
    )

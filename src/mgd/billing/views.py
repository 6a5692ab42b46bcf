"""The billing pages of a company under ``/empresa/<ref>/facturacion``: invoices (filters, keyset pages,
detail, PDF, ZIP, resend), the account statement and its exports, spend by cost centre and line, and the
settings of each billing account (delivery, direct debit, address). Its card on the company's home page too.

``view_billing`` (admin, billing) opens the pages; ``manage_billing`` (admin) the settings. A member limited
to some lines sees only those lines' charges, and no PDF (it holds every line of the invoice).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import abort, flash, g, redirect, render_template, request, send_file, session, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from mgd.billing import charts, files, queries, services
from mgd.billing import settings as changes
from mgd.billing.forms import AddressForm, DeliveryForm, IbanForm, ResendForm
from mgd.billing.models import INVOICE_STATUSES
from mgd.billing.money import decimal_comma, euros, to_decimal
from mgd.billing.names import CONCEPTS, KINDS, METHODS, STATUSES, masked_iban
from mgd.billing.resend import resend_invoice
from mgd.db import get_session, utcnow
from mgd.extensions import limiter
from mgd.identifiers import format_iban
from mgd.notify.throttle import SendLimited
from mgd.notify.throttle import refusal_message as send_refusal
from mgd.security.audit import Origin
from mgd.security.code_entry import refuse_code
from mgd.security.codes import CodeCheck
from mgd.security.login import fresh_login_required
from mgd.tenants.addresses import PROVINCES
from mgd.tenants.context import Tenant, current_tenant, requires, tenant_blueprint
from mgd.tenants.home import add_home_card
from mgd.web.exports import csv_format, csv_response, own_session, xlsx_response
from mgd.web.forms import CodeForm
from mgd.web.paging import whole_number

bp = tenant_blueprint("billing", __name__, "/facturacion")
MAX_ZIP = 24  # invoices in one ZIP: two years of one account
IBAN_PENDING = "billing_iban"
MADRID = ZoneInfo("Europe/Madrid")


def _locale() -> str:
    """The request's language, looked up once (an invoice's page formats about a thousand amounts)."""
    if "billing_locale" not in g:
        g.billing_locale = str(get_locale() or "es")[:2]
    return g.billing_locale


@bp.app_template_filter("euros")
def _euros(cents: int) -> str:
    return euros(cents, _locale())


@bp.context_processor
def _names() -> dict:
    # Translated once per page, not at every use (a name is shown for every line of an invoice).
    return {
        name: {key: str(text) for key, text in names.items()}
        for name, names in (
            ("statuses", STATUSES),
            ("concepts", CONCEPTS),
            ("methods", METHODS),
            ("kinds", KINDS),
        )
    }


def _home_card(tenant: Tenant) -> Markup | None:
    if not tenant.can("view_billing"):
        return None
    summary = queries.home_summary(get_session(), tenant.company, payments=3)
    return Markup(render_template("billing/_home_card.html", summary=summary, **_names()))  # noqa: S704


bp.record_once(lambda state: add_home_card(state.app, _home_card))


# ---- invoices ----------------------------------------------------------------------------------------------


def _month(value: str | None, *, end: bool) -> date | None:
    """``2026-10`` as the first (or, with ``end``, the last) day of that month; None for anything else."""
    if not value or len(value) != 7 or value[4] != "-":
        return None
    year, month = whole_number(value[:4], 2000, 2100), whole_number(value[5:], 1, 12)
    if year is None or month is None:
        return None
    return date(year, month, calendar.monthrange(year, month)[1] if end else 1)


def _invoice_filters() -> services.InvoiceFilters:
    args = request.args
    return services.InvoiceFilters(
        billing_account_id=whole_number(args.get("account"), 1, 2**63 - 1),
        period_from=_month(args.get("from"), end=False),
        period_to=_month(args.get("to"), end=True),
        status=args.get("status") if args.get("status") in INVOICE_STATUSES else None,
    )


def _filter_args(filters: services.InvoiceFilters) -> dict:
    args = {
        "account": filters.billing_account_id or "",
        "from": f"{filters.period_from:%Y-%m}" if filters.period_from else "",
        "to": f"{filters.period_to:%Y-%m}" if filters.period_to else "",
        "status": filters.status or "",
    }
    return {name: value for name, value in args.items() if value}


@bp.get("/facturas")
@requires("view_billing")
def invoices() -> str:
    db, tenant, filters = get_session(), current_tenant(), _invoice_filters()
    after = services.parse_cursor(request.args.get("after"))
    page = services.list_invoices(db, tenant.company, filters, after=after)
    return render_template(
        "billing/invoices.html",
        page=page,
        next_after=services.cursor_token(page.next_cursor) if page.next_cursor else None,
        first_page=after is None,
        filters=filters,
        args=_filter_args(filters),
        accounts=services.billing_accounts(db, tenant.company),
        invoice_statuses=INVOICE_STATUSES,
        pdf=not tenant.membership.limited,
        max_zip=MAX_ZIP,
    )


def _invoice_or_404(invoice_id: int):
    found = services.find_invoice(get_session(), current_tenant().company, invoice_id)
    if found is None:
        abort(404)
    return found


def _whole_invoices_only() -> None:
    """PDFs and their emails hold every line of an invoice: not for a member limited to some lines."""
    if current_tenant().membership.limited:
        abort(403)


def _resend_form(invoice_id: int) -> ResendForm:
    db, tenant = get_session(), current_tenant()
    invoice = _invoice_or_404(invoice_id)
    account = services.find_billing_account(db, tenant.company, invoice.billing_account_id)
    form = ResendForm()
    addresses = (
        [current_user.email, *(account.einvoice_emails or "").split()] if account else [current_user.email]
    )
    form.to.choices = [SelectChoice(address, address) for address in dict.fromkeys(addresses)]
    return form


def _line_cursor(value: str | None) -> str | None:
    """A line number given as ``after`` (``+34600000000``); None for anything else (the first page)."""
    digits = (value or "").removeprefix("+")
    return value if digits.isascii() and digits.isdigit() and len(digits) <= 20 else None


@bp.get("/facturas/<int:invoice_id>")
@requires("view_billing")
def invoice(invoice_id: int) -> str:
    db, tenant = get_session(), current_tenant()
    found = _invoice_or_404(invoice_id)
    detail = services.invoice_detail(
        db, tenant.membership, found, after_line=_line_cursor(request.args.get("after"))
    )
    return render_template(
        "billing/invoice.html",
        detail=detail,
        invoice=found,
        account=services.find_billing_account(db, tenant.company, found.billing_account_id),
        pdf=not tenant.membership.limited,
        resend_form=_resend_form(invoice_id) if not tenant.membership.limited else None,
    )


@bp.get("/facturas/<int:invoice_id>/factura.pdf")
@requires("view_billing")
@limiter.limit("120 per hour")
def invoice_pdf(invoice_id: int) -> Response:
    _whole_invoices_only()
    found = _invoice_or_404(invoice_id)
    path = files.invoice_pdf(get_session(), current_tenant().company, found, _locale())
    return send_file(
        path, mimetype="application/pdf", as_attachment=True, download_name=files.pdf_name(found)
    )


@bp.get("/facturas/facturas.zip")
@requires("view_billing")
@limiter.limit("30 per hour")
def invoices_zip() -> Response:
    """The PDFs of the invoices ticked in the list (``invoice`` repeated), in one ZIP streamed as made."""
    _whole_invoices_only()
    db, tenant = get_session(), current_tenant()
    ids = [whole_number(value, 1, 2**63 - 1) for value in request.args.getlist("invoice")[: MAX_ZIP + 1]]
    if not ids or None in ids or len(ids) > MAX_ZIP:
        abort(400)
    chosen = []
    for invoice_id in dict.fromkeys(ids):
        found = _invoice_or_404(invoice_id)
        chosen.append((files.pdf_name(found), files.invoice_pdf(db, tenant.company, found, _locale())))
    return Response(
        files.zip_stream(chosen),
        mimetype="application/zip",
        headers={"Content-Disposition": 'attachment; filename="facturas.zip"'},
    )


@bp.post("/facturas/<int:invoice_id>/enviar")
@requires("view_billing")
@limiter.limit("20 per hour")
def resend(invoice_id: int) -> Response | tuple[str, int]:
    """Email the invoice (a link to its page) to the member's own address or one of the e-invoice ones."""
    _whole_invoices_only()
    db, tenant = get_session(), current_tenant()
    form = _resend_form(invoice_id)
    found = _invoice_or_404(invoice_id)
    status = 422
    if form.validate_on_submit():
        try:
            resend_invoice(
                db,
                tenant,
                found,
                form.to.data,
                actor=current_user,
                locale=_locale(),
                origin=Origin.of_request(),
            )
        except SendLimited as limited:
            form.to.errors.append(send_refusal(limited))
            status = 429
        else:
            flash(_("Invoice sent to %(email)s.", email=form.to.data), "info")
            return redirect(url_for("billing.invoice", invoice_id=invoice_id))
    detail = services.invoice_detail(db, tenant.membership, found)
    account = services.find_billing_account(db, tenant.company, found.billing_account_id)
    page = render_template(
        "billing/invoice.html", detail=detail, invoice=found, account=account, pdf=True, resend_form=form
    )
    return page, status


# ---- the account statement ---------------------------------------------------------------------------------

MAX_STATEMENT_DAYS = 366 * 5


def _day(value: str | None) -> date | None:
    """``2026-10-31`` as a date; None for anything else."""
    if not value or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value) if value.isascii() else None
    except ValueError:
        return None


def _statement_range() -> tuple[date, date, int | None]:
    """The dates asked for (the last twelve months by default; at most five years), and the account."""
    today = utcnow().astimezone(MADRID).date()
    end = _day(request.args.get("to")) or today
    start = _day(request.args.get("from")) or (end - timedelta(days=365))
    if start > end:
        start, end = end, start
    start = max(start, end - timedelta(days=MAX_STATEMENT_DAYS))
    return start, end, whole_number(request.args.get("account"), 1, 2**63 - 1)


def _statement_args(start: date, end: date, account: int | None) -> dict:
    args = {"from": start.isoformat(), "to": end.isoformat()}
    return args | ({"account": account} if account else {})


@bp.get("/extracto")
@requires("view_billing")
def statement() -> str:
    db, tenant = get_session(), current_tenant()
    start, end, account = _statement_range()
    found = services.account_statement(db, tenant.company, start, end, billing_account_id=account)
    return render_template(
        "billing/statement.html",
        statement=found,
        entries=list(found.entries),
        accounts=services.billing_accounts(db, tenant.company),
        account=account,
        args=_statement_args(start, end, account),
    )


def statement_header() -> list[str]:
    return [
        _("Date"),
        _("Type"),
        _("Document"),
        _("Billing account"),
        _("Charges"),
        _("Payments"),
        _("Balance"),
    ]


def _statement_rows(tenant: Tenant, start: date, end: date, account: int | None, *, spanish_csv: bool):
    """The statement's rows, read after the response starts on a session of their own: a date, texts and three
    amounts (a decimal-comma text for Spanish CSV, else an exact number of euros)."""
    amount = decimal_comma if spanish_csv else to_decimal
    kind = {"invoice": _("Invoice"), "payment": _("Payment")}
    with own_session(tenant.company.id) as db:
        found = services.account_statement(db, tenant.company, start, end, billing_account_id=account)
        yield [start, _("Opening balance"), "", "", None, None, amount(found.opening_cents)]
        for entry in found.entries:
            yield [
                entry.on,
                kind[entry.kind],
                entry.reference,
                entry.billing_account_ref,
                amount(entry.charge_cents) if entry.charge_cents else None,
                amount(entry.payment_cents) if entry.payment_cents else None,
                amount(entry.balance_cents),
            ]


@bp.get("/extracto.<any(csv, xlsx):extension>")
@requires("view_billing")
@limiter.limit("30 per hour")
def statement_export(extension: str) -> Response:
    """The statement as Excel (real dates and amounts in euros) or CSV (``;``, decimal comma and dd/mm/yyyy in
    Spanish; ``,``, decimal point and ISO dates in English; ``?sep=comma|semicolon`` as every CSV export)."""
    tenant = current_tenant()
    start, end, account = _statement_range()
    name = f"extracto-{start:%Y%m%d}-{end:%Y%m%d}"
    if extension == "xlsx":
        rows = _statement_rows(tenant, start, end, account, spanish_csv=False)
        kinds = {0: "date", 4: "euro", 5: "euro", 6: "euro"}
        return xlsx_response(f"{name}.xlsx", _("Account statement"), statement_header(), rows, kinds=kinds)
    spanish = _locale() == "es"
    fmt = csv_format(request.args)  # the language's separator, or ?sep= (a 400 naming it when unknown)
    rows = _statement_rows(tenant, start, end, account, spanish_csv=fmt.decimal == ",")
    shown = ([f"{row[0]:%d/%m/%Y}", *row[1:]] if spanish else [row[0].isoformat(), *row[1:]] for row in rows)
    return csv_response(f"{name}.csv", statement_header(), shown, delimiter=fmt.delimiter)


# ---- spend -------------------------------------------------------------------------------------------------


@bp.get("/gasto")
@requires("view_billing")
def spend() -> str:
    db, tenant = get_session(), current_tenant()
    series = services.spend_by_cost_centre(db, tenant.membership, periods=12)
    labels = [format_date(start, "MMM yy") for start in series.periods]
    shown = charts.top_series(
        series.series, keep=6, unnamed=_("No cost centre"), rest=_("Other cost centres")
    )
    chart = None
    if series.periods:
        chart = charts.stacked_bars(
            _("Spend by cost centre, last %(count)s invoiced periods", count=len(series.periods)),
            labels,
            shown,
            lambda cents: euros(cents, _locale()),
            description=_("Stacked bars, one per billing period; the table below gives the same figures."),
        )
    return render_template(
        "billing/spend.html",
        chart=chart,
        labels=labels,
        shown=shown,
        top=services.top_lines(db, tenant.membership, periods=12, limit=50),
    )


# ---- settings ----------------------------------------------------------------------------------------------


def _account_or_404(account_id: int):
    found = services.find_billing_account(get_session(), current_tenant().company, account_id)
    if found is None:
        abort(404)
    return found


def _settings_page(**_view_args) -> str:
    return url_for("billing.settings")


@bp.get("/ajustes")
@requires("manage_billing")
def settings() -> str:
    db, tenant = get_session(), current_tenant()
    return render_template(
        "billing/settings.html",
        accounts=services.billing_accounts(db, tenant.company),
        masked_iban=masked_iban,
    )


@bp.route("/ajustes/<int:account_id>/envio", methods=["GET", "POST"])
@requires("manage_billing")
@fresh_login_required(back=_settings_page)
def delivery(account_id: int) -> Response | tuple[str, int]:
    account = _account_or_404(account_id)
    form = DeliveryForm(
        data={
            "delivery": account.invoice_delivery,
            "emails": "\n".join((account.einvoice_emails or "").split()),
        }
    )
    if form.validate_on_submit():
        changed = changes.change_delivery(
            get_session(),
            current_tenant(),
            account,
            delivery=form.delivery.data,
            emails=form.emails.addresses,
            actor=current_user,
            origin=Origin.of_request(),
        )
        flash(_("Saved.") if changed else _("Nothing changed."), "info")
        return redirect(url_for("billing.settings"))
    return render_template("billing/delivery.html", form=form, account=account), 422 if form.errors else 200


@bp.route("/ajustes/<int:account_id>/direccion", methods=["GET", "POST"])
@requires("manage_billing")
@fresh_login_required(back=_settings_page)
def address(account_id: int) -> Response | tuple[str, int]:
    account = _account_or_404(account_id)
    province = (account.billing_postcode or "")[:2]
    form = AddressForm(
        data={
            "address": account.billing_address or "",
            "postcode": account.billing_postcode or "",
            "city": account.billing_city or "",
            "province": province if province in PROVINCES else "",
        }
    )
    if form.validate_on_submit():
        changed = changes.change_address(
            get_session(),
            current_tenant(),
            account,
            address=form.address.data.strip(),
            postcode=form.postcode.data,
            city=form.city.data.strip(),
            actor=current_user,
            origin=Origin.of_request(),
        )
        flash(_("Saved.") if changed else _("Nothing changed."), "info")
        return redirect(url_for("billing.settings"))
    return render_template("billing/address.html", form=form, account=account), 422 if form.errors else 200


@bp.route("/ajustes/<int:account_id>/domiciliacion", methods=["GET", "POST"])
@requires("manage_billing")
@fresh_login_required(back=_settings_page)
@limiter.limit("10 per hour", methods=["POST"])
def iban(account_id: int) -> Response | tuple[str, int]:
    """A new IBAN for the account's direct debit: a code goes to the administrator's verified mobile."""
    account = _account_or_404(account_id)
    form = IbanForm()
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        new = form.iban.normalized
        try:
            challenge = changes.request_iban_change(
                get_session(), current_tenant(), account, new, actor=current_user, origin=Origin.of_request()
            )
        except changes.NoVerifiedMobile:
            form.iban.errors.append(_("Verify your mobile in My profile first: the code is sent there."))
        except SendLimited as limited:
            form.iban.errors.append(send_refusal(limited))
            status = 429
        else:
            session[IBAN_PENDING] = {"challenge": challenge.id, "account": account.id, "iban": new}
            return redirect(url_for("billing.confirm_iban", account_id=account.id))
    return render_template(
        "billing/iban.html", form=form, account=account, current=masked_iban(account.iban)
    ), status


@bp.route("/ajustes/<int:account_id>/domiciliacion/codigo", methods=["GET", "POST"])
@requires("manage_billing")
@fresh_login_required(back=_settings_page)
@limiter.limit("20 per hour", methods=["POST"])
def confirm_iban(account_id: int) -> Response | tuple[str, int]:
    account = _account_or_404(account_id)
    pending = session.get(IBAN_PENDING)
    if not isinstance(pending, dict) or pending.get("account") != account.id:
        return redirect(url_for("billing.iban", account_id=account.id))
    form = CodeForm()
    if form.validate_on_submit():
        result = changes.confirm_iban_change(
            get_session(),
            current_tenant(),
            account,
            challenge_id=pending["challenge"],
            iban=pending["iban"],
            code=form.code.data,
            actor=current_user,
            origin=Origin.of_request(),
        )
        if result is CodeCheck.ACCEPTED:
            session.pop(IBAN_PENDING)
            flash(
                _(
                    "The invoices of %(account)s will be paid from %(iban)s.",
                    account=account.ref,
                    iban=format_iban(account.iban),
                ),
                "info",
            )
            return redirect(url_for("billing.settings"))
        if result is CodeCheck.DEAD:
            session.pop(IBAN_PENDING)
        refuse_code(form, result, _("Give the IBAN again to receive a new one."))
    return render_template(
        "_code_page.html",
        form=form,
        heading=_("Confirm the new bank account"),
        lead=_(
            "We have sent a code by SMS to your mobile ending in %(digits)s. Type it to pay the invoices of "
            "%(account)s from the account ending in %(iban)s.",
            digits=(current_user.mobile or "")[-3:],
            account=account.ref,
            iban=pending["iban"][-4:],
        ),
    ), 422 if form.errors else 200

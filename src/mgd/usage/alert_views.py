"""The consumption alerts of a company under ``/empresa/<ref>/consumo/alertas``: the list (with the spend
caps' recorded bar requests), a new alert, changing one, deleting one after a confirmation. Administrators
only (``manage_alerts``)."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from mgd.db import get_session
from mgd.identifiers import format_phone
from mgd.security.audit import Origin
from mgd.tenants.context import Tenant, current_tenant, requires, tenant_blueprint
from mgd.tenants.home import add_home_card
from mgd.usage import alerts
from mgd.usage.alert_forms import AlertForm
from mgd.usage.alert_models import UsageAlert

bp = tenant_blueprint("usage_alerts", __name__, "/consumo/alertas")


@bp.context_processor
def _words() -> dict:
    return {
        "threshold_text": alerts.threshold_text,
        "target_text": alerts.target_text,
        "metrics": alerts.METRICS,
        "cents_text": alerts.cents_text,
    }


def _home_card(tenant: Tenant) -> Markup | None:
    """An administrator's way to the alerts; it reads nothing, so the home page keeps its few statements."""
    if not tenant.can("manage_alerts"):
        return None
    return Markup(render_template("usage/_alerts_card.html"))  # noqa: S704


bp.record_once(lambda state: add_home_card(state.app, _home_card))


@bp.get("")
@requires("manage_alerts")
def index() -> str:
    db, company = get_session(), current_tenant().company
    return render_template(
        "usage/alerts.html",
        alerts=alerts.list_alerts(db, company),
        caps=alerts.cap_requests(db, company),
    )


def _alert_or_404(alert_id: int) -> UsageAlert:
    found = alerts.find_alert(get_session(), current_tenant().company, alert_id)
    if found is None:
        abort(404)
    return found


def _form(alert: UsageAlert | None) -> AlertForm:
    members = alerts.notifiable_members(get_session(), current_tenant().company)
    if alert is None:
        data = {
            "scope": "company",
            "metric": "data_percent",
            "by_email": True,
            "recipients": [current_tenant().membership.id],
        }
    else:
        data = {
            "scope": alert.scope,
            "line": format_phone(alert.line.number) if alert.line else "",
            "cost_centre": alert.cost_centre or "",
            "metric": alert.metric,
            "percent": str(alert.percent or ""),
            "amount": str(Decimal(alert.amount_cents).scaleb(-2)).replace(".", ",")
            if alert.amount_cents
            else "",
            "cap": alert.cap,
            "by_email": alert.by_email,
            "by_sms": alert.by_sms,
            "recipients": [r.membership_id for r in alert.recipients],
        }
    form = AlertForm(data=data)
    form.recipients.choices = [SelectChoice(m.id, f"{m.user.name} ({m.user.email})") for m in members]
    return form


def _values(form: AlertForm) -> alerts.AlertValues:
    return alerts.AlertValues(
        scope=form.scope.data,
        metric=form.metric.data,
        number=form.line.normalized.e164 if form.scope.data == "line" else None,
        cost_centre=form.cost_centre.data.strip() if form.scope.data == "cost_centre" else None,
        percent=form.percent.value,
        amount_cents=form.amount.cents,
        cap=form.cap.data,
        by_email=form.by_email.data,
        by_sms=form.by_sms.data,
        recipients=tuple(form.recipients.data or ()),
    )


def _edit(alert: UsageAlert | None) -> Response | tuple[str, int]:
    form = _form(alert)
    if form.validate_on_submit():
        try:
            alerts.save_alert(
                get_session(),
                current_tenant(),
                alert,
                _values(form),
                actor=current_user,
                origin=Origin.of_request(),
            )
        except alerts.UnknownLine:
            form.line.errors.append(_("This number is not a line of the company."))
        except alerts.RecipientCannotSee as blind:
            form.recipients.errors.append(
                _(
                    "%(names)s may see only some lines of the company, not those of this alert.",
                    names=", ".join(blind.names),
                )
            )
        else:
            flash(_("Alert saved.") if alert else _("Alert created."), "success")
            return redirect(url_for("usage_alerts.index"))
    status = 422 if form.errors else 200
    return render_template("usage/alert_form.html", form=form, alert=alert), status


@bp.route("/nueva", methods=["GET", "POST"])
@requires("manage_alerts")
def new() -> Response | tuple[str, int]:
    return _edit(None)


@bp.route("/<int:alert_id>", methods=["GET", "POST"])
@requires("manage_alerts")
def edit(alert_id: int) -> Response | tuple[str, int]:
    return _edit(_alert_or_404(alert_id))


@bp.post("/<int:alert_id>/borrar")
@requires("manage_alerts")
def delete(alert_id: int) -> Response | str:
    """Delete an alert: first a confirmation page, then (``confirmed=yes``) the deletion."""
    found = _alert_or_404(alert_id)
    if request.form.get("confirmed") != "yes":
        return render_template("usage/alert_delete.html", alert=found)
    alerts.delete_alert(
        get_session(), current_tenant(), found, actor=current_user, origin=Origin.of_request()
    )
    flash(_("Alert deleted."), "success")
    return redirect(url_for("usage_alerts.index"))

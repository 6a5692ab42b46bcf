"""Mi Área: onboarding on the first session, the list of the user's companies, a company's page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from mgd.db import get_session
from mgd.extensions import limiter
from mgd.identifiers import format_phone
from mgd.notify.throttle import SendLimited
from mgd.notify.throttle import refusal_message as send_refusal
from mgd.security import profile
from mgd.security.audit import Origin
from mgd.security.code_entry import GIVE_MOBILE_AGAIN, refuse_code
from mgd.security.codes import CodeCheck
from mgd.selfcare import services
from mgd.selfcare.forms import OnboardingForm
from mgd.tenants.context import current_tenant, tenant_blueprint
from mgd.tenants.home import home_page
from mgd.tenants.services import line_counts_query
from mgd.web.forms import CodeForm

bp = Blueprint("selfcare", __name__)
company = tenant_blueprint("company", __name__)  # the company's home page, /empresa/<ref>

# Pages a signed-in user may reach while onboarding is pending.
ONBOARDING_OPEN = {
    "selfcare.onboarding",
    "selfcare.verify_mobile",
    "selfcare.terms",
    "security.logout",
    "security.change_password",
    "portal.set_language",
    "static",
}


@bp.before_app_request
def _onboarding_first() -> Response | None:
    if not current_user.is_authenticated or current_user.is_staff or request.endpoint in ONBOARDING_OPEN:
        return None
    if services.onboarding_pending(current_user, current_app.config["TERMS_VERSION"]):
        return redirect(url_for("selfcare.onboarding"))
    return None


@bp.get("/condiciones-de-uso")
def terms() -> str:
    return render_template("selfcare/terms.html", version=current_app.config["TERMS_VERSION"])


@bp.route("/mi-area/bienvenida", methods=["GET", "POST"])
@login_required
def onboarding() -> Response | str:
    user = current_user._get_current_object()
    form = OnboardingForm(
        data={"name": user.name, "mobile": format_phone(user.mobile) if user.mobile else ""}
    )
    if not form.validate_on_submit():
        return render_template("selfcare/onboarding.html", form=form, user=user), 422 if form.errors else 200
    db = get_session()
    try:
        challenge = services.save_onboarding(
            db,
            user,
            name=form.name.data.strip(),
            mobile=form.mobile.normalized,
            terms_version=current_app.config["TERMS_VERSION"],
            origin=Origin.of_request(),
        )
    except SendLimited as limited:
        form.mobile.errors.append(send_refusal(limited))
        return render_template("selfcare/onboarding.html", form=form, user=user), 429
    if challenge is None:
        return redirect(url_for("selfcare.home"))
    session["mobile_challenge"] = challenge.id
    return redirect(url_for("selfcare.verify_mobile"))


@bp.route("/mi-area/verificar-movil", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per hour", methods=["POST"])
def verify_mobile() -> Response | str:
    challenge_id = session.get("mobile_challenge")
    if challenge_id is None:
        return redirect(url_for("selfcare.onboarding"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        db = get_session()
        result = profile.verify_mobile(db, current_user, challenge_id, form.code.data, Origin.of_request())
        if result is CodeCheck.ACCEPTED:
            session.pop("mobile_challenge")
            return redirect(url_for("selfcare.home"))
        if result is CodeCheck.DEAD:
            session.pop("mobile_challenge")
        refuse_code(form, result, GIVE_MOBILE_AGAIN)
        status = 422
    elif form.errors:
        status = 422
    destination = profile.code_destination(get_session(), current_user, session.get("mobile_challenge"))
    return render_template("selfcare/verify_mobile.html", form=form, destination=destination), status


@bp.get("/mi-area")
@login_required
def home() -> Response | str:
    """After sign-in: straight into the only company; with several, the choice (the one used last on top)."""
    if current_user.is_staff:
        return redirect(url_for("backoffice.queue"))
    companies = services.companies_of(get_session(), current_user)
    chosen = services.company_to_open(companies)
    if chosen is not None:
        return redirect(url_for("company.dashboard", ref=chosen.public_ref))
    return _choice(companies)


@bp.get("/mi-area/empresas")
@login_required
def choose_company() -> str:
    """Every company of the user, to switch to another."""
    if current_user.is_staff:
        abort(404)
    return _choice(services.companies_of(get_session(), current_user))


def _choice(companies: list) -> str:
    return render_template("selfcare/home.html", companies=services.last_used_first(companies, current_user))


@company.get("")
def dashboard() -> str:
    db, tenant = get_session(), current_tenant()
    (fixed, mobile), cards = home_page(db, tenant, line_counts_query(tenant.membership))
    return render_template(
        "selfcare/company.html",
        company=tenant.company,
        lines={"fixed": fixed, "mobile": mobile},
        cards=cards,
    )

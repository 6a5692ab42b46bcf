"""The registration pages: one per step, each showing only the step its flow is at."""

from __future__ import annotations

import unicodedata
from contextlib import suppress

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from mgd.db import get_session
from mgd.extensions import limiter
from mgd.identifiers import InvalidIdentifier, normalize_fiscal_id
from mgd.notify.throttle import SendLimited
from mgd.notify.throttle import refusal_message as send_refusal
from mgd.registration import services
from mgd.registration.access_requests import DuplicateRequest, RequestDetails, submit_access_request
from mgd.registration.forms import (
    AccessRequestForm,
    AccountsForm,
    IdentifyForm,
    MobileForm,
    PhoneForm,
)
from mgd.registration.models import RegistrationFlow
from mgd.registration.steps import BACK, STEP_PAGES, progress
from mgd.security.audit import Origin, record_event
from mgd.security.code_entry import ASK_AGAIN, REFUSAL_REASONS, code_message
from mgd.security.login import sign_in
from mgd.web.edge import keep_on_failure
from mgd.web.forms import ButtonForm, CodeForm

bp = Blueprint("registration", __name__, url_prefix="/register")

SESSION_KEY = "registration"


@bp.context_processor
def _progress() -> dict:
    return {"progress": progress}  # the step pages' progress bar (registration/_layout.html)


def _fiscal_id_key() -> str:
    """The typed fiscal ID in its stored form (fullwidth or dotted spellings share it), valid or not."""
    raw = request.form.get("fiscal_id") or ""
    try:
        return "fiscal:" + normalize_fiscal_id(raw).value
    except InvalidIdentifier:
        folded = unicodedata.normalize("NFKC", raw).upper()
        return "fiscal:" + "".join(ch for ch in folded if ch.isascii() and ch.isalnum())[-9:]


def refusal_message(error: services.Refused) -> str:
    if error.reason in REFUSAL_REASONS:
        return code_message(REFUSAL_REASONS[error.reason], ASK_AGAIN)
    phone = current_app.config["HELP_PHONE"]
    messages = {
        "unknown_company": _(
            "We do not find any customer company with this fiscal ID. Check it, or call your "
            "advisor on %(phone)s.",
            phone=phone,
        ),
        "not_interlocutor": _(
            "The registration could not be completed. Please call your personal advisor on %(phone)s.",
            phone=phone,
        ),
        "already_user": _(
            "This email is already registered in the portal. Please contact your company's web administrator."
        ),
        "locked": _(
            "For your security we have locked this registration. Please call your personal advisor on "
            "%(phone)s.",
            phone=phone,
        ),
        "no_resends_left": _("You have already asked for the most codes allowed."),
    }
    left = error.details.get("left")
    if error.reason == "wrong_phone":
        return ngettext(
            "This number is not a line of your company. You have %(num)d attempt left.",
            "This number is not a line of your company. You have %(num)d attempts left.",
            left,
        )
    if error.reason == "wrong_iban":
        return ngettext(
            "This account does not match the one where your lines are paid. You have %(num)d attempt left.",
            "This account does not match the one where your lines are paid. You have %(num)d attempts left.",
            left,
        )
    if error.reason == "resend_too_soon":
        return _(
            "Please wait %(seconds)s seconds before asking for a new code.", seconds=error.details["wait"]
        )
    return messages[error.reason]


# ---- step 1 ---------------------------------------------------------------------------------------------


def _audit_breach(limit) -> None:
    """Rate-limit refusals are security events too. The refusal is an error (429), whose rollback would take
    the event with it: it is recorded after that rollback (``keep_on_failure``)."""
    origin, step = Origin.of_request(), request.endpoint
    fiscal_id = _fiscal_id_key().removeprefix("fiscal:") or None
    keep_on_failure(
        lambda db: record_event(
            db, "registration.rate_limited", origin, fiscal_id=fiscal_id, step=step, limit=str(limit.limit)
        )
    )


@bp.route("", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"], on_breach=_audit_breach)
@limiter.limit("5 per hour", methods=["POST"], key_func=_fiscal_id_key, on_breach=_audit_breach)
def identify() -> Response | str:
    form = IdentifyForm()
    if not form.validate_on_submit():
        return render_template("registration/identify.html", form=form), 422 if form.errors else 200
    db = get_session()
    try:
        result = services.start_registration(
            db, form.fiscal_id.normalized, form.email.data, Origin.of_request()
        )
    except services.Refused as error:
        if error.field:
            form[error.field].errors.append(refusal_message(error))
            return render_template("registration/identify.html", form=form), 422
        return render_template("registration/end.html", message=refusal_message(error)), 422
    if isinstance(result, services.LargeAccount):
        session["large_account"] = {"fiscal_id": result.fiscal_id, "email": result.email}
        return redirect(url_for("registration.access_request"))
    session[SESSION_KEY] = result.token
    return redirect(url_for("registration.phone"))


def _flow_at(step: str) -> RegistrationFlow | Response:
    """The visitor's flow if it is at ``step``; otherwise where the visitor should be instead."""
    flow = services.current_flow(get_session(), session.get(SESSION_KEY))
    if flow is None:
        return redirect(url_for("registration.identify"))
    if flow.state == step:
        return flow
    if flow.state in STEP_PAGES:
        return redirect(url_for(STEP_PAGES[flow.state]))
    return redirect(url_for("registration.end"))


def _step(step: str, form_class, template: str, submit) -> Response | str:
    flow = _flow_at(step)
    if not isinstance(flow, RegistrationFlow):
        return flow
    form = form_class()
    if hasattr(form, "require"):
        form.require(flow.needs_fixed_iban, flow.needs_mobile_iban)
    status, message = 200, None
    if form.validate_on_submit():
        db = get_session()
        try:
            submit(db, flow, form)
        except SendLimited as limited:  # the step is right, but its code cannot go yet
            message, status = send_refusal(limited), 429
        except services.Refused as error:
            if error.reason in ("locked", "moved"):
                return redirect(url_for("registration.end"))
            for name in error.details.get("fields", [error.field]):
                form[name].errors.append(refusal_message(error))
            status = 422
        else:
            return redirect(url_for(STEP_PAGES.get(flow.state, "registration.end")))
    elif form.errors:
        status = 422
    return render_template(template, form=form, flow=flow, message=message, back=_back_form(flow)), status


def _back_form(flow: RegistrationFlow) -> ButtonForm | None:
    """The "back" button's form on a step that has a way back (``steps.BACK``)."""
    return ButtonForm() if flow.state in BACK else None


@bp.post("/back")
def back() -> Response:
    """Return to the previous step (a phone given by mistake): the counters of wrong answers stay."""
    flow = services.current_flow(get_session(), session.get(SESSION_KEY))
    if flow is None:
        return redirect(url_for("registration.identify"))
    if not ButtonForm().validate_on_submit():
        abort(400)
    # No way back from here (or a parallel request moved it): the page of where it is now.
    with suppress(services.Refused):
        services.go_back(get_session(), flow)
    return redirect(url_for(STEP_PAGES.get(flow.state, "registration.end")))


@bp.route("/phone", methods=["GET", "POST"])
def phone() -> Response | str:
    return _step(
        "phone",
        PhoneForm,
        "registration/phone.html",
        lambda db, flow, form: services.submit_phone(db, flow, form.phone.normalized, Origin.of_request()),
    )


@bp.route("/mobile", methods=["GET", "POST"])
def mobile() -> Response | str:
    return _step(
        "mobile",
        MobileForm,
        "registration/mobile.html",
        lambda db, flow, form: services.submit_mobile(db, flow, form.phone.normalized, Origin.of_request()),
    )


@bp.route("/bank", methods=["GET", "POST"])
def bank() -> Response | str:
    def submit(db, flow, form):
        fixed = form.fixed_iban.data if "fixed_iban" in form else None
        mobile = form.mobile_iban.data if "mobile_iban" in form else None
        services.submit_accounts(db, flow, fixed, mobile, Origin.of_request())

    return _step("bank", AccountsForm, "registration/bank.html", submit)


@bp.route("/code", methods=["GET", "POST"])
def code() -> Response | str:
    flow = _flow_at("code")
    if not isinstance(flow, RegistrationFlow):
        return flow
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        db = get_session()
        try:
            user = services.submit_code(db, flow, form.code.data, Origin.of_request())
        except services.Refused as error:
            if flow.state != "code":
                return redirect(url_for("registration.end"))
            form.code.errors.append(refusal_message(error))
            status = 422
        else:
            session.pop(SESSION_KEY, None)
            sign_in(user)
            return redirect(url_for("selfcare.onboarding"))
    elif form.errors:
        status = 422
    return _code_page(flow, form, status=status)


def _code_page(flow: RegistrationFlow, form: CodeForm, message: str | None = None, status: int = 200):
    return render_template(
        "registration/code.html",
        form=form,
        resend=ButtonForm(),
        flow=flow,
        message=message,
        wait=services.seconds_until_resend(flow),
        resends_left=services.MAX_RESENDS - flow.resends,
    ), status


@bp.post("/code/resend")
def resend() -> Response | str:
    flow = _flow_at("code")
    if not isinstance(flow, RegistrationFlow):
        return flow
    if not ButtonForm().validate_on_submit():
        abort(400)
    db = get_session()
    try:
        services.resend_code(db, flow, Origin.of_request())
    except services.Refused as error:
        if flow.state != "code":  # registered or locked by a parallel request
            return redirect(url_for("registration.end"))
        return _code_page(flow, CodeForm(formdata=None), message=refusal_message(error), status=429)
    except SendLimited as limited:
        return _code_page(flow, CodeForm(formdata=None), message=send_refusal(limited), status=429)
    return _code_page(flow, CodeForm(formdata=None), message=_("We have sent you a new code."))


@bp.get("/end")
def end() -> Response | str:
    flow = services.current_flow(get_session(), session.get(SESSION_KEY))
    if flow is None:
        return redirect(url_for("registration.identify"))
    if flow.state in STEP_PAGES:
        return redirect(url_for(STEP_PAGES[flow.state]))
    messages = {
        "locked": refusal_message(services.Refused("locked")),
        "expired": _("Your registration has expired after 30 minutes without activity. Please start again."),
        "done": _("This registration is already complete."),
    }
    reason = flow.end_reason if flow.state == "refused" else None
    message = refusal_message(services.Refused(reason)) if reason else messages[flow.state]
    return render_template("registration/end.html", message=message)


# ---- Grandes Clientes -------------------------------------------------------------------------------------


@bp.route("/gran-cliente", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"], on_breach=_audit_breach)
def access_request() -> Response | str:
    form = AccessRequestForm(data=session.get("large_account"))
    if not form.validate_on_submit():
        return render_template("registration/access_request.html", form=form), 422 if form.errors else 200
    details = RequestDetails(
        fiscal_id=form.fiscal_id.normalized,
        requester_name=form.requester_name.data.strip(),
        position=form.position.data.strip(),
        email=form.email.data,
        phone=form.phone.normalized.e164,
        users_needed=form.users_needed.data,
        comments=(form.comments.data or "").strip() or None,
        users=tuple(getattr(form.users_list, "parsed", ())),
    )
    db = get_session()
    try:
        created = submit_access_request(db, details, Origin.of_request())
    except SendLimited as limited:
        form.email.errors.append(send_refusal(limited))
        return render_template("registration/access_request.html", form=form), 429
    except DuplicateRequest as error:
        form.email.errors.append(
            _(
                "You already have a pending request with reference %(reference)s. An advisor "
                "will contact you.",
                reference=error.reference,
            )
        )
        return render_template("registration/access_request.html", form=form), 422
    session.pop("large_account", None)
    session["access_request"] = created.reference
    return redirect(url_for("registration.access_request_sent"))


@bp.get("/gran-cliente/enviada")
def access_request_sent() -> Response | str:
    reference = session.get("access_request")
    if not reference:
        return redirect(url_for("registration.access_request"))
    return render_template("registration/access_request_sent.html", reference=reference)

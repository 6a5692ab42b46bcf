"""Mi perfil pages: password, email, mobile, authenticator app, recent sign-ins and active sessions.

Changing the email or the mobile and the authenticator app need a recent sign-in (``fresh_login_required``).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms import BooleanField, EmailField, PasswordField, TelField
from wtforms.validators import DataRequired, Length

from mgd.db import get_session, utcnow
from mgd.extensions import limiter
from mgd.notify.throttle import SendLimited
from mgd.notify.throttle import refusal_message as send_refusal
from mgd.security import profile, sessions, totp
from mgd.security.audit import Origin
from mgd.security.code_entry import ASK_AGAIN, refuse_code
from mgd.security.codes import CodeCheck
from mgd.security.forms import NewPasswordForm
from mgd.security.login import current_session, fresh_login_required, lifetime, sign_in, sign_out
from mgd.security.messages import policy_messages
from mgd.security.passwords import Policy
from mgd.security.profile import request_mobile_change
from mgd.web.forms import EMAIL, TEL, CodeForm, Form
from mgd.web.validators import PHONE, REQUIRED, email_address, mobile_only

bp = Blueprint("profile", __name__, url_prefix="/perfil")


class PasswordChangeForm(NewPasswordForm):
    current = PasswordField(
        _l("Current password"), [REQUIRED], render_kw={"autocomplete": "current-password"}
    )


class EmailChangeForm(Form):
    email = EmailField(_l("New email"), [REQUIRED, Length(max=254), email_address], render_kw=EMAIL)


class MobileChangeForm(Form):
    mobile = TelField(_l("New mobile"), [REQUIRED, PHONE, mobile_only], render_kw=TEL)


class RemoveAppForm(Form):
    confirm = BooleanField(
        _l("Yes, stop using my authenticator app"), [DataRequired(_l("Confirm it first."))]
    )


class EndOthersForm(Form):
    confirm = BooleanField(_l("Yes, close every other session"), [DataRequired(_l("Confirm it first."))])


def _profile_page(**_view_args) -> str:
    return url_for("profile.show")


def _page(status: int = 200, **forms) -> tuple[str, int]:
    db = get_session()
    defaults = {
        "password_form": PasswordChangeForm(prefix="pw"),
        "email_form": EmailChangeForm(prefix="em"),
        "mobile_form": MobileChangeForm(prefix="mo"),
        "end_others_form": EndOthersForm(prefix="so"),
    }
    return render_template(
        "security/profile.html",
        user=current_user,
        sign_ins=profile.recent_sign_ins(db, current_user),
        sessions=sessions.active_sessions(db, current_user.id, lifetime(), utcnow()),
        this_session=current_session(),
        describe_agent=sessions.describe_agent,
        policy=Policy.from_config(current_app.config),
        **(defaults | forms),
    ), status


@bp.get("")
@login_required
def show() -> tuple[str, int]:
    return _page()


@bp.post("/password")
@login_required
@limiter.limit("10 per hour")
def password() -> Response | tuple[str, int]:
    form = PasswordChangeForm(prefix="pw")
    if form.validate_on_submit():
        db = get_session()
        policy = Policy.from_config(current_app.config)
        problems = profile.change_own_password(
            db, current_user, form.current.data, form.password.data, policy=policy, origin=Origin.of_request()
        )
        if not problems:  # every session ended with the old password: this browser goes on in a new one
            sign_in(current_user._get_current_object())
            return redirect(url_for("profile.show", changed="password"))
        if "current" in problems:
            form.current.errors.append(_("This is not your current password."))
        form.password.errors.extend(policy_messages([p for p in problems if p != "current"], policy))
    return _page(422, password_form=form)


@bp.post("/email")
@login_required
@fresh_login_required(back=_profile_page)
def email() -> Response | tuple[str, int]:
    form = EmailChangeForm(prefix="em")
    if form.validate_on_submit():
        db = get_session()
        try:
            challenge = profile.request_email_change(db, current_user, form.email.data, Origin.of_request())
        except SendLimited as limited:
            form.email.errors.append(send_refusal(limited))
            return _page(429, email_form=form)
        session["email_challenge"] = challenge.id
        return redirect(url_for("profile.confirm_email"))
    return _page(422, email_form=form)


@bp.route("/email/codigo", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per hour", methods=["POST"])
def confirm_email() -> Response | tuple[str, int] | str:
    if "email_challenge" not in session:
        return redirect(url_for("profile.show"))
    form = CodeForm()
    if form.validate_on_submit():
        db = get_session()
        result = profile.confirm_email_change(
            db, current_user, session["email_challenge"], form.code.data, Origin.of_request()
        )
        if result is CodeCheck.ACCEPTED:
            session.pop("email_challenge")
            return redirect(url_for("profile.show", changed="email"))
        if result is CodeCheck.DEAD:
            session.pop("email_challenge")
        refuse_code(form, result, ASK_AGAIN)
    destination = profile.code_destination(get_session(), current_user, session.get("email_challenge"))
    return render_template(
        "security/profile_code.html", form=form, destination=destination
    ), 422 if form.errors else 200


@bp.post("/movil")
@login_required
@fresh_login_required(back=_profile_page)
def mobile() -> Response | tuple[str, int]:
    form = MobileChangeForm(prefix="mo")
    if form.validate_on_submit():
        db = get_session()
        try:
            challenge = request_mobile_change(db, current_user, form.mobile.normalized, Origin.of_request())
        except SendLimited as limited:
            form.mobile.errors.append(send_refusal(limited))
            return _page(429, mobile_form=form)
        if challenge is None:
            return redirect(url_for("profile.show"))
        session["mobile_challenge"] = challenge.id
        return redirect(url_for("selfcare.verify_mobile"))
    return _page(422, mobile_form=form)


@bp.route("/autenticador", methods=["GET", "POST"])
@login_required
@fresh_login_required()
@limiter.limit("20 per hour", methods=["POST"])
def authenticator() -> Response | tuple[str, int] | str:
    user = current_user._get_current_object()
    db = get_session()
    if user.totp_secret:
        form = RemoveAppForm()
        if form.validate_on_submit():
            totp.remove(db, user, Origin.of_request())
            return redirect(url_for("profile.show", changed="app"))
        return render_template("security/authenticator.html", remove=form), 422 if form.errors else 200
    secret = totp.pending_secret(db, user)
    form = CodeForm()
    if form.validate_on_submit():
        if totp.enrol(db, user, form.code.data, Origin.of_request()):
            return redirect(url_for("profile.show", changed="app"))
        form.code.errors.append(_("The code is not correct. Check the time of your phone and try again."))
    return render_template(
        "security/authenticator.html", form=form, secret=secret, qr=totp.qr_data_uri(secret, user.email)
    ), 422 if form.errors else 200


@bp.post("/sesiones/<int:session_id>/cerrar")
@login_required
def end_session(session_id: int) -> Response:
    """End one of the user's sessions; ending this browser's own is signing out."""
    db, this = get_session(), current_session()
    if this is not None and session_id == this.id:
        profile.record_session_ended(db, current_user, session_id, Origin.of_request())
        sign_out()
        return redirect(url_for("security.login"))
    if not sessions.end_session(db, current_user.id, session_id):
        abort(404)
    profile.record_session_ended(db, current_user, session_id, Origin.of_request())
    return redirect(url_for("profile.show", changed="session"))


@bp.post("/sesiones/cerrar-otras")
@login_required
def end_other_sessions() -> Response | tuple[str, int]:
    """End every session of the user but this one, once they have ticked the confirmation."""
    form = EndOthersForm(prefix="so")
    if not form.validate_on_submit():
        return _page(422, end_others_form=form)
    db = get_session()
    profile.end_other_sessions(db, current_user, current_session(), Origin.of_request())
    return redirect(url_for("profile.show", changed="sessions"))

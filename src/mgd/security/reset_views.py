"""Pages of the forgotten-password flow: email and channel, code, new password."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, redirect, render_template, session, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms import EmailField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from mgd.db import get_session
from mgd.extensions import limiter
from mgd.notify.throttle import SendLimited
from mgd.notify.throttle import refusal_message as send_refusal
from mgd.security import reset
from mgd.security.audit import Origin
from mgd.security.code_entry import ASK_AGAIN, refuse_code
from mgd.security.codes import MAX_ATTEMPTS, CodeCheck
from mgd.security.forms import NewPasswordForm
from mgd.security.messages import policy_messages
from mgd.security.passwords import Policy
from mgd.web.forms import CodeForm, Form
from mgd.web.validators import REQUIRED, email_address

bp = Blueprint("password_reset", __name__, url_prefix="/password/forgot")

STATE = "password_reset"
LIFETIME = 900  # seconds from the request to the new password


class ResetRequestForm(Form):
    email = EmailField(
        _l("Your email"), [REQUIRED, Length(max=254), email_address], render_kw={"autocomplete": "username"}
    )
    channel = RadioField(
        _l("Where do we send your code?"),
        [DataRequired(_l("Choose where to receive it."))],
        choices=[
            SelectChoice("email", _l("To this email")),
            SelectChoice("sms", _l("By SMS to the mobile of my account")),
        ],
        default="email",
    )


def _state() -> dict | None:
    state = session.get(STATE)
    if not state or time.time() - state["since"] > LIFETIME:
        session.pop(STATE, None)
        return None
    return state


@bp.route("", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def request_code() -> Response | str:
    form = ResetRequestForm()
    if not form.validate_on_submit():
        return render_template("security/reset_request.html", form=form), 422 if form.errors else 200
    db = get_session()
    try:
        challenge_id = reset.request_reset(db, form.email.data, form.channel.data, Origin.of_request())
    except SendLimited as limited:
        form.email.errors.append(send_refusal(limited))
        return render_template("security/reset_request.html", form=form), 429
    session[STATE] = {"challenge_id": challenge_id, "since": int(time.time()), "tries": 0, "verified": False}
    return redirect(url_for("password_reset.enter_code"))


@bp.route("/code", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def enter_code() -> Response | str:
    state = _state()
    if state is None:
        return redirect(url_for("password_reset.request_code"))
    form = CodeForm()
    if form.validate_on_submit():
        db = get_session()
        result = reset.check_reset_code(db, state["challenge_id"], form.code.data)
        state["tries"] += 1
        session[STATE] = state
        if result is CodeCheck.ACCEPTED:
            session[STATE] = {**state, "verified": True}
            return redirect(url_for("password_reset.new_password"))
        if state["tries"] >= MAX_ATTEMPTS:  # an unknown email's codes are all wrong, and die the same
            result = CodeCheck.DEAD
        if result is CodeCheck.DEAD:
            session.pop(STATE, None)
        refuse_code(form, result, ASK_AGAIN)
    status = 422 if form.errors else 200
    return render_template("security/reset_code.html", form=form), status


@bp.route("/new", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def new_password() -> Response | str:
    state = _state()
    if state is None or not state["verified"]:
        return redirect(url_for("password_reset.request_code"))
    form = NewPasswordForm()
    policy = Policy.from_config(current_app.config)
    if form.validate_on_submit():
        db = get_session()
        problems = reset.reset_password(
            db, state["challenge_id"], form.password.data, policy, Origin.of_request()
        )
        if not problems:
            session.pop(STATE, None)
            return redirect(url_for("security.login", reset="done"))
        form.password.errors.extend(policy_messages(problems, policy))
    status = 422 if form.errors else 200
    return render_template("security/password.html", form=form, policy=policy), status

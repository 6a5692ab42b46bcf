"""Signing in (password, then a one-time code), changing a temporary password, confirming the password again
before a sensitive change, signing out."""

from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from mgd.db import get_session
from mgd.extensions import limiter
from mgd.identifiers import masked_email, masked_phone
from mgd.notify.throttle import SendLimited
from mgd.notify.throttle import refusal_message as send_refusal
from mgd.security import event_text, services
from mgd.security.audit import Origin
from mgd.security.codes import seconds_until_resend
from mgd.security.forms import ChannelForm, LoginForm, NewPasswordForm, ReauthForm
from mgd.security.login import current_session, sign_in, sign_out
from mgd.security.messages import policy_messages, refusal_message
from mgd.security.models import CodeChallenge, User
from mgd.security.passwords import Policy
from mgd.web.forms import ButtonForm, CodeForm
from mgd.web.links import local_path

bp = Blueprint("security", __name__)
# The audit trail in words, for the activity pages of a company and of the back office (_activity.html).
bp.add_app_template_global(event_text.sentence, "event_sentence")
bp.add_app_template_global(event_text.kinds, "event_kinds")

PENDING = "pending_login"
PENDING_LIFETIME = 600  # seconds between the password and the code
PASSWORD_FIRST = {"security.change_password", "security.logout", "portal.set_language", "static"}


@bp.before_app_request
def _temporary_password_first() -> Response | None:
    if (
        session.get("must_change_password")
        and current_user.is_authenticated
        and request.endpoint not in PASSWORD_FIRST
    ):
        return redirect(url_for("security.change_password"))
    return None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per 10 minutes", methods=["POST"])
def login() -> Response | str:
    form = LoginForm()
    if not form.validate_on_submit():
        done = request.args.get("reset") == "done"
        notice = _("Your password has been changed. Sign in with it.") if done else None
        return render_template("security/login.html", form=form, notice=notice), 422 if form.errors else 200
    db = get_session()
    try:
        user = services.check_password(
            db, form.email.data, form.password.data, _lockout(), Origin.of_request()
        )
    except services.SignInRefused as error:  # the failure counted stands: the edge commits a 422 too
        return render_template("security/login.html", form=form, message=refusal_message(error.reason)), 422
    # The page asked before signing in (the 401 page's link), opened once the code is right.
    asked = local_path(request.args.get("next"), "") or None
    session[PENDING] = {"user_id": user.id, "since": int(time.time()), "next": asked}
    return redirect(url_for("security.choose_channel"))


def _pending_user() -> User | None:
    pending = session.get(PENDING)
    if not pending or time.time() - pending["since"] > PENDING_LIFETIME:
        session.pop(PENDING, None)
        return None
    return get_session().get(User, pending["user_id"])


@bp.route("/login/channel", methods=["GET", "POST"])
def choose_channel() -> Response | str:
    user = _pending_user()
    if user is None:
        return redirect(url_for("security.login"))
    form = ChannelForm()
    labels = {
        "sms": _("SMS to your mobile %(number)s", number=masked_phone(user.mobile)),
        "email": _("Email to %(email)s", email=masked_email(user.email)),
        "app": _("My authenticator app"),
    }
    form.channel.choices = [SelectChoice(channel, labels[channel]) for channel in services.channels(user)]
    if not form.validate_on_submit():
        return render_template("security/channel.html", form=form), 422 if form.errors else 200
    if form.channel.data == "app":
        session[PENDING] = {**session[PENDING], "challenge_id": None, "app": True}
        return redirect(url_for("security.enter_code"))
    db = get_session()
    try:
        challenge = services.send_sign_in_code(db, user, form.channel.data, Origin.of_request())
    except SendLimited as limited:
        form.channel.errors.append(send_refusal(limited))
        return render_template("security/channel.html", form=form), 429
    session[PENDING] = {**session[PENDING], "challenge_id": challenge.id, "app": False}
    return redirect(url_for("security.enter_code"))


def _code_page(user: User, form: CodeForm, status: int = 200, message: str | None = None):
    """The code page: where the code went, the wait before another, and the other channels if any."""
    pending = session[PENDING]
    challenge = None if pending.get("app") else get_session().get(CodeChallenge, pending["challenge_id"])
    return render_template(
        "security/code.html",
        form=form,
        from_app=challenge is None,
        challenge=challenge,
        wait=seconds_until_resend(challenge) if challenge else 0,
        resend=ButtonForm(),
        other_channels=len(services.channels(user)) > 1,
        message=message,
    ), status


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit("30 per 10 minutes", methods=["POST"])
def enter_code() -> Response | str:
    user = _pending_user()
    if user is None or "challenge_id" not in session.get(PENDING, {}):
        return redirect(url_for("security.login"))
    form = CodeForm()
    from_app = session[PENDING].get("app", False)
    if not form.validate_on_submit():
        return _code_page(user, form, 422 if form.errors else 200)
    db = get_session()
    try:
        if from_app:
            services.check_app_code(db, user, form.code.data, lockout=_lockout(), origin=Origin.of_request())
        else:
            challenge_id = session[PENDING]["challenge_id"]
            services.check_sign_in_code(
                db, user, challenge_id, form.code.data, lockout=_lockout(), origin=Origin.of_request()
            )
    except services.SignInRefused as error:
        if error.reason != "wrong_code":
            session.pop(PENDING, None)
            return render_template(
                "security/login.html", form=LoginForm(formdata=None), message=refusal_message(error.reason)
            ), 422
        form.code.errors.append(refusal_message(error.reason))
        return _code_page(user, form, 422)
    asked = session[PENDING].get("next")
    sign_in(user)
    if user.password_is_temporary:
        session["must_change_password"] = True
        return redirect(url_for("security.change_password"))
    return redirect(local_path(asked, url_for("selfcare.home")))


@bp.post("/login/code/resend")
@limiter.limit("10 per 10 minutes")
def resend_code() -> Response | str:
    """Another code by the same channel, once the wait is over (the earlier one dies)."""
    user = _pending_user()
    pending = session.get(PENDING, {})
    if user is None or not pending.get("challenge_id"):
        return redirect(url_for("security.login"))
    if not ButtonForm().validate_on_submit():
        abort(400)
    db = get_session()
    channel = db.get(CodeChallenge, pending["challenge_id"]).channel
    try:
        challenge = services.send_sign_in_code(
            db, user, channel, Origin.of_request(), replacing=pending["challenge_id"]
        )
    except services.ResendTooSoon as early:
        message = _("Please wait %(seconds)s seconds before asking for a new code.", seconds=early.wait)
        return _code_page(user, CodeForm(formdata=None), 429, message)
    except SendLimited as limited:
        return _code_page(user, CodeForm(formdata=None), 429, send_refusal(limited))
    session[PENDING] = {**pending, "challenge_id": challenge.id}
    flash(_("We have sent you a new code."), "info")
    return redirect(url_for("security.enter_code"))


@bp.route("/password", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def change_password() -> Response | str:
    if not current_user.is_authenticated:
        return redirect(url_for("security.login"))
    form = NewPasswordForm()
    policy = Policy.from_config(current_app.config)
    if form.validate_on_submit():
        db = get_session()
        user = current_user._get_current_object()
        problems = services.change_password(db, user, form.password.data, policy, Origin.of_request())
        if not problems:
            sign_in(user)  # every session of the user was ended: this browser continues in a new one
            return redirect(url_for("selfcare.home"))
        form.password.errors.extend(policy_messages(problems, policy))
    status = 422 if form.errors else 200
    return render_template("security/password.html", form=form, policy=policy), status


@bp.post("/logout")
def logout() -> Response:
    sign_out()
    return redirect(url_for("portal.home"))


@bp.route("/reautenticar", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per 10 minutes", methods=["POST"])
def reauthenticate() -> Response | str:
    """Confirm the password before a sensitive change; a wrong one counts as a failed sign-in."""
    target = local_path(request.args.get("next"), url_for("selfcare.home"))
    form = ReauthForm()
    if not form.validate_on_submit():
        return render_template("security/reauth.html", form=form), 422 if form.errors else 200
    db, user = get_session(), current_user._get_current_object()
    try:
        services.reauthenticate(
            db, user, current_session(), form.password.data, lockout=_lockout(), origin=Origin.of_request()
        )
    except services.SignInRefused as error:
        if error.reason == "locked":  # whoever is guessing here is not kept signed in
            sign_out()
            return render_template(
                "security/login.html", form=LoginForm(formdata=None), message=refusal_message(error.reason)
            ), 422
        form.password.errors.append(_("This is not your password."))
        return render_template("security/reauth.html", form=form), 422
    return redirect(target)


def _lockout() -> services.Lockout:
    return services.Lockout.from_config(current_app.config)

"""The invitation link: a new person sets their password and is signed in (onboarding then verifies their
mobile by code); someone who already uses MGD confirms their password and the company is added to theirs."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms import PasswordField

from mgd.admin import invitations
from mgd.db import get_session
from mgd.extensions import limiter
from mgd.security import services
from mgd.security.audit import Origin
from mgd.security.forms import NewPasswordForm
from mgd.security.login import sign_in
from mgd.security.messages import policy_messages, refusal_message
from mgd.security.passwords import Policy
from mgd.web.forms import Form
from mgd.web.validators import REQUIRED

bp = Blueprint("invitations", __name__)


class ExistingUserForm(Form):
    password = PasswordField(
        _l("Your MGD password"), [REQUIRED], render_kw={"autocomplete": "current-password"}
    )


@bp.route("/invitacion/<token>", methods=["GET", "POST"])
@limiter.limit("20 per 10 minutes", methods=["POST"])
def accept(token: str) -> Response | str:
    db = get_session()
    invitation = invitations.invitation_by_token(db, token[:100])
    if invitation is None:
        return render_template("admin/invitation_dead.html"), 404
    user = invitations.existing_user(db, invitation)
    return _join_with_password(invitation, user) if user is not None else _create_access(invitation)


def _used_meanwhile() -> tuple[str, int]:
    """The link was accepted by a parallel request (a double click): that one joined, this one did not."""
    return render_template("admin/invitation_dead.html"), 404


def _join_with_password(invitation, user) -> Response | str:
    """Someone who already uses MGD proves it with their password (a failure counts towards the lockout)."""
    db, form = get_session(), ExistingUserForm()
    if form.validate_on_submit():
        try:
            lockout = services.Lockout.from_config(current_app.config)
            services.check_password(db, user.email, form.password.data, lockout, Origin.of_request())
        except services.SignInRefused as refused:
            form.password.errors.append(refusal_message(refused.reason))
        else:
            try:
                invitations.accept(db, invitation, user=user, password=None, origin=Origin.of_request())
            except invitations.InvitationRefused:
                return _used_meanwhile()
            company = invitation.company.name
            flash(_("You now belong to %(company)s. Sign in to work in it.", company=company), "success")
            return redirect(url_for("security.login"))
    return render_template(
        "admin/invitation.html", invitation=invitation, company=invitation.company, form=form, existing=True
    ), 422 if form.errors else 200


def _create_access(invitation) -> Response | str:
    """A new person chooses a password (the policy applies) and is signed in; onboarding comes next: terms,
    access data and the mobile, verified by code."""
    db, form, policy = get_session(), NewPasswordForm(), Policy.from_config(current_app.config)
    if form.validate_on_submit():
        problems = policy.problems(form.password.data, email=invitation.email, name=invitation.name)
        if not problems:
            try:
                user = invitations.accept(
                    db, invitation, user=None, password=form.password.data, origin=Origin.of_request()
                )
            except invitations.InvitationRefused:
                return _used_meanwhile()
            sign_in(user)
            return redirect(url_for("selfcare.home"))
        form.password.errors.extend(policy_messages(problems, policy))
    return render_template(
        "admin/invitation.html",
        invitation=invitation,
        company=invitation.company,
        form=form,
        existing=False,
        policy=policy,
    ), 422 if form.errors else 200

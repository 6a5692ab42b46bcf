"""The users pages of a company: members, invitations (one or from a CSV), and every change to a member, each
confirmed by the admin before it is made."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.wrappers import Response

from mgd.admin import invitations, users
from mgd.admin.forms import (
    DomainsForm,
    InviteCsvForm,
    InviteForm,
    LimitForm,
    RoleForm,
)
from mgd.db import get_session
from mgd.extensions import limiter
from mgd.notify.throttle import SendLimited
from mgd.notify.throttle import refusal_message as send_refusal
from mgd.security.audit import Origin
from mgd.security.login import fresh_login_required
from mgd.tenants.context import ROLE_NAMES, current_tenant, requires, tenant_blueprint
from mgd.tenants.models import ROLES
from mgd.web.uploads import checked_upload

bp = tenant_blueprint("admin", __name__, "/usuarios")

MEMBER_SERVICES = {
    "disable": users.disable_member,
    "enable": users.enable_member,
    "remove": users.remove_member,
    "password": users.reset_member_password,
    "second-factor": users.reset_second_factor,
}
ACTIONS = ("role", "limit", *MEMBER_SERVICES)
#: Changes that need the acting admin's recent sign-in or password (``fresh_login_required``).
FRESH_ACTIONS = ("role", "password", "second-factor")


def _member(membership_id: int):
    member = users.find_member(get_session(), current_tenant(), membership_id)
    if member is None:
        raise NotFound()
    return member


@bp.get("")
@requires("manage_users")
def members() -> str:
    db, tenant = get_session(), current_tenant()
    role = request.args.get("role", "") if request.args.get("role") in ROLES else ""
    status = request.args.get("status", "") if request.args.get("status") in ("active", "disabled") else ""
    q = request.args.get("q", "").strip()[:100]
    after, before = request.args.get("after"), request.args.get("before")
    page = users.list_members(db, tenant, q=q, role=role, status=status, after=after, before=before)
    pending, drafts = invitations.listed_invitations(db, tenant)
    return render_template(
        "admin/members.html",
        page=page,
        args={name: value for name, value in (("q", q), ("role", role), ("status", status)) if value},
        invitations=pending,
        drafts=drafts,
        admins=page.values[0],
        role_names=ROLE_NAMES,
        domains_form=DomainsForm(data={"domains": tenant.company.invite_domains or ""}),
    )


@bp.post("/dominios")
@requires("manage_users")
def invite_domains() -> Response | str:
    form = DomainsForm()
    if not form.validate():
        flash(" ".join(str(error) for error in form.domains.errors), "error")
        return redirect(url_for("admin.members"))
    invitations.set_invite_domains(
        get_session(), current_tenant(), form.parsed, actor=current_user, origin=Origin.of_request()
    )
    flash(_("Invitation domains saved."), "success")
    return redirect(url_for("admin.members"))


@bp.route("/invitar", methods=["GET", "POST"])
@requires("manage_users")
@limiter.limit("60 per hour", methods=["POST"])
def invite() -> Response | str:
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitations.invite(
                get_session(),
                current_tenant(),
                email=form.email.data.strip().lower(),
                name=form.name.data.strip(),
                role=form.role.data,
                actor=current_user,
                origin=Origin.of_request(),
            )
        except invitations.InvitationRefused as refused:
            form.email.errors.append(invitations.refusal_message(refused.reason))
        except SendLimited as limited:
            form.email.errors.append(send_refusal(limited))
            return render_template("admin/invite.html", form=form), 429
        else:
            flash(_("Invitation sent to %(email)s.", email=form.email.data.strip().lower()), "success")
            return redirect(url_for("admin.members"))
    return render_template("admin/invite.html", form=form), 422 if form.errors else 200


@bp.route("/invitar/csv", methods=["GET", "POST"])
@requires("manage_users")
@limiter.limit("20 per hour", methods=["POST"])
def invite_csv() -> Response | str:
    """Upload shows a preview with each row's problems; sending happens only from a preview without any."""
    form, db, tenant = InviteCsvForm(), get_session(), current_tenant()
    upload = checked_upload(
        form, lambda content: invitations.read_csv(db, tenant, content), limit=200_000, button="send"
    )
    if not upload.confirmed:
        return render_template(
            "admin/invite_csv.html", form=form, upload=upload, role_names=ROLE_NAMES
        ), upload.status(form)
    try:
        invitations.invite_rows(db, tenant, upload.rows, actor=current_user, origin=Origin.of_request())
    except invitations.InvitationRefused as refused:  # someone else invited one of them meanwhile
        flash(invitations.refusal_message(refused.reason), "error")
        return redirect(url_for("admin.invite_csv"))
    except SendLimited as limited:
        flash(send_refusal(limited), "error")
        return redirect(url_for("admin.invite_csv"))
    flash(_("%(count)s invitations sent.", count=len(upload.rows)), "success")
    return redirect(url_for("admin.members"))


@bp.route("/invitaciones/<int:invitation_id>/corregir", methods=["GET", "POST"])
@requires("manage_users")
def edit_draft(invitation_id: int) -> Response | tuple[str, int]:
    """Correct an invitation prepared from the company's access request before it is sent."""
    db, tenant = get_session(), current_tenant()
    draft = invitations.find_draft(db, tenant, invitation_id)
    if draft is None:
        raise NotFound()
    form = InviteForm(obj=draft) if request.method == "GET" else InviteForm()
    if form.validate_on_submit():
        try:
            invitations.update_draft(
                db,
                tenant,
                draft,
                email=form.email.data.strip().lower(),
                name=form.name.data.strip(),
                role=form.role.data,
            )
        except invitations.InvitationRefused as refused:
            form.email.errors.append(invitations.refusal_message(refused.reason))
        else:
            flash(_("Invitation corrected; it has not been sent yet."), "success")
            return redirect(url_for("admin.members"))
    return render_template("admin/draft.html", form=form, draft=draft), 422 if form.errors else 200


@bp.post("/invitaciones/enviar-preparadas")
@requires("manage_users")
@limiter.limit("20 per hour")
def send_drafts() -> Response | str:
    """Send every prepared invitation, after a confirmation page listing them."""
    db, tenant = get_session(), current_tenant()
    drafts = invitations.draft_invitations(db, tenant)
    if not drafts:
        flash(_("There are no prepared invitations to send."), "error")
        return redirect(url_for("admin.members"))
    if request.form.get("confirmed") != "yes":
        return render_template("admin/drafts_confirm.html", drafts=drafts, role_names=ROLE_NAMES)
    try:
        sent = invitations.send_drafts(db, tenant, drafts, actor=current_user, origin=Origin.of_request())
    except invitations.InvitationRefused as refused:
        flash(invitations.refusal_message(refused.reason), "error")
        return redirect(url_for("admin.members"))
    except SendLimited as limited:
        flash(send_refusal(limited), "error")
        return redirect(url_for("admin.members"))
    flash(_("%(count)s invitations sent.", count=sent), "success")
    return redirect(url_for("admin.members"))


@bp.post("/invitaciones/<int:invitation_id>/<any(resend, revoke):action>")
@requires("manage_users")
def invitation_action(invitation_id: int, action: str) -> Response | str:
    db, tenant = get_session(), current_tenant()
    invitation = invitations.find_invitation(db, tenant, invitation_id)
    if invitation is None:
        raise NotFound()
    if request.form.get("confirmed") != "yes":
        return render_template("admin/confirm.html", action=action, invitation=invitation)
    try:
        if action == "resend":
            invitations.resend(db, tenant, invitation, actor=current_user, origin=Origin.of_request())
        else:
            invitations.revoke(db, tenant, invitation, actor=current_user, origin=Origin.of_request())
    except invitations.InvitationRefused as refused:
        flash(invitations.refusal_message(refused.reason), "error")
        return redirect(url_for("admin.members"))
    except SendLimited as limited:
        flash(send_refusal(limited), "error")
        return redirect(url_for("admin.members"))
    flash(_("Invitation sent again.") if action == "resend" else _("Invitation revoked."), "success")
    return redirect(url_for("admin.members"))


@bp.get("/<int:membership_id>")
@requires("manage_users")
def member(membership_id: int) -> str:
    found = _member(membership_id)
    numbers, cost_centres = users.scopes_of(get_session(), found)
    limit_form = LimitForm(data={"picked": numbers, "cost_centres": ", ".join(cost_centres)})
    return _member_page_with(found, limit_form, numbers)


def _member_page_with(found, limit_form: LimitForm, chosen: list[str], status: int = 200):
    """The member's page; its line picker lists the ``chosen`` lines (ticked) and those found by ``lq``."""
    search = request.args.get("lq", "").strip()[:60]
    picker = users.lines_to_pick(get_session(), current_tenant(), search, chosen)
    return render_template(
        "admin/member.html",
        member=found,
        role_form=RoleForm(data={"role": found.role}),
        limit_form=limit_form,
        role_names=ROLE_NAMES,
        picker=picker,
        chosen=set(chosen),
        search=search,
    ), status


def _apply(action: str, found, role_form: RoleForm, limit_form: LimitForm) -> str | None:
    """Make the confirmed change; a refusal comes back as the message to show (the services refuse before
    they write anything)."""
    db, tenant = get_session(), current_tenant()
    who = {"actor": current_user, "origin": Origin.of_request()}
    try:
        if action == "role":
            users.change_role(db, tenant, found, role_form.role.data, **who)
        elif action == "limit":
            users.limit_member(
                db, tenant, found, limit_form.parsed_numbers, limit_form.parsed_cost_centres, **who
            )
        else:
            MEMBER_SERVICES[action](db, tenant, found, **who)
    except users.LastAdmin:
        return _("The company must keep at least one active administrator. Name another one first.")
    except users.UnknownLines as unknown:
        return _("These numbers are not lines of the company: %(numbers)s", numbers=unknown)
    except users.AdminNotLimited:
        return _("Administrators always see every line of the company.")
    except users.SharedPerson:
        return _(
            "This person also uses MGD for other companies, so only they can change their password or their "
            "authenticator app (in My profile), or the operator on %(phone)s.",
            phone=current_app.config["HELP_PHONE"],
        )
    except SendLimited as limited:
        return send_refusal(limited)
    return None


def _member_page(membership_id: int, **_view_args) -> str:
    return url_for("admin.member", membership_id=membership_id)


@bp.post("/<int:membership_id>/<any(" + ", ".join(f"'{a}'" for a in ACTIONS) + "):action>")
@requires("manage_users")
def member_action(membership_id: int, action: str) -> Response | str:
    """Every change to a member: first a confirmation page, then (``confirmed=yes``) the change."""
    if action in FRESH_ACTIONS:
        return _fresh_member_action(membership_id=membership_id, action=action)
    return _member_action(membership_id, action)


@fresh_login_required(back=_member_page)
def _fresh_member_action(membership_id: int, action: str) -> Response | str:
    return _member_action(membership_id, action)


def _member_action(membership_id: int, action: str) -> Response | str:
    found = _member(membership_id)
    role_form, limit_form = RoleForm(), LimitForm()
    if action == "role" and not role_form.validate():
        raise BadRequest()
    if action == "limit" and not limit_form.validate():  # what was typed and ticked comes back
        return _member_page_with(found, limit_form, limit_form.picked.data or [], 422)
    if request.form.get("confirmed") != "yes":
        return render_template(
            "admin/confirm.html", action=action, member=found, form=request.form, role_names=ROLE_NAMES
        )
    problem = _apply(action, found, role_form, limit_form)
    if problem and action == "limit":
        limit_form.numbers.errors.append(problem)
        return _member_page_with(found, limit_form, limit_form.parsed_numbers, 422)
    if problem:
        flash(problem, "error")
        return redirect(url_for("admin.member", membership_id=membership_id))
    flash(_("Done."), "success")
    if action == "remove":
        return redirect(url_for("admin.members"))
    return redirect(url_for("admin.member", membership_id=membership_id))

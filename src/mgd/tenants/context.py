"""The company a tenant page works in, resolved once per request from the opaque reference in its URL.

Every tenant blueprint is made by ``tenant_blueprint``: its URLs start with ``/empresa/<ref>``, and before
any of its views runs, the signed-in user's active membership of that company is loaded (404 if there is none)
and the session is scoped to the company. Views read ``current_tenant()`` and check permissions with
``requires``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING

from babel.lists import format_list
from flask import Blueprint, abort, g
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden

if TYPE_CHECKING:
    from mgd.security.models import User

from mgd.config import LANGUAGES
from mgd.db import get_session, scope_columns, set_tenant
from mgd.extensions import login_manager
from mgd.tenants.models import ROLES, Company, Membership
from mgd.web.edge import keep_on_failure
from mgd.web.uploads import folded

#: What each role may do; a permission a role lacks answers 403.
PERMISSIONS: dict[str, frozenset[str]] = {
    "view_lines": frozenset(ROLES),
    "edit_lines": frozenset({"admin", "manager"}),
    "manage_users": frozenset({"admin"}),
    "view_audit": frozenset({"admin"}),
    "view_billing": frozenset({"admin", "billing"}),
    # Delivery, direct debit and billing address: the direct-debit code goes to the administrator's mobile.
    "manage_billing": frozenset({"admin"}),
    # Calls, messages and data of the lines, and their allowances: every role, as the seeds' self-care.
    "view_usage": frozenset(ROLES),
    # Consumption alerts and spend caps: they notify members and can ask to bar lines.
    "manage_alerts": frozenset({"admin"}),
    # Orders and service requests (mgd.orders): admins and managers order, billing follows them.
    "view_orders": frozenset({"admin", "manager", "billing"}),
    "place_orders": frozenset({"admin", "manager"}),
    # The help chat (mgd.chat): every member chats; administrators read every member's transcripts.
    "view_transcripts": frozenset({"admin"}),
    # Approving an order above the company's monthly-cost threshold, and setting it: administrators (never
    # the order's own requester: mgd.orders.services.decide_approval).
    "approve_orders": frozenset({"admin"}),
}


#: Each role's name and what each permission lets a member do, as the pages say them.
ROLE_NAMES = {
    "admin": _l("Administrator"),
    "manager": _l("Manager"),
    "billing": _l("Billing"),
    "viewer": _l("Viewer"),
}
PERMISSION_ACTIONS = {
    "view_lines": _l("see the company's lines"),
    "edit_lines": _l("change the company's lines"),
    "manage_users": _l("manage the company's users"),
    "view_audit": _l("see the company's activity log"),
    "view_billing": _l("see the company's invoices and spend"),
    "manage_billing": _l("change the invoice delivery, the bank account or the billing address"),
    "view_usage": _l("see the consumption of the company's lines"),
    "manage_alerts": _l("manage the consumption alerts and spend caps"),
    "view_orders": _l("see the company's orders and requests"),
    "place_orders": _l("order changes to the company's lines"),
    "view_transcripts": _l("read the chat conversations of the company's other members"),
    "approve_orders": _l("approve orders above the company's monthly cost threshold"),
}


def role_from_name(text: str) -> str | None:
    """The role a person means by ``text``: its code or its name as the pages show it, in either language
    (case and accents ignored); None if it names none."""
    wanted = folded(text)
    for role in ROLES:
        names = {role}
        for locale in LANGUAGES.values():
            with force_locale(locale):
                names.add(folded(str(ROLE_NAMES[role])))
        if wanted in names:
            return role
    return None


class MissingPermission(Forbidden):
    """A 403 that says why: which roles may do what the page does, and the member's own role."""

    def __init__(self, permission: str, role: str) -> None:
        super().__init__()
        self.permission, self.role = permission, role

    @property
    def reason(self) -> str:
        roles = [str(ROLE_NAMES[role]) for role in ROLES if role in PERMISSIONS[self.permission]]
        return _(
            "Only the roles %(roles)s can %(action)s. Your role in this company is %(role)s; "
            "an administrator of the company can change it.",
            roles=format_list(roles, style="or", locale=get_locale()),
            action=PERMISSION_ACTIONS[self.permission],
            role=ROLE_NAMES[self.role],
        )


@dataclass(frozen=True)
class Tenant:
    company: Company
    membership: Membership
    companies: int  # how many companies the user belongs to (the switch menu shows when more than one)

    def can(self, permission: str) -> bool:
        return self.membership.role in PERMISSIONS[permission]

    def require(self, permission: str) -> None:
        """Raise ``MissingPermission`` (403, saying why) unless the member's role has ``permission``."""
        if not self.can(permission):
            raise MissingPermission(permission, self.membership.role)


def current_tenant() -> Tenant:
    return g.tenant


def enter_company(session: Session, user: User, ref: str | None) -> Tenant | None:
    """The user's active membership of the company behind ``ref`` (None: no such company or membership);
    scopes the session to that company. Two statements: the company, which also sets the database's scope
    (``scope_columns``), then the membership with the count of the user's active memberships (their own rows
    in other companies: Row-Level Security lets a user read those, see ``Membership``)."""
    found = session.execute(
        select(Company, *scope_columns(session, Company.id, user.id)).where(Company.public_ref == (ref or ""))
    ).first()
    if found is None:
        return None
    company = found[0]
    set_tenant(session, company.id, user_id=user.id, shared=True)
    own = Membership.__table__  # the table, not the class: the guard would keep this company's row only
    count = (
        select(func.count())
        .select_from(own)
        .where(own.c.user_id == user.id, own.c.is_active.is_(True))
        .scalar_subquery()
    )
    row = session.execute(
        select(Membership, count).where(Membership.user_id == user.id, Membership.is_active.is_(True))
    ).first()
    if row is None:
        return None
    return Tenant(company, row[0], row[1] or 1)


def remember_company(user: User, company_id: int) -> bool:
    """Make the company the one offered first to the user next time; True if it was another one."""
    if user.last_company_id == company_id:
        return False
    user.last_company_id = company_id
    return True


def tenant_blueprint(name: str, import_name: str, url_prefix: str = "") -> Blueprint:
    """A blueprint whose pages belong to one company, named by ``/empresa/<ref>`` in every URL."""
    bp = Blueprint(name, import_name, url_prefix=f"/empresa/<ref>{url_prefix}")

    @bp.url_value_preprocessor
    def _take_ref(_endpoint, values):
        g.company_ref = values.pop("ref", None) if values else None

    @bp.url_defaults
    def _add_ref(_endpoint, values):
        if "ref" not in values and "tenant" in g:
            values["ref"] = g.tenant.company.public_ref

    @bp.before_request
    def _enter_company():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.is_staff:
            abort(404)
        user = current_user._get_current_object()
        tenant = enter_company(get_session(), user, g.company_ref)
        if tenant is None:
            abort(404)
        company_id = tenant.company.id
        if remember_company(user, company_id):  # it stands even if the page fails
            keep_on_failure(lambda _db: remember_company(user, company_id))
        g.tenant = tenant
        return None

    return bp


def requires(permission: str):
    """Refuse (403) a view to members whose role lacks ``permission``."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            current_tenant().require(permission)
            return view(*args, **kwargs)

        return wrapper

    return decorate

"""Consumption alerts as an administrator manages them (list, save, delete, each audited) and their
evaluation after each usage import: every threshold crossed in the current cycle notifies its recipients
once, by email and/or SMS in each one's language, through the outbox and its send limits; a line's spend cap
records a request to bar its premium and roaming usage.

"Once per threshold per cycle" is the database's: the run that inserts the ``usage_alert_firings`` row of
(alert, cycle) (``INSERT … ON CONFLICT DO NOTHING RETURNING``) is the one that notifies; a retry, or a second
run at the same time, inserts nothing (the second waits on the first's unique-key lock, then finds it) and
sends nothing. Services flush, never commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import current_app, has_request_context
from flask_babel import format_currency
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from mgd.db import operator_scope, set_tenant
from mgd.notify.senders import in_language, templated_mail
from mgd.notify.services import queue_mail, queue_sms
from mgd.notify.throttle import Requester, SendLimited, count_send
from mgd.security.audit import Origin, record_event
from mgd.security.event_text import METRICS
from mgd.security.models import User
from mgd.tenants.context import Tenant
from mgd.tenants.models import Company, Line, Membership, MembershipScope
from mgd.tenants.services import visible_lines
from mgd.tenants.signals import spend_cap_reached
from mgd.usage.alert_measures import Measure, measure
from mgd.usage.alert_models import (
    UsageAlert,
    UsageAlertFiring,
    UsageAlertRecipient,
    UsageCapRequest,
)
from mgd.web.links import external_url

log = logging.getLogger(__name__)


class UnknownLine(ValueError):
    """The number given is not a line of the company."""


class RecipientCannotSee(ValueError):
    """Members limited to some lines were chosen for an alert about lines they may not see."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


@dataclass(frozen=True)
class AlertValues:
    """What the form gave, checked and normalised: ``number`` in E.164 for a line, amounts in cents."""

    scope: str
    metric: str
    number: str | None = None
    cost_centre: str | None = None
    percent: int | None = None
    amount_cents: int | None = None
    cap: bool = False
    by_email: bool = True
    by_sms: bool = False
    recipients: tuple[int, ...] = ()


# ---- reading ---------------------------------------------------------------------------------------------


def _loaded():
    return (
        selectinload(UsageAlert.line),
        selectinload(UsageAlert.recipients)
        .selectinload(UsageAlertRecipient.membership)
        .selectinload(Membership.user),
    )


def list_alerts(session: Session, company: Company) -> list[UsageAlert]:
    """The company's alerts with their line and recipients, the company's first, then by cost centre, line."""
    set_tenant(session, company.id)
    query = select(UsageAlert).options(*_loaded()).order_by(UsageAlert.scope.desc(), UsageAlert.id)
    return list(session.scalars(query))


def find_alert(session: Session, company: Company, alert_id: int) -> UsageAlert | None:
    """An alert of the company, or None (the page is a 404)."""
    set_tenant(session, company.id)
    return session.scalar(select(UsageAlert).options(*_loaded()).where(UsageAlert.id == alert_id))


def cap_requests(session: Session, company: Company, limit: int = 50) -> list[UsageCapRequest]:
    """The newest requests to bar a line's premium and roaming usage, recorded by spend caps."""
    set_tenant(session, company.id)
    query = (
        select(UsageCapRequest)
        .options(selectinload(UsageCapRequest.line))
        .order_by(UsageCapRequest.created_at.desc(), UsageCapRequest.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def notifiable_members(session: Session, company: Company) -> list[Membership]:
    """The company's active members, by name: those an alert may notify."""
    set_tenant(session, company.id)
    query = (
        select(Membership)
        .join(Membership.user)
        .options(selectinload(Membership.user))
        .where(Membership.is_active.is_(True), User.is_active.is_(True))
        .order_by(User.name, Membership.id)
    )
    return list(session.scalars(query))


def sees_scope(session: Session, membership: Membership, alert: UsageAlert) -> bool:
    """Whether ``membership`` may see every line the alert is about (a limited member: only its scopes)."""
    if not membership.limited:
        return True
    if alert.scope == "line":
        found = visible_lines(membership).where(Line.id == alert.line_id).with_only_columns(Line.id)
        return session.scalar(found) is not None
    if alert.scope == "cost_centre":
        query = select(MembershipScope.id).where(
            MembershipScope.membership_id == membership.id, MembershipScope.cost_centre == alert.cost_centre
        )
        return session.scalar(query) is not None
    return False


# ---- in words --------------------------------------------------------------------------------------------


def threshold_text(alert: UsageAlert) -> str:
    """``80 %`` or ``50,00 €`` in the current language."""
    return value_text(alert, alert.amount_cents if alert.metric == "spend" else alert.percent)


def target_text(alert: UsageAlert, company: Company) -> str:
    """The line's number, the cost centre or the company's name."""
    if alert.scope == "line":
        return alert.line.number if alert.line else "—"
    if alert.scope == "cost_centre":
        return _("cost centre %(name)s", name=alert.cost_centre)
    return company.name


def cents_text(cents: int) -> str:
    """An amount in euros in the current language."""
    return format_currency(Decimal(cents).scaleb(-2), "EUR")


def value_text(alert: UsageAlert, value: int) -> str:
    return cents_text(value) if alert.metric == "spend" else f"{value}\u00a0%"


# ---- changing --------------------------------------------------------------------------------------------


def save_alert(
    session: Session,
    tenant: Tenant,
    alert: UsageAlert | None,
    values: AlertValues,
    *,
    actor: User,
    origin: Origin,
) -> UsageAlert:
    """Create (``alert`` None) or change an alert and its recipients; audited.

    Raises ``UnknownLine`` (the number is no line of the company) or ``RecipientCannotSee`` (limited members
    chosen for lines they may not see) before writing anything. Recipients are memberships of the company
    (others are ignored: the form offers only those).
    """
    company = tenant.company
    set_tenant(session, company.id)
    line = None
    if values.scope == "line":
        line = session.scalar(select(Line).where(Line.number == values.number))
        if line is None:
            raise UnknownLine(values.number)
    members = {m.id: m for m in notifiable_members(session, company) if m.id in set(values.recipients)}
    created = alert is None
    with session.begin_nested():  # a refusal below undoes the alert's changes
        if alert is None:
            alert = UsageAlert(tenant_id=company.id)
            session.add(alert)
        alert.scope, alert.metric = values.scope, values.metric
        alert.line_id = line.id if line else None
        alert.cost_centre = values.cost_centre if values.scope == "cost_centre" else None
        spend = values.metric == "spend"
        alert.amount_cents = values.amount_cents if spend else None
        alert.percent = None if spend else values.percent
        alert.cap = bool(values.cap and spend and line is not None)
        alert.by_email, alert.by_sms = values.by_email, values.by_sms
        session.flush()
        session.refresh(alert, ["line"])
        blind = [m.user.name for m in members.values() if not sees_scope(session, m, alert)]
        if blind:
            raise RecipientCannotSee(blind)
        session.execute(delete(UsageAlertRecipient).where(UsageAlertRecipient.alert_id == alert.id))
        for membership_id in sorted(members):
            session.add(
                UsageAlertRecipient(tenant_id=company.id, alert_id=alert.id, membership_id=membership_id)
            )
        session.flush()
    session.expire(alert, ["recipients"])
    detail = _detail(alert, company)
    if created:
        record_event(session, "usage_alert.created", origin, user_id=actor.id, tenant_id=company.id, **detail)
    else:
        record_event(session, "usage_alert.changed", origin, user_id=actor.id, tenant_id=company.id, **detail)
    return alert


def _detail(alert: UsageAlert, company: Company) -> dict[str, object]:
    """What the audit keeps of an alert: its words do not depend on the reader's language."""
    if alert.scope == "line":
        target = alert.line.number if alert.line else None
    else:
        target = alert.cost_centre if alert.scope == "cost_centre" else company.name
    threshold = (
        f"{alert.percent} %" if alert.percent is not None else f"{Decimal(alert.amount_cents).scaleb(-2)} €"
    )
    return {"alert": alert.id, "metric": alert.metric, "target": target, "threshold": threshold}


def delete_alert(session: Session, tenant: Tenant, alert: UsageAlert, *, actor: User, origin: Origin) -> None:
    """Delete an alert, its recipients and firings (recorded cap requests stay); audited."""
    detail = _detail(alert, tenant.company)
    session.delete(alert)
    session.execute(delete(UsageAlertRecipient).where(UsageAlertRecipient.alert_id == detail["alert"]))
    session.execute(delete(UsageAlertFiring).where(UsageAlertFiring.alert_id == detail["alert"]))
    session.flush()
    record_event(
        session, "usage_alert.deleted", origin, user_id=actor.id, tenant_id=tenant.company.id, **detail
    )


# ---- evaluating ------------------------------------------------------------------------------------------


def _insert(session: Session, model, values: dict, keys: list[str]):
    """``INSERT … ON CONFLICT (keys) DO NOTHING RETURNING id``: the new row's id, or None if it was there."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)
    return session.execute(statement.returning(model.id)).scalar()


def companies_with_alerts(session: Session) -> list[int]:
    """The ids of the companies that have at least one alert (operator scope: every company is looked at)."""
    with operator_scope(session, "the companies whose consumption alerts are evaluated"):
        return list(session.scalars(select(UsageAlert.tenant_id).distinct().order_by(UsageAlert.tenant_id)))


def evaluate_alerts(session: Session, tenant_id: int, today: date | None = None) -> list[int]:
    """Check every alert of the company against its current cycle; notify the ones crossed for the first
    time in that cycle and record their spend caps. Returns the ids of the firings this run inserted (none
    when another run, or an earlier one, already fired them). Safe to run twice and concurrently."""
    set_tenant(session, tenant_id)
    company = session.get(Company, tenant_id)
    if company is None:
        return []
    fired = []
    for alert in session.scalars(select(UsageAlert).options(*_loaded()).order_by(UsageAlert.id)):
        measured = measure(session, alert, today)
        if measured is None or measured.value < (alert.amount_cents or alert.percent or 0):
            continue
        firing = _insert(
            session,
            UsageAlertFiring,
            {
                "tenant_id": tenant_id,
                "alert_id": alert.id,
                "cycle_start": measured.cycle_start,
                "value": measured.value,
            },
            ["tenant_id", "alert_id", "cycle_start"],
        )
        if firing is None:
            continue
        fired.append(firing)
        capped = _record_cap(session, alert, measured, company) if alert.cap else False
        record_event(
            session,
            "usage_alert.fired",
            Origin(),
            tenant_id=tenant_id,
            value=measured.value,
            cycle=measured.cycle_start.isoformat(),
            **_detail(alert, company),
        )
        _notify(session, alert, measured, company, capped=capped)
    return fired


def _record_cap(session: Session, alert: UsageAlert, measured: Measure, company: Company) -> bool:
    """A request to bar the line's premium and roaming usage, once per line and cycle."""
    created = _insert(
        session,
        UsageCapRequest,
        {
            "tenant_id": company.id,
            "line_id": alert.line_id,
            "cycle_start": measured.cycle_start,
            "cap_cents": alert.amount_cents,
            "spend_cents": measured.value,
            "status": "recorded",
            "created_at": measured.at,
        },
        ["tenant_id", "line_id", "cycle_start"],
    )
    if created is not None:
        record_event(session, "usage_cap.recorded", Origin(), tenant_id=company.id, **_detail(alert, company))
        # The orders feature carries it out (premium-rate blocking, roaming off) in this transaction.
        spend_cap_reached.send(session, tenant_id=company.id, line_id=alert.line_id, cap_request_id=created)
    return created is not None


def _notify(
    session: Session, alert: UsageAlert, measured: Measure, company: Company, *, capped: bool
) -> None:
    """Each recipient who may see the alert's lines, by the alert's channels, in their language. A send
    limit spent skips that message (logged); the others go."""
    # Development without MGD_PUBLIC_URL has no address to give outside a request (production requires it).
    public = current_app.config["PUBLIC_URL"] or has_request_context()
    link = external_url("usage_alerts.index", ref=company.public_ref) if public else None
    requester = Requester(company_ids=(company.id,))
    for recipient in alert.recipients:
        membership, user = recipient.membership, recipient.membership.user
        if not (membership.is_active and user.is_active) or not sees_scope(session, membership, alert):
            continue
        locale = user.locale or current_app.config["DEFAULT_LOCALE"]  # a job has no request to ask
        with in_language(locale):
            words = {
                "company": company.name,
                "target": target_text(alert, company),
                "metric": str(METRICS[alert.metric]),
                "threshold": threshold_text(alert),
                "value": value_text(alert, measured.value),
            }
            sms = _sms_text(words, capped)
        channels = []
        if alert.by_email:
            channels.append(("email", user.email))
        if alert.by_sms and user.mobile:
            channels.append(("sms", user.mobile))
        for channel, destination in channels:
            try:
                count_send(session, destination, requester)
            except SendLimited as limited:
                log.warning("alert %s: %s to %s not sent (%s)", alert.id, channel, user.id, limited)
                continue
            if channel == "sms":
                queue_sms(session, destination, sms)
            else:
                mail = templated_mail(
                    destination,
                    _l("Consumption alert in %(company)s", company=company.name),
                    "usage_alert",
                    locale=locale,
                    capped=capped,
                    link=link,
                    **words,
                )
                queue_mail(session, mail)


def _sms_text(words: dict[str, str], capped: bool) -> str:
    text = _(
        "MGD: %(target)s (%(company)s) reached %(value)s of %(metric)s, over the alert at %(threshold)s.",
        **words,
    )
    if capped:
        text += " " + _("A request to bar premium-rate and roaming usage of the line has been recorded.")
    return text

"""Reading the audit trail: a company's own events for its admins, every company's for operator staff.

Audit events are not tenant-owned rows (registration refusals have no company yet, sign-ins belong to a
person), so every query here names the company explicitly: its own events and its members' personal ones since
they joined.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from mgd.security.event_text import sentence
from mgd.security.models import AuditEvent, User
from mgd.tenants.models import Company, Membership
from mgd.web.paging import KeysetPage, Page, keyset_page, paginate
from mgd.web.shell import BadParameter


@dataclass(frozen=True)
class AuditFilters:
    person: str = ""  # part of a name or an email
    action: str = ""  # an action or its prefix, e.g. "member." or "login.failed"
    since: date | None = None
    until: date | None = None  # inclusive


def _query(filters: AuditFilters, tenant_id: int | None, *, ordered: bool = True) -> Select:
    query = select(AuditEvent, User, Company).outerjoin(User, User.id == AuditEvent.user_id)
    query = query.outerjoin(Company, Company.id == AuditEvent.tenant_id)
    if tenant_id is not None:
        # The company's own events, and the personal security events (sign-ins, password changes) of its
        # members, which belong to no single company: only from the day they joined it, since what they did
        # before (for another company, say) is none of this company's business.
        member_then = (
            select(Membership.id)
            .where(
                Membership.tenant_id == tenant_id,
                Membership.user_id == AuditEvent.user_id,
                Membership.created_at <= AuditEvent.occurred_at,
            )
            .exists()
        )
        query = query.where(
            or_(AuditEvent.tenant_id == tenant_id, AuditEvent.tenant_id.is_(None) & member_then)
        )
    if filters.person:
        like = f"%{filters.person.lower()}%"
        query = query.where(or_(User.email.like(like), User.name.ilike(like)))
    if filters.action:
        query = query.where(AuditEvent.action.startswith(filters.action, autoescape=True))
    if filters.since:
        query = query.where(AuditEvent.occurred_at >= datetime.combine(filters.since, time(), UTC))
    if filters.until:
        query = query.where(
            AuditEvent.occurred_at < datetime.combine(filters.until + timedelta(1), time(), UTC)
        )
    return query.order_by(*(key.desc() for key in NEWEST_FIRST)) if ordered else query


#: The order of every list of events (keyset pages walk it).
NEWEST_FIRST = (AuditEvent.occurred_at, AuditEvent.id)


def company_events(
    session: Session,
    company_id: int,
    filters: AuditFilters,
    *,
    after: str | None = None,
    before: str | None = None,
) -> KeysetPage:
    """One page of the company's events, newest first, by keyset: (event, user or None, company) rows."""
    query = _query(filters, company_id, ordered=False)
    return keyset_page(session, query, NEWEST_FIRST, descending=True, after=after, before=before, rows=True)


def all_events(session: Session, filters: AuditFilters, page: int) -> Page:
    """Every company's events (and those of no company), for operator staff."""
    return paginate(session, _query(filters, None), page, rows=True)


def export_events(session: Session, company_id: int | None, filters: AuditFilters) -> Iterator[list[object]]:
    """CSV rows of the filtered events, streamed in batches."""
    query = _query(filters, company_id).execution_options(yield_per=1000)
    for event, user, company in session.execute(query):
        yield [
            event.occurred_at,  # written in Madrid time (web.exports)
            event.action,
            user.email if user else None,
            company.name if company else None,
            event.fiscal_id,
            event.ip,
            event.user_agent,
            " ".join(f"{key}={value}" for key, value in sorted(event.detail.items())),
            sentence(event.action, event.detail),
        ]


EXPORT_HEADER = [
    _l("When (Madrid time)"),
    _l("Event"),
    _l("Person"),
    _l("Company"),
    _l("Fiscal ID"),
    _l("IP address"),
    _l("Browser"),
    _l("Detail"),
    _l("What happened"),
]


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


def _date(args, name: str, problems: dict[str, str]) -> date | None:
    value = args.get(name)
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        day = FIRST_DAY - timedelta(1)
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        problems[name] = _("This is not a date between the years 2000 and 2100.")
        return None
    return day


def audit_filters(args) -> tuple[AuditFilters, dict[str, str]]:
    """The filters of an audit page from its query string, and a message for each date that is not one
    (that filter is left out)."""
    problems: dict[str, str] = {}
    filters = AuditFilters(
        person=args.get("person", "").strip()[:100],
        action=args.get("action", "").strip()[:60],
        since=_date(args, "since", problems),
        until=_date(args, "until", problems),
    )
    return filters, problems


def export_filters(args) -> AuditFilters:
    """The filters of an export; a date that is not one is a 400 that names it."""
    filters, problems = audit_filters(args)
    for name, message in problems.items():
        raise BadParameter(name, message)
    return filters


def filter_args(filters: AuditFilters) -> dict:
    args = {
        "person": filters.person,
        "action": filters.action,
        "since": filters.since,
        "until": filters.until,
    }
    return {name: value for name, value in args.items() if value}

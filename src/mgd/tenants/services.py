"""Services over companies and their records, and the tenant-scoped getters: the only way to load a
company's rows. Each getter scopes the session to that company first."""

from __future__ import annotations

from sqlalchemy import Select, case, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from mgd.db import set_tenant
from mgd.tenants.models import BillingAccount, Company, Interlocutor, Line, Membership, MembershipScope


def has_companies(session: Session) -> bool:
    """Whether any company is stored (``make run`` loads demo data only into an empty database)."""
    return bool(session.scalar(select(exists().where(Company.id.is_not(None)))))


def find_company(session: Session, fiscal_id: str) -> Company | None:
    """The company with this (normalised) fiscal ID, or None."""
    return session.scalar(select(Company).where(Company.fiscal_id == fiscal_id))


def company_by_ref(session: Session, public_ref: str) -> Company | None:
    """The company behind an opaque URL reference, or None."""
    return session.scalar(select(Company).where(Company.public_ref == public_ref))


def find_interlocutor(session: Session, company: Company, email: str) -> Interlocutor | None:
    set_tenant(session, company.id)
    return session.scalar(select(Interlocutor).where(Interlocutor.email == email.strip().lower()))


def find_line(session: Session, company: Company, number: str) -> Line | None:
    """A line of the company in service (active or suspended) with this E.164 number."""
    set_tenant(session, company.id)
    return session.scalar(select(Line).where(Line.number == number, Line.status != "cancelled"))


def line_kinds(session: Session, company: Company) -> set[str]:
    """Which kinds of line (fixed, mobile) the company has in service."""
    set_tenant(session, company.id)
    return set(session.scalars(select(Line.kind).where(Line.status != "cancelled").distinct()))


def billing_ibans(session: Session, company: Company, kind: str) -> set[str]:
    """The IBANs where the company's lines of this kind are paid."""
    set_tenant(session, company.id)
    return set(session.scalars(select(BillingAccount.iban).where(BillingAccount.kind == kind)))


def visible_lines(membership: Membership, *, load_related: bool = True) -> Select:
    """Lines that ``membership`` may see (all, or only its scopes), their tariff and user loaded alongside
    (unless ``load_related`` is false: the caller loads them its own way)."""
    query = select(Line)
    if load_related:
        query = query.options(selectinload(Line.tariff), selectinload(Line.user))
    if membership.limited:
        scopes = select(MembershipScope).where(MembershipScope.membership_id == membership.id).subquery()
        query = query.where(
            or_(
                Line.id.in_(select(scopes.c.line_id).where(scopes.c.line_id.is_not(None))),
                Line.cost_centre.in_(select(scopes.c.cost_centre).where(scopes.c.cost_centre.is_not(None))),
            )
        )
    return query


def line_counts_query(membership: Membership) -> Select:
    """One row: the lines in service that are fixed and mobile, among those the member may see (the home
    page reads it with its cards' figures, ``tenants.home.home_page``)."""
    visible = visible_lines(membership).where(Line.status != "cancelled").subquery()
    return select(
        *(func.count(case((visible.c.kind == kind, 1))).label(kind) for kind in ("fixed", "mobile"))
    )

"""The company's lines as its members see them: limited memberships see only their scopes, everywhere.

``visible_lines`` (in ``mgd.tenants.services``) is the one query every page, export and bulk change starts
from; it is already scoped to the tenant (the session guard) and to the membership's scopes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from flask_babel import gettext as _
from sqlalchemy import Select, func, literal_column, or_, select, update
from sqlalchemy.orm import Session, aliased, joinedload

from mgd.identifiers import InvalidIdentifier, normalize_phone, to_ascii
from mgd.security.audit import Origin, record_event
from mgd.security.models import User
from mgd.tenants.context import Tenant
from mgd.tenants.models import Line, Membership, Tariff
from mgd.tenants.services import visible_lines
from mgd.web.paging import KeysetPage, keyset_page
from mgd.web.uploads import csv_records

PAGE_SIZE = 50
MAX_CSV_ROWS = 5000
#: The columns of an assignments CSV, and how a header may name them (in either language).
ASSIGNMENT_COLUMNS = {
    "number": ("numero", "linea", "line", "phone", "telefono", "number of the line"),
    "alias": ("alias", "nombre de la linea"),
    "cost_centre": ("cost centre", "cost center", "centro de coste", "centro de costes"),
    "email": ("user email", "user", "usuario", "email del usuario", "correo", "correo electronico"),
}
ASSIGNMENT_COLUMNS_ORDER = tuple(ASSIGNMENT_COLUMNS)
#: The tariffs the sort by tariff joins: an alias of its own, so that sub-selects of the page correlated to
#: ``Line`` that read ``tariffs`` (the marks' allowances) keep theirs instead of correlating to this join.
SORTED_TARIFF = aliased(Tariff, name="sorted_tariff")
SORTS = {
    "number": Line.number,
    "alias": Line.alias,
    "cost_centre": Line.cost_centre,
    "kind": Line.kind,
    "status": Line.status,
    "tariff": SORTED_TARIFF.name,
}


@dataclass(frozen=True)
class LineFilters:
    """What the lines page asks for; every value has already been checked against its choices."""

    q: str = ""
    kind: str = ""
    product: str = ""
    status: str = ""
    tariff_id: int | None = None
    sort: str = "number"
    descending: bool = False


def _searched(query: Select, q: str) -> Select:
    """A number (or part of one) searches numbers only; words search aliases, cost centres and users."""
    try:
        compact = to_ascii(q.replace(" ", "")).removeprefix("+")
    except InvalidIdentifier:
        compact = ""
    if compact.isdigit():
        return query.where(Line.number.like(f"%{compact}%"))
    like = f"%{q.lower()}%"
    return query.outerjoin(User, User.id == Line.user_id).where(
        or_(
            func.lower(Line.alias).like(like),
            func.lower(Line.cost_centre).like(like),
            func.lower(User.name).like(like),
            User.email.like(like),
        )
    )


def _unordered(membership: Membership, filters: LineFilters, *, load_related: bool = True) -> Select:
    """The filtered list, unsorted; joins only what a search or a sort needs, so that a page of a large
    company walks one index."""
    query = visible_lines(membership, load_related=load_related)
    if filters.q:
        query = _searched(query, filters.q)
    for column, value in (
        (Line.kind, filters.kind),
        (Line.product, filters.product),
        (Line.status, filters.status),
    ):
        if value:
            query = query.where(column == value)
    if filters.tariff_id is not None:
        query = query.where(Line.tariff_id == filters.tariff_id)
    if filters.sort == "tariff":
        query = query.join(SORTED_TARIFF, SORTED_TARIFF.id == Line.tariff_id)
    return query


def _filtered(membership: Membership, filters: LineFilters) -> Select:
    """The filtered list, sorted (the order of the pages)."""
    order = [key.desc() if filters.descending else key.asc() for key in _sort_keys(filters)]
    return _unordered(membership, filters).order_by(*order)


def _sort_keys(filters: LineFilters) -> list:
    """The columns the list is sorted by, the last unique: the number alone (unique in the company, the
    ``(tenant_id, number)`` index gives the order), or a column then the line's id (an index on
    ``(tenant_id, column, id)`` each, but for the tariff's name). Empty labels sort as the empty text (first
    going up), so that a key is never NULL."""
    column = SORTS.get(filters.sort, Line.number)
    if column is Line.number:
        return [Line.number]
    if column is Line.alias or column is Line.cost_centre:
        # As written in the indexes on ``(tenant_id, coalesce(label, ''), id)``: the empty text inline, not a
        # parameter, so that the planner sees the index's expression.
        column = func.coalesce(column, literal_column("''"))
    return [column, Line.id]


def list_lines(
    session: Session,
    tenant: Tenant,
    filters: LineFilters,
    *,
    after: str | None = None,
    before: str | None = None,
    columns: Sequence = (),
) -> tuple[KeysetPage, dict[int, tuple]]:
    """One page of the lines the member may see, filtered and sorted, by keyset: the page after the token
    ``after`` (or before ``before``); the count goes up to ``COUNT_LIMIT``. One statement: the page's users
    are joined; their tariffs come from the catalogue the page reads anyway (``tariffs``); ``columns``
    (sub-selects correlated to ``Line``, the marks' of ``tenants.marks``) are read with them, their values
    returned by line id."""
    query = _unordered(tenant.membership, filters, load_related=False).options(joinedload(Line.user))
    page = keyset_page(
        session,
        query.add_columns(*columns),
        _sort_keys(filters),
        descending=filters.descending,
        after=after,
        before=before,
        size=PAGE_SIZE,
        rows=True,
    )
    values = {row[0].id: tuple(row[1:]) for row in page.items}
    return replace(page, items=[row[0] for row in page.items]), values


def export_lines(session: Session, tenant: Tenant, filters: LineFilters) -> Iterator[tuple]:
    """Every line of the filtered list as (number, kind, product, status, tariff name, alias, cost centre,
    user's email), streamed from the database in batches (memory stays flat). Columns, not objects: tariffs
    and users' emails are read once, beforehand, and named by id (several times faster than loading lines)."""
    query = _filtered(tenant.membership, filters)
    tariffs = dict(session.execute(select(Tariff.id, Tariff.name)).all())
    assigned = query.with_only_columns(Line.user_id).order_by(None).where(Line.user_id.is_not(None))
    emails = dict(session.execute(select(User.id, User.email).where(User.id.in_(assigned))).all())
    columns = (Line.number, Line.kind, Line.product, Line.status, Line.tariff_id)
    rows = session.execute(
        query.with_only_columns(*columns, Line.alias, Line.cost_centre, Line.user_id).execution_options(
            yield_per=1000
        )
    )
    for number, kind, product, status, tariff_id, alias, cost_centre, user_id in rows:
        yield number, kind, product, status, tariffs[tariff_id], alias, cost_centre, emails.get(user_id)


def find_line(session: Session, tenant: Tenant, line_id: int) -> Line | None:
    """A line the member may see, or None (the page is a 404)."""
    return session.scalar(visible_lines(tenant.membership).where(Line.id == line_id))


def tariffs(session: Session) -> list[Tariff]:
    """The tariff catalogue (shared by every company), for the filter."""
    return list(session.scalars(select(Tariff).order_by(Tariff.name)))


def assignable_users(session: Session, tenant: Tenant) -> list[User]:
    """The company's active members, by name: the people a line can be assigned to."""
    query = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.is_active.is_(True))
        .order_by(User.name)
    )
    return list(session.scalars(query))


def update_line(
    session: Session,
    tenant: Tenant,
    line: Line,
    *,
    alias: str | None,
    cost_centre: str | None,
    user_id: int | None,
    actor: User,
    origin: Origin,
) -> None:
    """Set the company's own labels of a line; ``user_id`` must be an active member (else ValueError)."""
    if user_id is not None and user_id not in {user.id for user in assignable_users(session, tenant)}:
        raise ValueError("not a member")
    changes = {
        name: value
        for name, value in (("alias", alias), ("cost_centre", cost_centre), ("user_id", user_id))
        if getattr(line, name) != value
    }
    for name, value in changes.items():
        setattr(line, name, value)
    session.flush()
    if changes:
        record_event(
            session,
            "line.updated",
            origin,
            user_id=actor.id,
            tenant_id=tenant.company.id,
            line=line.number,
            **{
                ("assigned_to" if name == "user_id" else name): _text(value)
                for name, value in changes.items()
            },
        )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass
class AssignmentRow:
    line: int
    number: str
    alias: str | None
    cost_centre: str | None
    email: str
    problems: list[str] = field(default_factory=list)
    line_id: int | None = None
    user_id: int | None = None
    columns: tuple[str, ...] = ASSIGNMENT_COLUMNS_ORDER  # those the file has: the others stay as they are


def read_assignments(session: Session, tenant: Tenant, text: str) -> list[AssignmentRow]:
    """Rows of a ``number,alias,cost centre,user email`` CSV, each with the problems that would stop it;
    nothing is written. A header row (either language, any order) is optional; with one, the columns it
    leaves out stay as they are. Empty cells clear the value. Raises ValueError for an unusable file."""
    rows: list[AssignmentRow] = []
    members = {user.email: user.id for user in assignable_users(session, tenant)}
    for number, record, _extra in csv_records(text, ASSIGNMENT_COLUMNS):
        if len(rows) >= MAX_CSV_ROWS:
            raise ValueError(_("The file has more than %(max)s rows.", max=MAX_CSV_ROWS))
        rows.append(_assignment_row(number, record, members))
    if not rows:
        raise ValueError(_("The file has no rows."))
    found = dict(
        session.execute(
            visible_lines(tenant.membership)
            .with_only_columns(Line.number, Line.id)
            .where(Line.number.in_([row.number for row in rows]))
        ).all()
    )
    seen: set[str] = set()
    for row in rows:
        row.line_id = found.get(row.number)
        if row.line_id is None and not row.problems:
            row.problems.append(_("This number is not one of the company's lines."))
        if row.number in seen:
            row.problems.append(_("This number is repeated in the file."))
        seen.add(row.number)
    return rows


def _assignment_row(number: int, record: dict[str, str], members: dict[str, int]) -> AssignmentRow:
    raw, alias, cost_centre, email = (record.get(column, "") for column in ASSIGNMENT_COLUMNS)
    row = AssignmentRow(number, raw, alias or None, cost_centre or None, email.lower(), columns=tuple(record))
    if "number" not in record:
        row.problems.append(_("The file has no column of numbers."))
    try:
        row.number = normalize_phone(raw).e164
    except InvalidIdentifier:
        row.problems.append(_("The number is not a phone number."))
    if alias and len(alias) > 60:
        row.problems.append(_("The alias is longer than 60 characters."))
    if cost_centre and len(cost_centre) > 40:
        row.problems.append(_("The cost centre is longer than 40 characters."))
    if row.email:
        row.user_id = members.get(row.email)
        if row.user_id is None:
            row.problems.append(_("Nobody with this email is an active member of the company."))
    return row


def apply_assignments(
    session: Session, tenant: Tenant, rows: list[AssignmentRow], *, actor: User, origin: Origin
) -> None:
    """Write the rows of ``read_assignments``; all must be free of problems (else ValueError, no write)."""
    if any(row.problems for row in rows):
        raise ValueError("rows with problems")
    for row in rows:
        values = {"alias": row.alias, "cost_centre": row.cost_centre, "user_id": row.user_id}
        kept = {"alias": "alias", "cost_centre": "cost_centre", "user_id": "email"}
        changed = {name: value for name, value in values.items() if kept[name] in row.columns}
        if changed:
            session.execute(update(Line).where(Line.id == row.line_id).values(**changed))
    session.flush()
    record_event(
        session, "lines.bulk_assigned", origin, user_id=actor.id, tenant_id=tenant.company.id, lines=len(rows)
    )

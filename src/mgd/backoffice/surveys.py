"""The back office's survey results: the customers' 1-5 after a closed chat conversation (``chat_surveys``)
and after a completed order (``order_surveys``), per month (Madrid) and advisor, and their comments.

Both tables belong to the companies: every read here is inside one named operator scope."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from mgd.chat.models import Survey as ChatSurvey
from mgd.db import operator_scope, utcnow
from mgd.orders.models import OrderSurvey
from mgd.security.models import User
from mgd.tenants.models import Company
from mgd.web.paging import KeysetPage, keyset_page

MADRID = ZoneInfo("Europe/Madrid")
#: The kinds of survey, as the page's ``tipo`` filter names them.
KINDS = ("chat", "order")
#: Without a month chosen, the table covers this many months back.
MONTHS = 12
_MONTH = re.compile(r"(20[0-9]{2})-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class Result:
    """One cell of the table: a month, an advisor (None: nobody, or no longer a user), answers and mean."""

    month: str
    advisor: str | None
    answers: int
    mean: float


def month_arg(value: str | None) -> str | None:
    """``YYYY-MM`` from a query string, or None for anything else."""
    return value if value and _MONTH.fullmatch(value) else None


def kind_arg(value: str | None) -> str | None:
    return value if value in KINDS else None


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The first instant of a Madrid month and of the next, in UTC."""
    year, number = int(month[:4]), int(month[5:])
    start = datetime(year, number, 1, tzinfo=MADRID)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=MADRID)
    return start.astimezone(UTC), end.astimezone(UTC)


def _answers(kind: str | None, month: str | None):
    """Both tables' answers as one list (kind, id, company, subject, advisor, score, comment, created_at)."""
    if month:
        start, end = month_bounds(month)
    else:
        start, end = utcnow() - timedelta(days=31 * MONTHS), None
    parts = []
    for name, table, subject in (
        ("chat", ChatSurvey, ChatSurvey.conversation_id),
        ("order", OrderSurvey, OrderSurvey.order_id),
    ):
        if kind not in (None, name):
            continue
        part = select(
            literal(name).label("kind"),
            table.id.label("id"),
            table.tenant_id.label("tenant_id"),
            subject.label("subject_id"),
            table.advisor_id.label("advisor_id"),
            table.score.label("score"),
            table.comment.label("comment"),
            table.created_at.label("created_at"),
        ).where(table.created_at >= start)
        parts.append(part if end is None else part.where(table.created_at < end))
    return union_all(*parts).subquery("answers") if len(parts) > 1 else parts[0].subquery("answers")


def _month(session: Session, column):
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Europe/Madrid", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def results(session: Session, *, kind: str | None = None, month: str | None = None) -> list[Result]:
    """Per month and advisor, newest month first: how many answers and their mean score."""
    answers = _answers(kind, month)
    label = _month(session, answers.c.created_at).label("month")
    with operator_scope(session, "back office: survey results"):
        rows = session.execute(
            select(label, User.name, func.count(), func.avg(answers.c.score))
            .select_from(answers)
            .outerjoin(User, User.id == answers.c.advisor_id)
            .group_by(label, User.id, User.name)
            .order_by(label.desc(), User.name)
        ).all()
    return [Result(row[0], row[1], row[2], float(row[3])) for row in rows]


def comments(
    session: Session,
    *,
    kind: str | None = None,
    month: str | None = None,
    after: str | None = None,
    before: str | None = None,
) -> KeysetPage:
    """The answers with a comment, newest first, a keyset page at a time: rows of (kind, subject id, company,
    advisor, score, comment, created_at)."""
    answers = _answers(kind, month)
    query = (
        select(
            answers.c.kind,
            answers.c.subject_id,
            Company.name,
            User.name,
            answers.c.score,
            answers.c.comment,
            answers.c.created_at,
        )
        .join(Company, Company.id == answers.c.tenant_id)
        .outerjoin(User, User.id == answers.c.advisor_id)
        .where(answers.c.comment.is_not(None))
    )
    keys = (answers.c.created_at, answers.c.kind, answers.c.id)
    with operator_scope(session, "back office: survey comments"):
        return keyset_page(session, query, keys, descending=True, after=after, before=before, rows=True)

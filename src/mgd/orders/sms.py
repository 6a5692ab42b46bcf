"""SMS sent from the web in the name of one of the company's mobile lines (Orders, Send SMS).

Guarantees: the recipients are checked one by one (Spanish mobiles only; premium-rate numbers refused);
the company's daily quota (``SMS_DAILY_QUOTA``, Madrid day) is taken by one conditional upsert, so sends made
at the same moment never pass it together; each recipient gets one outbox row sent by the outbox's actor with
the line's number as sender; the batch is recorded for the company and in the security audit trail (who,
which line, how many — never the text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from mgd.identifiers import MOBILE, InvalidIdentifier, normalize_phone, to_ascii
from mgd.notify.services import queue_sms
from mgd.orders.models import SmsBatch, SmsQuota
from mgd.orders.services import today
from mgd.security.audit import Origin, record_event
from mgd.security.models import User
from mgd.tenants.context import Tenant
from mgd.tenants.models import Line
from mgd.tenants.services import visible_lines
from mgd.web.paging import KeysetPage, keyset_page

#: The most recipients of one send, and the longest text (three SMS of 160 characters).
MAX_RECIPIENTS = 100
MAX_LENGTH = 160 * 3

_SPLIT = re.compile(r"[,;\n]+")
_SEPARATORS = re.compile(r"[\s().\-/]+")
#: Spanish premium-rate numbers (803, 806, 807, 905 and 118xx directory enquiries), with or without +34.
_PREMIUM = re.compile(r"(?:\+34|0034)?(?:(?:80[367]|905)[0-9]{6}|118[0-9]{2})")


@dataclass(frozen=True)
class Refusal:
    position: int  # 1-based, as the person counts their lines
    value: str
    reason: LazyString


@dataclass
class Recipients:
    numbers: list[str] = field(default_factory=list)  # E.164, first occurrence kept, in the given order
    refused: list[Refusal] = field(default_factory=list)
    duplicates: int = 0


def parse_recipients(text: str) -> Recipients:
    """The numbers pasted into the form (one a line, or separated by commas or semicolons), each checked."""
    found = Recipients()
    entries = [entry.strip() for entry in _SPLIT.split(text or "")]
    for position, entry in enumerate((e for e in entries if e), start=1):
        try:
            compact = _SEPARATORS.sub("", to_ascii(entry))
        except InvalidIdentifier:
            compact = entry
        if _PREMIUM.fullmatch(compact):
            found.refused.append(Refusal(position, entry, _l("premium-rate numbers cannot be sent SMS")))
            continue
        try:
            phone = normalize_phone(entry)
        except InvalidIdentifier:
            found.refused.append(Refusal(position, entry, _l("not a Spanish mobile number")))
            continue
        if phone.kind != MOBILE:
            found.refused.append(Refusal(position, entry, _l("a fixed number cannot receive SMS")))
            continue
        if phone.e164 in found.numbers:
            found.duplicates += 1
            continue
        found.numbers.append(phone.e164)
    return found


def sender_lines(tenant: Tenant) -> Select:
    """The mobile lines in service the member may send from (a member limited to some lines: only those)."""
    return visible_lines(tenant.membership, load_related=False).where(
        Line.kind == "mobile", Line.status == "active"
    )


def sender_line(session: Session, tenant: Tenant, number: str) -> Line | None:
    """The line with this E.164 number if the member may send from it; None (a 404) otherwise."""
    return session.scalar(sender_lines(tenant).where(Line.number == number))


class QuotaExceeded(Exception):
    def __init__(self, left: int) -> None:
        super().__init__(left)
        self.left = left


def take_quota(session: Session, tenant_id: int, count: int, quota: int) -> int:
    """Count ``count`` more SMS against today's quota in one statement, or raise ``QuotaExceeded`` (nothing
    counted). The row of the day is locked by the upsert until the caller commits, so two sends at once queue
    behind each other and the second sees the first's count."""
    if count > quota:
        raise QuotaExceeded(quota)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = SmsQuota.__table__
    statement = (
        dialect.insert(table)
        .values(tenant_id=tenant_id, day=today(), sent=count)
        .on_conflict_do_update(
            index_elements=[table.c.tenant_id, table.c.day],
            set_={"sent": table.c.sent + count},
            where=table.c.sent + count <= quota,
        )
        .returning(table.c.sent)
    )
    sent = session.execute(statement).scalar()
    if sent is None:
        raise QuotaExceeded(quota_left(session, tenant_id, quota))
    return sent


def quota_left(session: Session, tenant_id: int, quota: int) -> int:
    """How many more SMS the company may send today (for the page: ``take_quota`` decides the send)."""
    sent = session.scalar(
        select(SmsQuota.sent).where(SmsQuota.tenant_id == tenant_id, SmsQuota.day == today())
    )
    return max(quota - (sent or 0), 0)


def send_batch(
    session: Session,
    tenant: Tenant,
    user: User,
    line: Line,
    *,
    numbers: list[str],
    text: str,
    quota: int,
    origin: Origin,
) -> SmsBatch:
    """Take the quota, queue one SMS per number from ``line``, record the batch and the audit event."""
    take_quota(session, tenant.company.id, len(numbers), quota)
    for number in numbers:
        queue_sms(session, number, text, sender=line.number)
    batch = SmsBatch(tenant_id=tenant.company.id, line_id=line.id, user_id=user.id, recipients=len(numbers))
    session.add(batch)
    session.flush()
    record_event(
        session,
        "sms.batch_sent",
        origin,
        user_id=user.id,
        tenant_id=tenant.company.id,
        line=line.number,
        recipients=len(numbers),
        batch=batch.id,
    )
    return batch


def company_batches(
    session: Session, tenant: Tenant, *, after: str | None = None, before: str | None = None
) -> KeysetPage:
    """The company's sends, newest first (a member limited to some lines: those from their lines)."""
    seen = visible_lines(tenant.membership, load_related=False).with_only_columns(Line.id)
    query = (
        select(SmsBatch)
        .where(SmsBatch.line_id.in_(seen))
        .options(selectinload(SmsBatch.line), selectinload(SmsBatch.user))
    )
    return keyset_page(
        session, query, (SmsBatch.created_at, SmsBatch.id), descending=True, after=after, before=before
    )

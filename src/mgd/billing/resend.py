"""An invoice sent again by email: a message with its number, amount and due date and a link to its page in
the portal (where the PDF is downloaded after signing in), never the PDF itself. Counted by send limits."""

from __future__ import annotations

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from mgd.billing.models import Invoice
from mgd.billing.money import euros
from mgd.notify.senders import in_language, templated_mail
from mgd.notify.services import queue_mail
from mgd.notify.throttle import Requester, count_send
from mgd.security.audit import Origin, record_event
from mgd.security.models import User
from mgd.tenants.context import Tenant
from mgd.web.links import external_url


def resend_invoice(
    session: Session, tenant: Tenant, invoice: Invoice, to: str, *, actor: User, locale: str, origin: Origin
) -> None:
    """Queue the invoice's email to ``to`` (an address the view offered), in the recipient's language: that of
    the portal's user with this address, else ``locale`` (the sender's). Raises ``SendLimited``."""
    count_send(session, to, Requester(actor.id, (tenant.company.id,)))
    link = external_url("billing.invoice", ref=tenant.company.public_ref, invoice_id=invoice.id)
    language = recipient_language(session, to) or locale
    with in_language(language):
        mail = templated_mail(
            to,
            _("Invoice %(number)s of %(company)s", number=invoice.number, company=tenant.company.name),
            "billing_invoice",
            locale=language,
            company=tenant.company.name,
            number=invoice.number,
            total=euros(invoice.total_cents, language),
            due_on=format_date(invoice.due_on),
            link=link,
            actor=actor.name,
        )
    queue_mail(session, mail)
    record_event(
        session,
        "billing.invoice_resent",
        origin,
        user_id=actor.id,
        tenant_id=tenant.company.id,
        invoice=invoice.number,
        to=to,
    )


def recipient_language(session: Session, email: str) -> str | None:
    """The language chosen by the portal's user with this address (None: no such user, or none chosen)."""
    chosen = session.scalar(select(User.locale).where(User.email == email))
    return chosen[:2] if chosen else None

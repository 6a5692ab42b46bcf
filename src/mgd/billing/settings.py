"""Changes to a billing account, made by a company administrator: how invoices are delivered, the
direct-debit IBAN (confirmed by a one-time code sent to the administrator's verified mobile, and recorded
with a new mandate reference and date) and the billing address. Each change is audited and emailed to the
company's administrators.

Services flush, never commit; a refused code send raises ``SendLimited`` with nothing written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from mgd.billing.names import masked_iban
from mgd.db import utcnow
from mgd.notify.senders import Mail, in_language, templated_mail
from mgd.notify.services import queue_mail
from mgd.security.audit import Origin, record_event
from mgd.security.codes import CodeCheck, CodeMessage, check_code, issue_code, signed_in_requester
from mgd.security.models import CodeChallenge, User
from mgd.tenants.addresses import province_of
from mgd.tenants.context import Tenant
from mgd.tenants.models import BillingAccount, Membership
from mgd.web.links import external_url

IBAN_CODE = "billing_iban"
MADRID = ZoneInfo("Europe/Madrid")  # the mandate is dated as the customer's calendar reads


class NoVerifiedMobile(Exception):
    """The administrator has no verified mobile to receive the code."""


def admin_emails(session: Session) -> list[tuple[str, str | None]]:
    """The emails of the company's active administrators, with their languages (the session is scoped to the
    company)."""
    query = (
        select(User.email, User.locale)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.role == "admin", Membership.is_active.is_(True), User.is_active.is_(True))
        .order_by(User.email)
    )
    return [(email, locale) for email, locale in session.execute(query)]


def _tell_admins(
    session: Session, tenant: Tenant, account: BillingAccount, actor: User, change: Callable[[], str]
) -> None:
    """Email the company's administrators, each in their own language: ``change`` makes the line that says
    what changed ("Delivery: paper → email to …"), called in that language."""
    link = external_url("billing.settings", ref=tenant.company.public_ref)
    for email, locale in admin_emails(session):
        with in_language(locale):
            said = change()
        queue_mail(
            session,
            templated_mail(
                email,
                _l("A billing change in %(company)s", company=tenant.company.name),
                "billing_changed",
                locale=locale,
                company=tenant.company.name,
                account=account.ref,
                change=said,
                actor=actor.name,
                link=link,
            ),
        )


def change_delivery(
    session: Session,
    tenant: Tenant,
    account: BillingAccount,
    *,
    delivery: str,
    emails: list[str],
    actor: User,
    origin: Origin,
) -> bool:
    """Invoices on paper, or by email to ``emails`` (1 to 5 normalised addresses); False: nothing changed."""
    stored = " ".join(emails) if delivery == "email" else None
    before = (account.invoice_delivery, account.einvoice_emails)
    if before == (delivery, stored):
        return False
    account.invoice_delivery, account.einvoice_emails = delivery, stored
    session.flush()
    record_event(
        session,
        "billing.delivery_changed",
        origin,
        user_id=actor.id,
        tenant_id=tenant.company.id,
        account=account.ref,
        delivery=delivery,
        emails=stored,
    )

    def change() -> str:
        return _(
            "Delivery: %(before)s → %(after)s", before=_delivery(*before), after=_delivery(delivery, stored)
        )

    _tell_admins(session, tenant, account, actor, change)
    return True


def _delivery(kind: str | None, emails: str | None) -> str:
    if kind == "email":
        return _("email to %(emails)s", emails=", ".join((emails or "").split()))
    return _("paper")


def change_address(
    session: Session,
    tenant: Tenant,
    account: BillingAccount,
    *,
    address: str,
    postcode: str,
    city: str,
    actor: User,
    origin: Origin,
) -> bool:
    """Set the billing address (``postcode`` normalised; its province is the one it names)."""
    values = {
        "billing_address": address,
        "billing_postcode": postcode,
        "billing_city": city,
        "billing_province": province_of(postcode),
    }
    if all(getattr(account, name) == value for name, value in values.items()):
        return False
    before = _address(
        account.billing_address, account.billing_postcode, account.billing_city, account.billing_province
    )
    for name, value in values.items():
        setattr(account, name, value)
    session.flush()
    record_event(
        session,
        "billing.address_changed",
        origin,
        user_id=actor.id,
        tenant_id=tenant.company.id,
        account=account.ref,
        postcode=postcode,
        city=city,
    )
    after = _address(address, postcode, city, values["billing_province"])

    def change() -> str:
        return _("Billing address: %(before)s → %(after)s", before=before or _("none"), after=after)

    _tell_admins(session, tenant, account, actor, change)
    return True


def _address(address: str | None, postcode: str | None, city: str | None, province: str | None) -> str:
    """An address on one line; "" when none was given."""
    place = " ".join(part for part in (postcode, city) if part)
    shown = ", ".join(part for part in (address, place) if part)
    return f"{shown} ({province})" if shown and province else shown


@dataclass(frozen=True)
class _IbanCode(CodeMessage):
    """The SMS names the account and the new IBAN's last digits: the code confirms that change, no other."""

    account: str = ""
    digits: str = ""

    def sms(self, code: str, locale: str | None = None) -> str:
        with in_language(locale):
            return _(
                "MGD: %(code)s is your code to pay the invoices of account %(account)s from the bank account "
                "ending in %(digits)s. Do not share it.",
                code=code,
                account=self.account,
                digits=self.digits,
            )

    def mail(self, to: str, code: str, locale: str | None = None) -> Mail:
        """The same words by email (the page sends by SMS; the codes machinery may ask for either)."""
        with in_language(locale):
            return Mail(to=to, subject=_("Confirm the new bank account"), text=self.sms(code, locale))


def request_iban_change(
    session: Session, tenant: Tenant, account: BillingAccount, iban: str, *, actor: User, origin: Origin
) -> CodeChallenge:
    """Send a code to the administrator's verified mobile to confirm ``iban`` (normalised) for ``account``.

    Raises ``NoVerifiedMobile``, or ``SendLimited`` (nothing sent) when a send limit is spent.
    """
    if not actor.mobile:
        raise NoVerifiedMobile
    challenge = issue_code(
        session,
        purpose=IBAN_CODE,
        channel="sms",
        destination=actor.mobile,
        message=_IbanCode("", "", account=account.ref, digits=iban[-4:]),
        requester=signed_in_requester(session, actor.id),
        user_id=actor.id,
        locale=actor.locale,
    )
    record_event(
        session,
        "billing.iban_code_sent",
        origin,
        user_id=actor.id,
        tenant_id=tenant.company.id,
        account=account.ref,
        iban=masked_iban(iban),
    )
    return challenge


def mandate_reference(tenant: Tenant, account: BillingAccount) -> str:
    """A new SEPA mandate reference (at most 35 characters): company, account and the moment it was signed."""
    return f"MGD-{tenant.company.id}-{account.id}-{utcnow():%Y%m%d%H%M%S}"[:35]


def confirm_iban_change(
    session: Session,
    tenant: Tenant,
    account: BillingAccount,
    *,
    challenge_id: int,
    iban: str,
    code: str,
    actor: User,
    origin: Origin,
) -> CodeCheck:
    """Check the code; when right, ``iban`` becomes the account's, under a new mandate signed today."""
    challenge = session.get(CodeChallenge, challenge_id)
    if challenge is None or challenge.user_id != actor.id or challenge.purpose != IBAN_CODE:
        return CodeCheck.DEAD
    result = check_code(session, challenge, code)
    detail = {"account": account.ref, "iban": masked_iban(iban)}
    if result is not CodeCheck.ACCEPTED:
        record_event(
            session,
            f"billing.iban_code_{result}",
            origin,
            user_id=actor.id,
            tenant_id=tenant.company.id,
            **detail,
        )
        return result
    previous = account.iban
    account.iban = iban
    account.mandate_reference = mandate_reference(tenant, account)
    account.mandate_signed_on = utcnow().astimezone(MADRID).date()
    session.flush()
    record_event(
        session,
        "billing.iban_changed",
        origin,
        user_id=actor.id,
        tenant_id=tenant.company.id,
        previous=masked_iban(previous),
        mandate=account.mandate_reference,
        **detail,
    )

    def change() -> str:
        return _(
            "Direct debit: %(before)s → %(after)s (mandate %(mandate)s of %(date)s)",
            before=masked_iban(previous) if previous else _("none"),
            after=masked_iban(iban),
            mandate=account.mandate_reference,
            date=format_date(account.mandate_signed_on),
        )

    _tell_admins(session, tenant, account, actor, change)
    return result

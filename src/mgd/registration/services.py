"""Self-registration, step by step, with the operator's rules for SMEs.

Each step function takes the flow and what the visitor typed, locks the flow's row (one step of a flow at a
time, however many requests arrive at once), moves the flow's state machine, and flushes.
A refusal raises ``Refused`` *after* flushing its counters and its audit event: the view shows it as a page
(a response, which the edge commits, never an error), so that a wrong guess is always counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from mgd.db import increment, utcnow
from mgd.identifiers import MOBILE, InvalidIdentifier, Phone, normalize_iban
from mgd.notify.senders import templated_mail
from mgd.notify.services import queue_mail
from mgd.notify.throttle import Requester
from mgd.registration.machine import machine
from mgd.registration.models import RegistrationFlow
from mgd.registration.steps import ACTIVE_STEPS, BACK
from mgd.security.audit import Origin, record_event
from mgd.security.codes import CodeCheck, CodeMessage, check_code, issue_code, retire
from mgd.security.models import CodeChallenge, User
from mgd.security.services import create_user
from mgd.tenants.models import Company, Membership
from mgd.tenants.services import billing_ibans, find_company, find_interlocutor, find_line, line_kinds
from mgd.web.shell import current_language

FLOW_LIFETIME = timedelta(minutes=30)
MAX_WRONG_PHONES = 3
MAX_WRONG_IBANS = 3
MAX_RESENDS = 3
RESEND_AFTER = timedelta(seconds=60)


class Refused(Exception):
    """A refused step: ``reason`` says why (the view words it), ``field`` which field is to blame, if any."""

    def __init__(self, reason: str, field: str | None = None, **details: object) -> None:
        super().__init__(reason)
        self.reason, self.field, self.details = reason, field, details


@dataclass(frozen=True)
class LargeAccount:
    """Step 1 found a Grandes Clientes company: it asks for access with a request instead."""

    fiscal_id: str
    email: str


def _refuse(
    session: Session,
    origin: Origin,
    reason: str,
    *,
    step: str,
    fiscal_id: str,
    field: str | None = None,
    company_id: int | None = None,
) -> Refused:
    """Audit a refusal and return the error to raise."""
    record_event(
        session,
        "registration.refused",
        origin,
        tenant_id=company_id,
        fiscal_id=fiscal_id,
        step=step,
        reason=reason,
    )
    return Refused(reason, field)


def _lock(session: Session, flow: RegistrationFlow, origin: Origin, reason: str) -> Refused:
    step = flow.state
    machine(flow).send("lock")
    flow.end_reason = reason
    session.flush()
    record_event(
        session,
        "registration.locked",
        origin,
        tenant_id=flow.company_id,
        fiscal_id=flow.fiscal_id,
        step=step,
        reason=reason,
    )
    return Refused("locked")


# ---- step 1 ---------------------------------------------------------------------------------------------


def start_registration(
    session: Session, fiscal_id: str, email: str, origin: Origin
) -> RegistrationFlow | LargeAccount:
    """Open a flow for a company the operator knows and one of its interlocutors.

    ``fiscal_id`` is normalised, ``email`` as typed. Raises ``Refused`` with reason ``unknown_company``,
    ``not_interlocutor`` or ``already_user``.
    """
    email = email.strip().lower()
    company = find_company(session, fiscal_id)
    if company is None:
        raise _refuse(
            session, origin, "unknown_company", step="identify", fiscal_id=fiscal_id, field="fiscal_id"
        )
    if company.segment == "grandes_clientes":
        return LargeAccount(fiscal_id, email)
    flow = RegistrationFlow(
        state="identify", fiscal_id=fiscal_id, email=email, ip=origin.ip, company_id=company.id
    )
    session.add(flow)
    reason = None
    if find_interlocutor(session, company, email) is None:
        reason = "not_interlocutor"
    elif session.scalar(select(User.id).where(User.email == email)) is not None:
        reason = "already_user"
    if reason:
        machine(flow).send("refuse")
        flow.end_reason = reason
        session.flush()
        raise _refuse(session, origin, reason, step="identify", fiscal_id=fiscal_id, company_id=company.id)
    machine(flow).send("identified")
    session.flush()
    return flow


# ---- finding and expiring flows ---------------------------------------------------------------------------


def current_flow(session: Session, token: str | None) -> RegistrationFlow | None:
    """The flow behind a session token, expired first if it has been idle too long."""
    if not token:
        return None
    flow = session.scalar(select(RegistrationFlow).where(RegistrationFlow.token == token))
    if flow is not None and flow.state in ACTIVE_STEPS and utcnow() - flow.updated_at > FLOW_LIFETIME:
        machine(flow).send("expire")
        flow.end_reason = "idle"
        session.flush()
    return flow


def _hold(session: Session, flow: RegistrationFlow, state: str) -> None:
    """Lock the flow's row until commit and read it again, so that the steps of one flow are taken one at a
    time and its counters are never raced; ``Refused("moved")`` if a parallel request moved it from ``state``.
    """
    session.refresh(flow, with_for_update=True)
    if flow.state != state:
        raise Refused("moved")


def _company(session: Session, flow: RegistrationFlow) -> Company:
    return session.get(Company, flow.company_id)


# ---- step 2 and 3: phones --------------------------------------------------------------------------------


def submit_phone(session: Session, flow: RegistrationFlow, phone: Phone, origin: Origin) -> None:
    """A fixed or mobile number of the company. Decides where the code will go and which IBANs to ask."""
    _hold(session, flow, "phone")
    company = _company(session, flow)
    if find_line(session, company, phone.e164) is None:
        raise _wrong_phone(session, flow, origin)
    kinds = line_kinds(session, company)
    flow.phone = phone.e164
    flow.needs_fixed_iban = "fixed" in kinds
    flow.needs_mobile_iban = "mobile" in kinds
    if phone.kind == MOBILE:
        flow.code_mobile = phone.e164
        machine(flow).send("phone_accepted")
    elif "mobile" in kinds:
        machine(flow).send("fixed_phone_given")
    else:
        flow.code_mobile = None  # only fixed lines: the code goes to the interlocutor's email
        machine(flow).send("phone_accepted")
    session.flush()


def submit_mobile(session: Session, flow: RegistrationFlow, phone: Phone, origin: Origin) -> None:
    """A mobile line of the company, where the codes will be sent."""
    _hold(session, flow, "mobile")
    line = find_line(session, _company(session, flow), phone.e164) if phone.kind == MOBILE else None
    if line is None:
        raise _wrong_phone(session, flow, origin)
    flow.code_mobile = phone.e164
    machine(flow).send("mobile_accepted")
    session.flush()


def _wrong_phone(session: Session, flow: RegistrationFlow, origin: Origin) -> Refused:
    if increment(session, flow, "wrong_phones") >= MAX_WRONG_PHONES:
        return _lock(session, flow, origin, "wrong_phones")
    step = flow.state
    error = _refuse(
        session,
        origin,
        "wrong_phone",
        step=step,
        fiscal_id=flow.fiscal_id,
        field="phone",
        company_id=flow.company_id,
    )
    error.details["left"] = MAX_WRONG_PHONES - flow.wrong_phones
    return error


def go_back(session: Session, flow: RegistrationFlow) -> None:
    """Return the flow to the step before its current one (``steps.BACK``); its counters stay as they are.
    ``Refused("moved")`` if the current step has no way back or a parallel request moved the flow."""
    step = flow.state
    if step not in BACK:
        raise Refused("moved")
    _hold(session, flow, step)
    machine(flow).send("back")
    session.flush()


# ---- step 3: bank accounts --------------------------------------------------------------------------------


def submit_accounts(
    session: Session, flow: RegistrationFlow, fixed_iban: str | None, mobile_iban: str | None, origin: Origin
) -> None:
    """The IBANs where the company's fixed and/or mobile lines are paid (only those the flow asks for).

    The values are IBANs or Spanish CCCs as typed; they are normalised and compared with the billing accounts.
    On success the one-time code is sent; ``SendLimited`` when it cannot go yet (the step is then not taken).
    """
    _hold(session, flow, "bank")
    company = _company(session, flow)
    wrong = []
    for kind, given, needed in (
        ("fixed", fixed_iban, flow.needs_fixed_iban),
        ("mobile", mobile_iban, flow.needs_mobile_iban),
    ):
        if needed and _normalized(given) not in billing_ibans(session, company, kind):
            wrong.append(f"{kind}_iban")
    if wrong:
        if increment(session, flow, "wrong_ibans") >= MAX_WRONG_IBANS:
            raise _lock(session, flow, origin, "wrong_ibans")
        error = _refuse(
            session,
            origin,
            "wrong_iban",
            step="bank",
            fiscal_id=flow.fiscal_id,
            field=wrong[0],
            company_id=flow.company_id,
        )
        error.details.update(fields=wrong, left=MAX_WRONG_IBANS - flow.wrong_ibans)
        raise error
    with session.begin_nested():
        machine(flow).send("accounts_accepted")
        _send_code(session, flow)


def _normalized(iban: str | None) -> str | None:
    try:
        return normalize_iban(iban or "")
    except InvalidIdentifier:
        return None


# ---- step 4: the code -------------------------------------------------------------------------------------

REGISTRATION_CODE = "registration_code"


def _send_code(session: Session, flow: RegistrationFlow) -> None:
    retire(session, session.get(CodeChallenge, flow.challenge_id) if flow.challenge_id else None)
    channel, destination = ("sms", flow.code_mobile) if flow.code_mobile else ("email", flow.email)
    message = CodeMessage(REGISTRATION_CODE, _l("Your MGD registration code"))
    challenge = issue_code(
        session,
        purpose="registration",
        channel=channel,
        destination=destination,
        message=message,
        requester=Requester(company_ids=(flow.company_id,)),
    )
    flow.challenge_id = challenge.id
    flow.code_sent_at = utcnow()
    session.flush()


def seconds_until_resend(flow: RegistrationFlow) -> int:
    """How long the visitor must wait before asking for a new code (0: now)."""
    if flow.code_sent_at is None:
        return 0
    return max(0, int((flow.code_sent_at + RESEND_AFTER - utcnow()).total_seconds() + 0.999))


def resend_code(session: Session, flow: RegistrationFlow, origin: Origin) -> None:
    """A new code, replacing the previous one: after ``RESEND_AFTER``, at most ``MAX_RESENDS`` times.
    ``SendLimited`` when it cannot go yet, and then nothing is kept (the resend is not counted)."""
    _hold(session, flow, "code")
    if flow.resends >= MAX_RESENDS:
        raise Refused("no_resends_left")
    if seconds_until_resend(flow):
        raise Refused("resend_too_soon", wait=seconds_until_resend(flow))
    with session.begin_nested():
        increment(session, flow, "resends", below=MAX_RESENDS)
        _send_code(session, flow)
        record_event(
            session,
            "registration.code_resent",
            origin,
            tenant_id=flow.company_id,
            fiscal_id=flow.fiscal_id,
            resends=flow.resends,
        )


def submit_code(session: Session, flow: RegistrationFlow, code: str, origin: Origin) -> User:
    """Check the code; if right, create the web administrator and email a temporary password.

    Raises ``Refused``: ``wrong_code`` (tries left), ``code_dead`` (ask for a new one), ``locked`` (dead code,
    and no resends left), ``already_user`` (another flow registered this email first), ``moved`` (the same
    code, sent twice at once, was accepted by the other request).
    """
    _hold(session, flow, "code")
    challenge = session.get(CodeChallenge, flow.challenge_id)
    result = check_code(session, challenge, code)
    if result is CodeCheck.WRONG:
        raise _refuse(
            session,
            origin,
            "wrong_code",
            step="code",
            fiscal_id=flow.fiscal_id,
            field="code",
            company_id=flow.company_id,
        )
    if result is CodeCheck.DEAD:
        if flow.resends >= MAX_RESENDS:
            raise _lock(session, flow, origin, "codes_exhausted")
        raise _refuse(
            session,
            origin,
            "code_dead",
            step="code",
            fiscal_id=flow.fiscal_id,
            field="code",
            company_id=flow.company_id,
        )
    if session.scalar(select(User.id).where(User.email == flow.email)) is not None:
        machine(flow).send("refuse")
        flow.end_reason = "already_user"
        session.flush()
        raise _refuse(
            session, origin, "already_user", step="code", fiscal_id=flow.fiscal_id, company_id=flow.company_id
        )
    return _create_administrator(session, flow, origin)


def _create_administrator(session: Session, flow: RegistrationFlow, origin: Origin) -> User:
    company = _company(session, flow)
    person = find_interlocutor(session, company, flow.email)
    user, password = create_user(
        session, email=flow.email, name=person.name, mobile=flow.code_mobile, locale=current_language()
    )
    session.add(Membership(tenant_id=company.id, user_id=user.id, role="admin"))
    flow.user_id = user.id
    machine(flow).send("code_accepted")
    session.flush()
    subject = _("Welcome to MGD: your temporary password")
    queue_mail(
        session, templated_mail(user.email, subject, "welcome", user=user, company=company, password=password)
    )
    record_event(
        session,
        "registration.completed",
        origin,
        user_id=user.id,
        tenant_id=company.id,
        fiscal_id=flow.fiscal_id,
    )
    return user

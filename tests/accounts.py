"""Companies and their members committed in an app's database (the suite's, or the live portal's), as web tests
need them: ids and references, never ORM objects; and the user rows tests read or change between requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from mgd.admin.models import Invitation
from mgd.chat.models import Conversation, Message
from mgd.db import get_session, set_tenant
from mgd.orders.models import Order, OrderEvent, OrderLine
from mgd.security.models import User, UserSession
from mgd.tenants.models import BillingAccount, Line, Membership
from mgd.tenants.models import Company as CompanyRow
from mgd.usage.alert_models import UsageAlert, UsageAlertRecipient
from tests.factories import make_company, make_invoice, make_line, make_member, make_payment


@dataclass
class Company:
    id: int
    ref: str
    lines: list[int] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    members: dict[str, int] = field(default_factory=dict)  # email -> membership id
    invoices: list[int] = field(default_factory=list)  # oldest first
    account: int | None = None  # the billing account of the invoices


def create_company(app, name: str, lines: int = 0) -> Company:
    """A company with some lines, committed in ``app``'s database."""
    with app.app_context():
        session = get_session()
        company = make_company(session, name=name)
        set_tenant(session, company.id)
        made = [make_line(session, company) for _ in range(lines)]
        session.commit()
        return Company(
            company.id, company.public_ref, [line.id for line in made], [line.number for line in made]
        )


def add_member(app, company: Company, email: str, role: str) -> int:
    """An onboarded user with a membership of ``company`` (the user is reused if the email exists); its id."""
    with app.app_context():
        session = get_session()
        membership_id = make_member(session, company.id, email, role).id
        session.commit()
        company.members[email] = membership_id
        return membership_id


def add_invoices(app, company: Company, months: tuple[int, ...] = (8, 9, 10)) -> list[int]:
    """Invoices of the billing account of the company's first line, issued on the 5th of ``months`` of 2026
    (the last one overdue, the others paid, with their payments): an account charge and, for every line, a fee;
    the first line has usage too and the last a discount."""
    with app.app_context():
        session = get_session()
        set_tenant(session, company.id)
        row = session.get(CompanyRow, company.id)
        lines = [session.get(Line, line_id) for line_id in company.lines]
        account = session.get(BillingAccount, lines[0].billing_account_id)
        for number, month in enumerate(months):
            charges = [(None, "fee", 1000), *((line, "fee", 2000 + 100 * n) for n, line in enumerate(lines))]
            charges += [(lines[0], "usage", 350), (lines[-1], "discount", -500)]
            last = number == len(months) - 1
            invoice = make_invoice(
                session,
                row,
                account,
                charges,
                issued_on=date(2026, month, 5),
                status="overdue" if last else "paid",
            )
            if not last:
                make_payment(session, row, account, invoice.total_cents, date(2026, month, 25))
            company.invoices.append(invoice.id)
        company.account = account.id
        session.commit()
        return company.invoices


def add_alert(app, company: Company) -> int:
    """A consumption alert of the whole company at 80 % of the data allowance, telling its first member by
    email; its id."""
    with app.app_context():
        session = get_session()
        set_tenant(session, company.id)
        alert = UsageAlert(tenant_id=company.id, scope="company", metric="data_percent", percent=80)
        session.add(alert)
        session.flush()
        member = min(company.members.values())
        session.add(UsageAlertRecipient(tenant_id=company.id, alert_id=alert.id, membership_id=member))
        session.commit()
        return alert.id


def add_order(app, company: Company, state: str = "submitted") -> int:
    """A voicemail reset of the company's first line, asked by its first member (submitted, or ``state``:
    each state once per company); its id."""
    with app.app_context():
        session = get_session()
        set_tenant(session, company.id)
        member = session.get(Membership, min(company.members.values()))
        order = Order(
            tenant_id=company.id,
            kind="voicemail_reset",
            requester_id=member.user_id,
            payload={},
            state=state,
            idempotency_key=f"test-{company.id}" + ("" if state == "submitted" else f"-{state}"),
        )
        session.add(order)
        session.flush()
        session.add(OrderLine(tenant_id=company.id, order_id=order.id, line_id=company.lines[0]))
        session.add(
            OrderEvent(tenant_id=company.id, order_id=order.id, to_state="submitted", actor="customer")
        )
        session.commit()
        return order.id


def add_attachment(app, company: Company, order_id: int) -> int:
    """A small PDF attached to one of the company's orders (its bytes stored as uploads are); its id."""
    import io  # noqa: PLC0415

    from mgd import attachments  # noqa: PLC0415
    from mgd.orders.models import OrderAttachment  # noqa: PLC0415

    with app.app_context():
        session = get_session()
        set_tenant(session, company.id)
        stored = attachments.store(
            io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "a.pdf", area="orders", tenant_id=company.id
        )
        row = OrderAttachment(
            tenant_id=company.id,
            order_id=order_id,
            filename=stored.filename,
            content_type=stored.content_type,
            size=stored.size,
            storage_key=stored.key,
        )
        session.add(row)
        session.commit()
        return row.id


def add_conversation(app, company: Company, state: str = "waiting", *, with_file: bool = False) -> int:
    """A chat conversation opened by the company's first member, with its first message (and, ``with_file``,
    a small PDF sent in it, stored as uploads are); its id."""
    with app.app_context():
        session = get_session()
        set_tenant(session, company.id)
        member = session.get(Membership, min(company.members.values()))
        conversation = Conversation(tenant_id=company.id, customer_id=member.user_id, state=state)
        session.add(conversation)
        session.flush()
        message = Message(
            tenant_id=company.id, conversation_id=conversation.id, author="customer", body="Hello"
        )
        session.add(message)
        if with_file:
            import io  # noqa: PLC0415

            from mgd import attachments  # noqa: PLC0415
            from mgd.chat.models import ChatAttachment  # noqa: PLC0415

            session.flush()
            stored = attachments.store(
                io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "c.pdf", area="chat", tenant_id=company.id
            )
            session.add(
                ChatAttachment(
                    tenant_id=company.id,
                    conversation_id=conversation.id,
                    message_id=message.id,
                    slot=1,
                    filename=stored.filename,
                    content_type=stored.content_type,
                    size=stored.size,
                    storage_key=stored.key,
                )
            )
        session.commit()
        return conversation.id


def create_member(app) -> int:
    """Ana: an onboarded web administrator of a new company, with a verified mobile; her user id."""
    with app.app_context():
        session = get_session()
        company = make_company(session)
        ana = make_member(session, company.id, "ana@example.es", name="Ana Ruiz", mobile="+34612000001")
        user_id = ana.user_id
        session.commit()
        return user_id


def update_user(app, user_id, **values):
    with app.app_context():
        session = get_session()
        user = session.get(User, user_id)
        for name, value in values.items():
            setattr(user, name, value)
        session.commit()


def load_user(app, user_id) -> User:
    with app.app_context():
        return get_session().get(User, user_id)


def age_session(app, user_id, **ages: timedelta) -> None:
    """Move the user's newest session's timestamps (``last_seen_at=timedelta(minutes=31)``) into the past."""
    with app.app_context():
        session = get_session()
        row = session.scalars(
            select(UserSession).where(UserSession.user_id == user_id).order_by(UserSession.id.desc())
        ).first()
        for name, age in ages.items():
            setattr(row, name, getattr(row, name) - age)
        session.commit()


def user_sessions(app, user_id) -> list[UserSession]:
    """The user's server-side sessions, oldest first."""
    with app.app_context():
        query = select(UserSession).where(UserSession.user_id == user_id).order_by(UserSession.id)
        return list(get_session().scalars(query))


def user_id_of(app, email: str) -> int:
    with app.app_context():
        return get_session().scalar(select(User.id).where(User.email == email))


def add_draft(app, company: Company, email: str = "nueva@example.es") -> int:
    """A draft invitation (as a Grandes Clientes approval prepares them) on behalf of the company's first
    member; its id."""
    from mgd.admin.invitations import prepare_drafts  # noqa: PLC0415

    with app.app_context():
        session = get_session()
        set_tenant(session, company.id)
        member = session.get(Membership, min(company.members.values()))
        admin = session.get(User, member.user_id)
        prepare_drafts(
            session, session.get(CompanyRow, company.id), [{"name": "Nueva", "email": email}], admin=admin
        )
        session.commit()
        return session.scalar(
            select(Invitation.id).where(Invitation.email == email, Invitation.status == "draft")
        )

"""Isolation, walked over the app's whole URL map.

Signed in to company A as its admin, every company route is called with company B's reference, and every route
that takes an object id with B's ids under A's reference: each answers 404, whatever the method, and B's rows are
unchanged afterwards. A member limited to some lines gets 404 for the other lines of their own company. A route
this file does not know fails the test until it is classified here.
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select, update

from mgd.admin.models import Invitation
from mgd.billing.models import Invoice
from mgd.chat.models import ChatAttachment, Conversation, Message, Survey
from mgd.db import get_session, operator_scope, set_tenant
from mgd.identifiers import format_phone
from mgd.orders.models import Order, OrderSurvey, SmsBatch, SmsQuota
from mgd.tenants.models import BillingAccount, Line, Membership
from mgd.usage.alert_models import UsageAlert, UsageAlertRecipient
from tests.accounts import add_alert, add_attachment, add_conversation, add_invoices, add_order
from tests.kit import confirm, post, signed_in_client, text, token
from tests.usage.kit import add_sample_usage

#: Routes that load no company's rows from their URL: each says why it needs no cross-company check.
NOT_COMPANY_ROUTES = {
    "static": "files",
    "portal.home": "public",
    "ops.healthz": "operations: no rows",
    "ops.readyz": "operations: SELECT 1",
    "ops.metrics": "operations: counts of the whole outbox, no company's rows",
    "portal.set_language": "the visitor's own language",
    "selfcare.terms": "public",
    "selfcare.home": "the signed-in user's own companies",
    "selfcare.choose_company": "the signed-in user's own companies",
    "selfcare.onboarding": "the signed-in user's own data",
    "selfcare.verify_mobile": "the signed-in user's own code",
    "security.login": "public",
    "security.choose_channel": "the pending sign-in in the session",
    "security.enter_code": "the pending sign-in in the session",
    "security.resend_code": "the pending sign-in in the session",
    "security.change_password": "the signed-in user",
    "security.logout": "the signed-in user",
    "security.reauthenticate": "the signed-in user",
    "password_reset.request_code": "public, no enumeration (tests/security/test_password_reset.py)",
    "password_reset.enter_code": "the reset in the session",
    "password_reset.new_password": "the reset in the session",
    "profile.show": "the signed-in user",
    "profile.authenticator": "the signed-in user",
    "profile.email": "the signed-in user",
    "profile.confirm_email": "the signed-in user",
    "profile.mobile": "the signed-in user",
    "profile.password": "the signed-in user",
    "profile.end_session": "the signed-in user's own sessions",
    "profile.end_other_sessions": "the signed-in user's own sessions",
    "registration.identify": "public; the flow is in the session",
    "registration.phone": "the registration flow in the session",
    "registration.mobile": "the registration flow in the session",
    "registration.bank": "the registration flow in the session",
    "registration.code": "the registration flow in the session",
    "registration.resend": "the registration flow in the session",
    "registration.back": "the registration flow in the session",
    "registration.end": "the registration flow in the session",
    "registration.access_request": "public form",
    "registration.access_request_sent": "public page",
    "invitations.accept": "an unguessable token (tests/admin/test_invitations.py)",
    "backoffice.queue": "operator staff only (tests/security/test_backoffice.py)",
    "backoffice.request_detail": "operator staff only",
    "backoffice.follow_ups": "operator staff only",
    "backoffice.activity": "operator staff only",
    "backoffice.activity_export": "operator staff only",
    "backoffice_orders.index": "operator staff only (tests/orders/test_flow.py)",
    "backoffice_orders.detail": "operator staff only",
    "backoffice_orders.act": "operator staff only",
    "backoffice_orders.attachment": "operator staff only (tests/orders/test_puk_and_files.py)",
    "backoffice_chat.desk": "operator staff only (tests/chat/test_flow.py)",
    "backoffice_chat.conversation": "operator staff only",
    "backoffice_chat.news": "operator staff only",
    "backoffice_chat.wait": "operator staff only (tests/chat/test_stream.py)",
    "backoffice_chat.act": "operator staff only",
    "backoffice_chat.transcripts": "operator staff only",
    "backoffice_chat.surveys": "operator staff only",
    "backoffice_surveys.index": "operator staff only (tests/orders/test_survey.py)",
    "backoffice_chat.attach": "operator staff only (tests/chat/test_files.py)",
    "backoffice_chat.attachment": "operator staff only (tests/chat/test_files.py)",
    "visitor_chat.index": "a visitor's own conversations, by the key in the session (tests/chat/test_visitors.py)",
    "visitor_chat.start": "a visitor's conversation: no company's rows",
    "visitor_chat.conversation": "the key in the visitor's session (tests/chat/test_visitors.py)",
    "visitor_chat.news": "the key in the visitor's session",
    "visitor_chat.close": "the key in the visitor's session",
    "backoffice_visitor_chat.conversation": "operator staff only (tests/chat/test_visitors.py)",
    "backoffice_visitor_chat.news": "operator staff only",
    "backoffice_visitor_chat.act": "operator staff only",
    "legal.privacy": "public",
    "legal.accessibility": "public",
    "legal.cookies": "public",
    "helpcentre.index": "public: the operator's articles, no company's rows",
    "helpcentre.article": "public: the operator's articles, no company's rows",
    "help_articles.index": "supervisors only (tests/help/test_backoffice_articles.py)",
    "help_articles.new": "supervisors only",
    "help_articles.edit": "supervisors only",
    "help_articles.publish": "supervisors only",
    "help_articles.withdraw": "supervisors only",
}
METHODS = ("GET", "POST")


def company_rules(app):
    rules = []
    for rule in app.url_map.iter_rules():
        if "ref" in rule.arguments:
            rules.append(rule)
        else:
            assert rule.endpoint in NOT_COMPANY_ROUTES, (
                f"{rule.endpoint} ({rule.rule}) is new: put it under /empresa/<ref> with tenant_blueprint, "
                "or say in NOT_COMPANY_ROUTES why it loads no company's rows"
            )
    return rules


def urls(rule, ref: str, ids: dict[str, int]) -> list[str]:
    """Every URL of ``rule`` for company ``ref`` and object ids ``ids`` (one per value of an ``any``)."""
    values = [{"ref": ref}]
    for name, converter in rule._converters.items():
        if name == "ref":
            continue
        if name in ids:
            values = [{**v, name: ids[name]} for v in values]
        elif hasattr(converter, "items"):
            values = [{**v, name: item} for v in values for item in sorted(converter.items)]
        else:
            pytest.fail(f"{rule.endpoint}: no value known for <{name}>; add it to this test")
    return [rule.build(v)[1] for v in values]


@pytest.fixture
def beta_objects(app, beta):
    dora = signed_in_client(app, "dora@beta.es")
    post(dora, f"/empresa/{beta.ref}/usuarios/invitar", {"email": "x@beta.es", "name": "X", "role": "viewer"})
    with app.app_context():
        session = get_session()
        set_tenant(session, beta.id)
        invitation = session.scalar(select(Invitation.id))
    add_invoices(app, beta)
    add_sample_usage(app, beta)
    sms = {"line": beta.numbers[0], "recipients": "612345678", "text": "Hola", "confirmed": "yes"}
    assert (
        dora.post(f"/empresa/{beta.ref}/pedidos/sms", data={**sms, "csrf_token": token(dora)}).status_code
        == 302
    )
    return {
        "line_id": beta.lines[0],
        "membership_id": beta.members["dora@beta.es"],
        "invitation_id": invitation,
        "invoice_id": beta.invoices[0],
        "account_id": beta.account,
        "alert_id": add_alert(app, beta),
        "order_id": (order := add_order(app, beta)),
        "attachment_id": add_attachment(app, beta, order),
        "conversation_id": add_conversation(app, beta, with_file=True),
    }


def beta_state(app, beta):
    with app.app_context():
        session = get_session()
        set_tenant(session, beta.id)
        lines = session.execute(select(Line.id, Line.alias, Line.cost_centre, Line.user_id)).all()
        members = session.execute(select(Membership.id, Membership.role, Membership.is_active)).all()
        invitations = session.execute(select(Invitation.id, Invitation.status, Invitation.token_hash)).all()
        accounts = session.execute(
            select(
                BillingAccount.id,
                BillingAccount.iban,
                BillingAccount.mandate_reference,
                BillingAccount.invoice_delivery,
                BillingAccount.einvoice_emails,
                BillingAccount.billing_postcode,
            )
        ).all()
        invoices = session.execute(select(Invoice.id, Invoice.status, Invoice.total_cents)).all()
        alerts = session.execute(
            select(UsageAlert.id, UsageAlert.scope, UsageAlert.metric, UsageAlert.percent, UsageAlert.by_sms)
        ).all()
        recipients = session.execute(
            select(UsageAlertRecipient.alert_id, UsageAlertRecipient.membership_id)
        ).all()
        orders = session.execute(select(Order.id, Order.state, Order.idempotency_key)).all()
        chats = session.execute(select(Conversation.id, Conversation.state, Conversation.advisor_id)).all()
        said = session.execute(select(Message.id, Message.body)).all()
        rated = session.execute(select(Survey.conversation_id, Survey.score)).all()
        sms = session.execute(select(SmsBatch.id, SmsBatch.recipients)).all()
        quotas = session.execute(select(SmsQuota.day, SmsQuota.sent)).all()
        chat_files = session.execute(select(ChatAttachment.id, ChatAttachment.storage_key)).all()
        order_rated = session.execute(select(OrderSurvey.order_id, OrderSurvey.score)).all()
        return (
            sorted(lines),
            sorted(members),
            sorted(invitations),
            sorted(accounts),
            sorted(invoices),
            sorted(alerts),
            sorted(recipients),
            sorted(orders),
            sorted(chats),
            sorted(said),
            sorted(rated),
            sorted(sms),
            sorted(quotas),
            sorted(chat_files),
            sorted(order_rated),
        )


def test_every_company_route_answers_404_for_another_companys_reference_and_ids(
    app, acme, beta, beta_objects
):
    before = beta_state(app, beta)
    ana = signed_in_client(app, "ana@acme.es")
    called = 0
    for rule in company_rules(app):
        targets = urls(rule, beta.ref, beta_objects)
        if set(rule.arguments) & set(beta_objects):
            targets += urls(rule, acme.ref, beta_objects)
        for url in targets:
            for method in sorted(set(METHODS) & rule.methods):
                data = {
                    "csrf_token": token(ana),
                    "confirmed": "yes",
                    "role": "viewer",
                    "alias": "Mine",
                    "delivery": "email",
                    "emails": "ana@acme.es",
                    "iban": "ES7921000813610123456789",
                    "address": "Calle 1",
                    "postcode": "08001",
                    "city": "Barcelona",
                    "province": "08",
                    "to": "ana@acme.es",
                    "code": "123456",
                    "scope": "company",
                    "metric": "data_percent",
                    "percent": "50",
                    "recipients": str(beta_objects["membership_id"]),
                    "by_email": "y",
                    "line": format_phone(beta.numbers[0]),
                    "idempotency_key": "walk",
                    "subject": "Hola",
                    "text": "Hola",
                    "body": "Hola",
                    "score": "5",
                    "reason": "No",
                    "threshold": "1",
                    "numbers": beta.numbers[0],
                    "sms": "y",
                }
                response = ana.open(url, method=method, data=data if method == "POST" else None)
                assert response.status_code == 404, (
                    f"{method} {url} ({rule.endpoint}): {response.status_code}"
                )
                called += 1
    assert called > 20
    assert beta_state(app, beta) == before


def test_exports_hold_only_the_companys_own_rows(app, acme, beta):
    signed_in_client(app, "dora@beta.es")
    ana = signed_in_client(app, "ana@acme.es")
    lines = text(ana.get(f"/empresa/{acme.ref}/lineas/exportar.csv"))
    assert all(format_phone(n) in lines for n in acme.numbers)
    assert not any(format_phone(n) in lines for n in beta.numbers)
    add_sample_usage(app, acme)
    add_sample_usage(app, beta)
    usage = text(ana.get(f"/empresa/{acme.ref}/consumo/exportar.csv"))
    assert all(n in usage for n in acme.numbers) and not any(n in usage for n in beta.numbers)
    activity = list(csv.reader(io.StringIO(text(ana.get(f"/empresa/{acme.ref}/actividad/exportar.csv")))))
    assert activity[1:] and not any("dora@beta.es" in row for row in activity)


def test_a_member_limited_to_some_lines_gets_404_for_the_others(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    confirm(
        ana,
        f"/empresa/{acme.ref}/usuarios/{acme.members['bob@acme.es']}/limit",
        {"numbers": format_phone(acme.numbers[0]), "cost_centres": ""},
    )
    bob = signed_in_client(app, "bob@acme.es")
    others = {"line_id": acme.lines[1]}
    called = 0
    for rule in company_rules(app):
        if "line_id" not in rule.arguments:
            continue
        for url in urls(rule, acme.ref, others):
            for method in sorted(set(METHODS) & rule.methods):
                data = {"csrf_token": token(bob), "alias": "Mine"}
                response = bob.open(url, method=method, data=data if method == "POST" else None)
                assert response.status_code == 404, f"{method} {url}: {response.status_code}"
                called += 1
    assert called >= 2
    exported = text(bob.get(f"/empresa/{acme.ref}/lineas/exportar.csv"))
    assert format_phone(acme.numbers[0]) in exported and format_phone(acme.numbers[1]) not in exported
    with app.app_context():
        session = get_session()
        with operator_scope(session, "test"):
            assert session.scalar(select(Line.alias).where(Line.id == acme.lines[1])) is None


def test_another_companys_chat_file_is_a_404(app, acme, beta):
    """Beta's file in Beta's conversation, asked by Acme's administrator with Acme's reference (and with an
    Acme conversation's id, the file's id Beta's), or uploaded to: 404, nothing added."""
    theirs = add_conversation(app, beta, with_file=True)
    mine = add_conversation(app, acme, with_file=True)
    with app.app_context():
        session = get_session()
        set_tenant(session, beta.id)
        file_id = session.scalar(select(ChatAttachment.id).where(ChatAttachment.conversation_id == theirs))
        set_tenant(session, acme.id)
        mine_file = session.scalar(select(ChatAttachment.id).where(ChatAttachment.conversation_id == mine))
    assert file_id != mine_file
    ana = signed_in_client(app, "ana@acme.es")
    assert ana.get(f"/empresa/{acme.ref}/chat/{mine}/adjuntos/{mine_file}").status_code == 200
    for url in (
        f"/empresa/{acme.ref}/chat/{theirs}/adjuntos/{file_id}",
        f"/empresa/{acme.ref}/chat/{mine}/adjuntos/{file_id}",
        f"/empresa/{beta.ref}/chat/{theirs}/adjuntos/{file_id}",
    ):
        assert ana.get(url).status_code == 404, url
    upload = ana.post(
        f"/empresa/{acme.ref}/chat/{theirs}/adjuntos",
        data={"file": (io.BytesIO(b"%PDF-1.4\n"), "x.pdf"), "csrf_token": token(ana)},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 404
    with app.app_context():
        session = get_session()
        set_tenant(session, beta.id)
        assert session.scalars(select(ChatAttachment.id)).all() == [file_id]


def test_another_companys_completed_order_cannot_be_rated(app, acme, beta):
    """Beta's completed order, rated by Acme's administrator with Acme's reference or Beta's: 404, no answer
    recorded; Acme's own completed order is rated."""
    theirs, mine = add_order(app, beta), add_order(app, acme)
    for company, number in ((beta, theirs), (acme, mine)):
        with app.app_context():
            session = get_session()
            set_tenant(session, company.id)
            session.execute(update(Order).where(Order.id == number).values(state="completed"))
            session.commit()
    ana = signed_in_client(app, "ana@acme.es")
    for ref in (acme.ref, beta.ref):
        response = ana.post(
            f"/empresa/{ref}/pedidos/{theirs}/encuesta", data={"score": "1", "csrf_token": token(ana)}
        )
        assert response.status_code == 404, ref
    mine_url = f"/empresa/{acme.ref}/pedidos/{mine}/encuesta"
    assert ana.post(mine_url, data={"score": "5", "csrf_token": token(ana)}).status_code == 302
    with app.app_context():
        session = get_session()
        set_tenant(session, beta.id)
        assert session.scalars(select(OrderSurvey.id)).all() == []

"""Billing settings of an account, by a company administrator: the invoice delivery, the direct-debit IBAN
confirmed by a code to the administrator's mobile (with a new mandate), the billing address; each change
audited and emailed to the administrators, and their refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from mgd.db import get_session, operator_scope, utcnow
from mgd.security.models import CodeChallenge, User
from mgd.tenants.models import BillingAccount
from tests.accounts import add_invoices, add_member, age_session, update_user
from tests.factories import IBAN_M
from tests.kit import audit, last_code, outbox, post, signed_in_client, speak, text

MOBILE = "+34612000009"  # the factories' verified mobile of every member


@pytest.fixture
def billed(app, acme):
    add_member(app, acme, "dani@acme.es", "admin")
    add_invoices(app, acme, months=(10,))
    return acme


def account(app, account_id) -> BillingAccount:
    with app.app_context():
        session = get_session()
        with operator_scope(session, "test"):
            return session.scalar(select(BillingAccount).where(BillingAccount.id == account_id))


def user_id(app, email: str) -> int:
    with app.app_context():
        return get_session().scalar(select(User.id).where(User.email == email))


def url(company, page: str) -> str:
    return f"/empresa/{company.ref}/facturacion/ajustes/{company.account}/{page}"


def told_admins(app, words: str) -> set[str]:
    return {m.recipient for m in outbox(app) if m.channel == "email" and words in (m.body_text or "")}


def test_electronic_invoice_by_email_then_paper(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    saved = post(ana, url(billed, "envio"), {"delivery": "email", "emails": "Fact@Acme.es\nconta@acme.es"})
    assert saved.status_code == 302
    stored = account(app, billed.account)
    assert (stored.invoice_delivery, stored.einvoice_emails) == ("email", "fact@acme.es conta@acme.es")
    event = audit(app, "billing.delivery_changed")[-1]
    assert event.detail["emails"] == "fact@acme.es conta@acme.es" and event.tenant_id == billed.id
    assert told_admins(app, "fact@acme.es, conta@acme.es") == {"ana@acme.es", "dani@acme.es"}
    assert post(ana, url(billed, "envio"), {"delivery": "paper", "emails": ""}).status_code == 302
    assert account(app, billed.account).invoice_delivery == "paper"
    assert account(app, billed.account).einvoice_emails is None


@pytest.mark.parametrize(
    ("emails", "message"),
    [
        ("", "Give at least one email address"),
        ("not-an-address", "is not a valid email address"),
        (" ".join(f"a{n}@acme.es" for n in range(6)), "Give at most 5 addresses."),
    ],
)
def test_a_bad_electronic_invoice_address_is_refused(app, billed, emails, message):
    ana = signed_in_client(app, "ana@acme.es")
    refused = post(ana, url(billed, "envio"), {"delivery": "email", "emails": emails})
    assert refused.status_code == 422 and message in text(refused) and 'id="emails-error"' in text(refused)
    assert account(app, billed.account).invoice_delivery == "paper"
    assert not audit(app, "billing.delivery_changed")


def test_billing_address_with_its_province(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    data = {"address": "Calle Mayor 5", "postcode": "08001", "city": "Barcelona", "province": "08"}
    assert post(ana, url(billed, "direccion"), data).status_code == 302
    stored = account(app, billed.account)
    assert (
        stored.billing_address,
        stored.billing_postcode,
        stored.billing_city,
        stored.billing_province,
    ) == (
        "Calle Mayor 5",
        "08001",
        "Barcelona",
        "Barcelona",
    )
    assert audit(app, "billing.address_changed")[-1].detail["postcode"] == "08001"
    assert told_admins(app, "Calle Mayor 5, 08001 Barcelona") == {"ana@acme.es", "dani@acme.es"}


@pytest.mark.parametrize(
    ("postcode", "province", "message"),
    [
        ("0800", "08", "This is not a Spanish postcode"),
        ("99001", "08", "This is not a Spanish postcode"),
        ("28013", "08", "This postcode belongs to Madrid, not to the province chosen."),
    ],
)
def test_a_bad_postcode_is_refused(app, billed, postcode, province, message):
    ana = signed_in_client(app, "ana@acme.es")
    data = {"address": "Calle Mayor 5", "postcode": postcode, "city": "Barcelona", "province": province}
    refused = post(ana, url(billed, "direccion"), data)
    assert refused.status_code == 422 and message in text(refused) and 'id="postcode-error"' in text(refused)
    assert account(app, billed.account).billing_postcode is None and not audit(app, "billing.address_changed")


def test_a_new_iban_is_confirmed_by_a_code_to_the_admins_mobile_under_a_new_mandate(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    before = account(app, billed.account).iban
    asked = post(ana, url(billed, "domiciliacion"), {"iban": "ES79 2100 0813 6101 2345 6789"})
    assert asked.headers["Location"].endswith(url(billed, "domiciliacion/codigo"))
    sms = [m for m in outbox(app) if m.recipient == MOBILE][-1]
    assert "6789" in sms.body_text and "BA-" in sms.body_text
    assert account(app, billed.account).iban == before  # nothing changes before the code
    confirmed = post(ana, url(billed, "domiciliacion/codigo"), {"code": last_code(app, MOBILE)})
    assert confirmed.status_code == 302
    stored = account(app, billed.account)
    assert stored.iban == IBAN_M and stored.mandate_reference.startswith(f"MGD-{billed.id}-{billed.account}-")
    assert stored.mandate_signed_on is not None
    event = audit(app, "billing.iban_changed")[-1]
    assert event.detail["iban"] == "ES79 •••• 6789" and IBAN_M not in str(event.detail)
    assert told_admins(app, stored.mandate_reference) == {"ana@acme.es", "dani@acme.es"}
    settings = text(ana.get(f"/empresa/{billed.ref}/facturacion/ajustes"))
    assert stored.mandate_reference in settings and "ES79 •••• 6789" in settings


def test_a_bad_iban_is_refused_and_sends_nothing(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    sent = len(outbox(app))
    refused = post(ana, url(billed, "domiciliacion"), {"iban": "ES79 2100 0813 6101 2345 6780"})
    assert refused.status_code == 422 and 'id="iban-error"' in text(refused)
    assert "not a valid IBAN" in text(refused) and len(outbox(app)) == sent


def test_a_wrong_code_is_refused_and_an_expired_one_is_dead(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    before = account(app, billed.account).iban
    post(ana, url(billed, "domiciliacion"), {"iban": IBAN_M})
    code = last_code(app, MOBILE)
    wrong = post(
        ana, url(billed, "domiciliacion/codigo"), {"code": "000000" if code != "000000" else "111111"}
    )
    assert wrong.status_code == 422 and "The code is not correct." in text(wrong)
    assert audit(app, "billing.iban_code_wrong")
    with app.app_context():
        session = get_session()
        session.execute(update(CodeChallenge).values(expires_at=utcnow() - timedelta(minutes=1)))
        session.commit()
    expired = post(ana, url(billed, "domiciliacion/codigo"), {"code": code})
    assert expired.status_code == 422 and "This code is no longer valid." in text(expired)
    assert account(app, billed.account).iban == before and not audit(app, "billing.iban_changed")
    # the pending change is gone: the code page sends back to the IBAN form
    assert (
        ana.get(url(billed, "domiciliacion/codigo"))
        .headers["Location"]
        .endswith(url(billed, "domiciliacion"))
    )


def test_settings_need_a_recent_sign_in(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    age_session(app, user_id(app, "ana@acme.es"), reauthenticated_at=timedelta(hours=2))
    response = ana.get(url(billed, "domiciliacion"))
    assert response.status_code == 302 and "/reautenticar" in response.headers["Location"]


def test_the_iban_code_reads_the_same_by_email_as_by_sms(app):
    from mgd.billing.settings import _IbanCode  # noqa: PLC0415 (the message class is private to the service)

    message = _IbanCode("iban_code", "", account="CF-1", digits="1234")
    with app.test_request_context():
        mail = message.mail("ana@acme.es", "123456", "en")
        spanish = message.mail("ana@acme.es", "123456", "es")
    assert mail.to == "ana@acme.es" and mail.subject == "Confirm the new bank account"
    assert mail.text == message_sms(app, message, "en") and "123456" in mail.text and "1234" in mail.text
    assert spanish.subject == "Confirma la nueva cuenta bancaria" and "123456" in spanish.text


def message_sms(app, message, locale):
    with app.test_request_context():
        return message.sms("123456", locale)


def mails_to(app, email: str) -> list:
    return [m for m in outbox(app) if m.channel == "email" and m.recipient == email]


def test_change_notices_say_what_changed_in_each_administrators_language(app, billed):
    update_user(app, user_id(app, "dani@acme.es"), locale="en")
    update_user(app, user_id(app, "ana@acme.es"), locale="es")
    ana = speak(signed_in_client(app, "ana@acme.es"), "es")
    assert post(ana, url(billed, "envio"), {"delivery": "email", "emails": "fact@acme.es"}).status_code == 302
    english, spanish = mails_to(app, "dani@acme.es")[-1], mails_to(app, "ana@acme.es")[-1]
    assert "Delivery: paper → email to fact@acme.es" in english.body_text
    assert english.subject.startswith("A billing change in ")
    assert "Envío de facturas: papel → correo electrónico a fact@acme.es" in spanish.body_text
    assert spanish.subject.startswith("Un cambio en la facturación de ")
    assert post(ana, url(billed, "envio"), {"delivery": "paper", "emails": ""}).status_code == 302
    assert "Delivery: email to fact@acme.es → paper" in mails_to(app, "dani@acme.es")[-1].body_text

    data = {"address": "Calle Mayor 5", "postcode": "08001", "city": "Barcelona", "province": "08"}
    assert post(ana, url(billed, "direccion"), data).status_code == 302
    assert (
        "Billing address: none → Calle Mayor 5, 08001 Barcelona (Barcelona)"
        in mails_to(app, "dani@acme.es")[-1].body_text
    )
    assert "Dirección de facturación: ninguna → Calle Mayor 5" in mails_to(app, "ana@acme.es")[-1].body_text

    before = account(app, billed.account).iban
    post(ana, url(billed, "domiciliacion"), {"iban": "ES79 2100 0813 6101 2345 6789"})
    assert post(ana, url(billed, "domiciliacion/codigo"), {"code": last_code(app, MOBILE)}).status_code == 302
    told = mails_to(app, "dani@acme.es")[-1].body_text
    assert f"Direct debit: {before[:4]} •••• {before[-4:]} → ES79 •••• 6789 (mandate MGD-" in told
    assert IBAN_M not in told and before not in told  # masked, never whole
    assert "Domiciliación: " in mails_to(app, "ana@acme.es")[-1].body_text


def test_nothing_changed_sends_no_notice(app, billed):
    ana = signed_in_client(app, "ana@acme.es")
    sent = len(outbox(app))
    assert post(ana, url(billed, "envio"), {"delivery": "paper", "emails": ""}).status_code == 302
    assert len(outbox(app)) == sent and not audit(app, "billing.delivery_changed")

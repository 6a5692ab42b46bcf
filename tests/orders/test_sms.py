"""SMS from the web: a confirmed send queues one outbox SMS per number from the chosen line, is recorded for
the company and in the audit trail; every refusal names its field; the quota, other companies' lines, a
member's limits and the roles are enforced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mgd.db import get_session, set_tenant
from mgd.notify.models import OutboxMessage
from mgd.notify.services import claim_message, queue_sms, send_claimed
from mgd.orders import sms
from mgd.orders.models import SmsBatch, SmsQuota
from tests.accounts import add_member
from tests.kit import audit, outbox, signed_in_client, speak, text, token
from tests.orders.test_rules import limit_to

URL = "/empresa/{ref}/pedidos/sms"
TEXT = "Mañana a las 9: reunión en la oficina de Sevilla."


def ask(client, ref: str, data: dict, *, confirmed: bool = False):
    fields = {**data, "csrf_token": token(client)}
    if confirmed:
        fields["confirmed"] = "yes"
    return client.post(URL.format(ref=ref), data=fields)


def send(client, ref: str, data: dict):
    """The form, then the confirmation's button, as a person does; the confirmation's answer."""
    asked = ask(client, ref, data)
    assert asked.status_code == 200 and "Confirm the SMS" in text(asked), text(asked)
    return ask(client, ref, data, confirmed=True)


def batches(app, company_id: int) -> list[SmsBatch]:
    with app.app_context():
        session = get_session()
        set_tenant(session, company_id)
        return list(session.scalars(select(SmsBatch).order_by(SmsBatch.id)))


def test_a_confirmed_send_queues_one_sms_per_number_from_the_line(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    before = len(outbox(app))
    data = {
        "line": acme.numbers[0],
        "recipients": "612 345 678\n+34 699 000 111, 612345678; 0034722000333",
        "text": TEXT,
    }
    asked = ask(ana, acme.ref, data)
    page = text(asked)
    assert asked.status_code == 200
    assert "Confirm the SMS" in page and "(1 repeated numbers left out)" in page
    assert "500 SMS; after this send, 497" in page and "1 SMS each" in page
    assert len(outbox(app)) == before  # nothing sent before the confirmation
    done = ask(ana, acme.ref, data, confirmed=True)
    assert done.status_code == 302 and done.headers["Location"].endswith("/pedidos/sms")
    sent = outbox(app)[before:]
    assert [(m.recipient, m.sender, m.body_text, m.status) for m in sent] == [
        (number, acme.numbers[0], TEXT, "pending")
        for number in ("+34612345678", "+34699000111", "+34722000333")
    ]
    [batch] = batches(app, acme.id)
    assert batch.recipients == 3 and batch.line_id == acme.lines[0]
    [event] = audit(app, "sms.batch_sent")
    assert event.tenant_id == acme.id and event.detail["line"] == acme.numbers[0]
    assert event.detail["recipients"] == 3 and TEXT not in str(event.detail)
    listing = text(ana.get(URL.format(ref=acme.ref)))
    assert "SMS sent from +34" in listing and "497 more SMS today" in listing and "Ana" in listing
    audit_page = text(ana.get(f"/empresa/{acme.ref}/actividad"))
    assert "Sent an SMS from the line" in audit_page


def test_every_refused_number_is_named_with_its_position_and_why(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    before = len(outbox(app))
    data = {
        "line": acme.numbers[0],
        "recipients": "612345678\n905 123 456\nhola\n912345678\n11818\n+34 806 000 000\n+44 7700 900123",
        "text": TEXT,
    }
    refused = ask(ana, acme.ref, data, confirmed=True)
    page = text(refused)
    assert refused.status_code == 422
    for expected in (
        "Number 2 (905 123 456): premium-rate numbers cannot be sent SMS.",
        "Number 3 (hola): not a Spanish mobile number.",
        "Number 4 (912345678): a fixed number cannot receive SMS.",
        "Number 5 (11818): premium-rate numbers cannot be sent SMS.",
        "Number 6 (+34 806 000 000): premium-rate numbers cannot be sent SMS.",
        "Number 7 (+44 7700 900123): not a Spanish mobile number.",
    ):
        assert expected in page, expected
    assert 'id="recipients-error"' in page and "Number 1 " not in page
    assert len(outbox(app)) == before and batches(app, acme.id) == []


def test_text_too_long_no_numbers_too_many_and_a_fixed_sender_are_refused_by_field(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    too_long = ask(ana, acme.ref, {"line": acme.numbers[0], "recipients": "612345678", "text": "x" * 481})
    assert too_long.status_code == 422
    assert "The message is too long: 480 characters at most." in text(too_long)
    assert (
        ask(ana, acme.ref, {"line": acme.numbers[0], "recipients": "x" * 0, "text": "hola"}).status_code
        == 422
    )
    assert "Give at least one mobile number." in text(
        ask(ana, acme.ref, {"line": acme.numbers[0], "recipients": " , \n", "text": "hola"})
    )
    many = "\n".join(f"6120{n:05d}" for n in range(101))
    crowded = ask(ana, acme.ref, {"line": acme.numbers[0], "recipients": many, "text": "hola"})
    assert crowded.status_code == 422
    assert "At most 100 numbers at a time: you gave 101 different ones." in text(crowded)
    fixed = ask(ana, acme.ref, {"line": "912345678", "recipients": "612345678", "text": "hola"})
    assert fixed.status_code == 422 and "This is a fixed number" in text(fixed)
    empty = ask(ana, acme.ref, {"line": "", "recipients": "612345678", "text": ""})
    assert empty.status_code == 422 and text(empty).count("This field is required.") >= 2
    hundred = "\n".join(f"6120{n:05d}" for n in range(100))
    assert (
        ask(ana, acme.ref, {"line": acme.numbers[0], "recipients": hundred, "text": "x" * 480}).status_code
        == 200
    )


def test_the_daily_quota_refuses_a_send_that_would_pass_it(app, acme, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_DAILY_QUOTA", 3)
    ana = signed_in_client(app, "ana@acme.es")
    data = {"line": acme.numbers[0], "recipients": "612000001, 612000002", "text": "hola"}
    assert send(ana, acme.ref, data).status_code == 302
    over = ask(ana, acme.ref, data, confirmed=True)
    page = text(over)
    assert over.status_code == 422
    assert "The company can send 1 more SMS today and there are 2 numbers" in page
    assert 'id="recipients-error"' in page
    assert send(ana, acme.ref, {**data, "recipients": "612000003"}).status_code == 302
    assert [b.recipients for b in batches(app, acme.id)] == [2, 1]


def test_take_quota_is_one_conditional_statement(app, acme):
    with app.app_context():
        session = get_session()
        set_tenant(session, acme.id)
        assert sms.take_quota(session, acme.id, 4, 5) == 4
        with pytest.raises(sms.QuotaExceeded) as refused:
            sms.take_quota(session, acme.id, 2, 5)
        assert refused.value.left == 1
        assert sms.take_quota(session, acme.id, 1, 5) == 5
        with pytest.raises(sms.QuotaExceeded):
            sms.take_quota(session, acme.id, 6, 5)
        assert session.scalar(select(SmsQuota.sent)) == 5
        session.rollback()


def test_another_companys_line_and_a_line_outside_the_members_limits_are_404(app, acme, beta):
    ana = signed_in_client(app, "ana@acme.es")
    data = {"recipients": "612345678", "text": "hola"}
    assert ask(ana, acme.ref, {**data, "line": beta.numbers[0]}).status_code == 404
    assert ask(ana, acme.ref, {**data, "line": beta.numbers[0]}, confirmed=True).status_code == 404
    limit_to(app, acme, "bob@acme.es", acme.lines[1])
    bob = signed_in_client(app, "bob@acme.es")
    assert ask(bob, acme.ref, {**data, "line": acme.numbers[0]}, confirmed=True).status_code == 404
    page = text(bob.get(URL.format(ref=acme.ref)))
    assert acme.numbers[1] in page and acme.numbers[0] not in page  # the lines offered
    assert send(bob, acme.ref, {**data, "line": acme.numbers[1]}).status_code == 302
    assert send(ana, acme.ref, {**data, "line": acme.numbers[0]}).status_code == 302
    assert text(ana.get(URL.format(ref=acme.ref))).count("<td>1</td>") == 2
    bobs = text(bob.get(URL.format(ref=acme.ref)))
    assert bobs.count("<td>1</td>") == 1  # his send only, not Ana's from a line he cannot see
    assert [m.sender for m in outbox(app) if m.sender] == [acme.numbers[1], acme.numbers[0]]


def test_viewers_and_billing_cannot_send(app, acme):
    add_member(app, acme, "bill@acme.es", "billing")
    for email in ("carla@acme.es", "bill@acme.es"):
        client = signed_in_client(app, email)
        assert client.get(URL.format(ref=acme.ref)).status_code == 403
        posted = ask(
            client,
            acme.ref,
            {"line": acme.numbers[0], "recipients": "612345678", "text": "x"},
            confirmed=True,
        )
        assert posted.status_code == 403
    assert batches(app, acme.id) == []


def test_in_spanish(app, acme):
    ana = speak(signed_in_client(app, "ana@acme.es"), "es")
    page = text(ana.get(URL.format(ref=acme.ref)))
    assert "Enviar SMS" in page and "Todavía no se ha enviado ningún SMS." in page
    refused = text(
        ask(ana, acme.ref, {"line": acme.numbers[0], "recipients": "612345678\n905123456", "text": "hola"})
    )
    assert (
        "Número 2 (905123456): a los números de tarificación adicional no se les pueden enviar SMS."
        in refused
    )
    asked = text(ask(ana, acme.ref, {"line": acme.numbers[0], "recipients": "612345678", "text": "hola"}))
    assert "Confirma el SMS" in asked


def test_an_outbox_sms_with_a_sender_is_sent_from_it(app, bound):
    calls = []

    class Recorder:
        def send_sms(self, to, body, sender=None):
            calls.append((to, body, sender))
            return "ref"

    with app.app_context():
        session = get_session()
        own = queue_sms(session, "+34612000009", "código", sender=None)
        theirs = queue_sms(session, "+34612000008", "hola", sender="+34612000007")
        for message in (own, theirs):
            assert claim_message(session, message.id, timedelta(minutes=5), 3)
            send_claimed(session, message.id, sms=Recorder(), mail=None, max_attempts=3)
        assert session.get(OutboxMessage, theirs.id).status == "sent"
        session.rollback()
    assert calls == [("+34612000009", "código", None), ("+34612000008", "hola", "+34612000007")]

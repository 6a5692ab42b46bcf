"""The real senders against real local peers (tests/live.py): a Twilio-compatible endpoint and an SMTP server."""

import email
from email import policy

import pytest

from mgd.notify.senders import ConsoleSender, DeliveryError, Mail, SmtpSender, TwilioSender, templated_mail
from tests.live import TWILIO_SID, TWILIO_TOKEN

SID, TOKEN = TWILIO_SID, TWILIO_TOKEN


def twilio(server, token=TOKEN):
    return TwilioSender(SID, token, "+34600000000", f"http://127.0.0.1:{server.server_port}")


def test_twilio_sender_creates_a_message_through_the_sdk(twilio_server):
    assert twilio(twilio_server).send_sms("+34612345678", "Tu código es 123456") == "SM" + "0" * 31 + "1"
    assert twilio_server.received == [
        {"To": "+34612345678", "From": "+34600000000", "Body": "Tu código es 123456"}
    ]


def test_twilio_client_errors_are_permanent(twilio_server):
    twilio_server.reply_status = 400
    with pytest.raises(DeliveryError, match="Twilio 400 \\(code 21211\\)") as caught:
        twilio(twilio_server).send_sms("+34612345678", "x")
    assert caught.value.permanent


def test_twilio_server_errors_are_retried(twilio_server):
    twilio_server.reply_status = 503
    with pytest.raises(DeliveryError) as caught:
        twilio(twilio_server).send_sms("+34612345678", "x")
    assert not caught.value.permanent


def test_twilio_wrong_credentials_are_reported(twilio_server):
    with pytest.raises(DeliveryError, match="401"):
        twilio(twilio_server, token="wrong").send_sms("+34612345678", "x")
    assert twilio_server.received == []


def test_twilio_unreachable_is_retried():
    sender = TwilioSender(SID, TOKEN, "+34600000000", "http://127.0.0.1:9")
    with pytest.raises(DeliveryError, match="unreachable") as caught:
        sender.send_sms("+34612345678", "x")
    assert not caught.value.permanent


def smtp(controller, **options):
    options.setdefault("starttls", False)
    return SmtpSender("127.0.0.1", controller.port, "MGD <no-reply@mgd.example>", **options)


def test_smtp_sender_sends_text_and_html(smtp_server):
    controller, inbox = smtp_server
    ref = smtp(controller).send_mail(
        Mail("ana@example.es", "Tu código", "Código: 123456", "<p>Código: <b>123456</b></p>")
    )
    [envelope] = inbox.messages
    assert envelope.rcpt_tos == ["ana@example.es"]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert (message["Subject"], message["From"], message["Message-ID"]) == (
        "Tu código",
        "MGD <no-reply@mgd.example>",
        ref,
    )
    assert message["Content-Language"] == "es"
    assert message.get_body(("plain",)).get_content().strip() == "Código: 123456"
    assert message.get_body(("html",)).get_content().strip() == "<p>Código: <b>123456</b></p>"


def test_smtp_refused_recipient_is_permanent(smtp_server):
    controller, _ = smtp_server
    with pytest.raises(DeliveryError, match="refused the recipient") as caught:
        smtp(controller).send_mail(Mail("nobody@example.es", "s", "t"))
    assert caught.value.permanent


def test_smtp_starttls_required_but_not_offered_is_an_error(smtp_server):
    controller, inbox = smtp_server
    with pytest.raises(DeliveryError, match="STARTTLS") as caught:
        smtp(controller, starttls=True).send_mail(Mail("ana@example.es", "s", "t"))
    assert not caught.value.permanent
    assert inbox.messages == []


def test_smtp_unreachable_is_retried():
    with pytest.raises(DeliveryError) as caught:
        SmtpSender("127.0.0.1", 9, "x@example.es", starttls=False, timeout=2).send_mail(
            Mail("a@example.es", "s", "t")
        )
    assert not caught.value.permanent


def test_console_sender_prints_for_the_developer(capsys):
    ConsoleSender().send_sms("+34612345678", "Tu código es 123456")
    assert "SMS to +34612345678" in capsys.readouterr().out


def test_smtp_subject_cannot_add_headers(smtp_server):
    controller, inbox = smtp_server
    smtp(controller).send_mail(Mail("ana@example.es", "Ana\r\nBcc: x@evil.example\nX-Evil: 1", "t"))
    [envelope] = inbox.messages
    assert envelope.rcpt_tos == ["ana@example.es"]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert (message["Subject"], message["Bcc"], message["X-Evil"]) == (
        "Ana Bcc: x@evil.example X-Evil: 1",
        None,
        None,
    )


@pytest.mark.parametrize("to", ["ana@example.es\r\nBcc: x@evil.example", "ana@example.es\rX-Evil: 1"])
def test_smtp_recipient_with_a_line_break_is_refused_for_good(smtp_server, to):
    controller, inbox = smtp_server
    with pytest.raises(DeliveryError) as caught:
        smtp(controller).send_mail(Mail(to, "s", "t"))
    assert caught.value.permanent
    assert inbox.messages == []


def test_templated_subjects_are_one_line(app):
    with app.test_request_context():
        mail = templated_mail("ana@example.es", "Ana\r\nBcc: x@evil.example", "email_code", code="123456")
    assert mail.subject == "Ana Bcc: x@evil.example"

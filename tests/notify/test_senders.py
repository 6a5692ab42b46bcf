"""The real senders against real local peers: a Twilio-compatible HTTP endpoint and an SMTP server."""

import base64
import email
import json
import socket
import threading
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller

from mgd.notify.senders import ConsoleSender, DeliveryError, Mail, SmtpSender, TwilioSender, templated_mail

SID, TOKEN = "AC" + "0" * 32, "secret-token"


class FakeTwilio(BaseHTTPRequestHandler):
    """Speaks the part of Twilio's Messages API the SDK uses to create a message."""

    received: list
    reply_status = 201

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if self.headers["Authorization"] != expected:
            return self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if self.path != f"/2010-04-01/Accounts/{SID}/Messages.json":
            return self._reply(404, {"code": 20404, "message": "Not found", "status": 404})
        self.server.received.append(form)
        status = self.server.reply_status
        if status == 201:
            return self._reply(
                201,
                {
                    "sid": "SM" + "1" * 32,
                    "account_sid": SID,
                    "to": form["To"],
                    "from": form["From"],
                    "body": form["Body"],
                    "status": "queued",
                    "num_segments": "1",
                },
            )
        return self._reply(
            status, {"code": 21211 if status == 400 else 20500, "message": "refused", "status": status}
        )

    def _reply(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def twilio_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    server.received, server.reply_status = [], 201
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def twilio(server, token=TOKEN):
    return TwilioSender(SID, token, "+34600000000", f"http://127.0.0.1:{server.server_port}")


def test_twilio_sender_creates_a_message_through_the_sdk(twilio_server):
    assert twilio(twilio_server).send_sms("+34612345678", "Tu código es 123456") == "SM" + "1" * 32
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


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


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

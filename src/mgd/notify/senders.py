"""The ways an SMS or an email leaves the portal: console and file for development, Twilio and SMTP for real.

A sender returns the provider's reference for the message or raises ``DeliveryError``; ``permanent`` errors
(a refused number, a rejected address, a message that cannot be written) are not retried. Subjects are made
one line here whatever they hold (a person's name), so no value can add a header.
"""

from __future__ import annotations

import json
import re
import smtplib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol, TextIO

from flask import render_template
from flask_babel import force_locale
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from mgd.config import LANGUAGES


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None


_CONTROL_RUN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_text(value: str) -> str:
    """``value`` on one line: every run of control characters (CR, LF, tab…) becomes one space."""
    return _CONTROL_RUN.sub(" ", value).strip()


@contextmanager
def in_language(locale: str | None) -> Iterator[None]:
    """Texts made inside are in ``locale``, the recipient's language (None: the current request's)."""
    if not locale:
        yield
        return
    with force_locale(LANGUAGES.get(locale, locale)):
        yield


def templated_mail(
    to: str, subject: str, template: str, *, locale: str | None = None, **context: object
) -> Mail:
    """A mail from ``templates/mail/<template>.txt`` and ``.html``, in ``locale`` (the recipient's language;
    None: the current one). Pass a lazy ``subject`` (``_l``) so that it is translated in that language too."""
    with in_language(locale):
        text = render_template(f"mail/{template}.txt", **context)
        html = render_template(f"mail/{template}.html", **context)
        return Mail(to, header_text(str(subject)), text, html)


class SmsSender(Protocol):
    def send_sms(self, to: str, body: str, sender: str | None = None) -> str: ...


class MailSender(Protocol):
    def send_mail(self, mail: Mail) -> str: ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ConsoleSender:
    """Prints each message, for a developer watching the terminal of `make run`."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def _write(self, text: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(text)
        stream.flush()

    def send_sms(self, to: str, body: str, sender: str | None = None) -> str:
        origin = f" from {sender}" if sender else ""
        self._write(f"\n--- SMS to {to}{origin} ---\n{body}\n---\n")
        return "console"

    def send_mail(self, mail: Mail) -> str:
        self._write(f"\n--- Email to {mail.to}: {mail.subject} ---\n{mail.text}\n---\n")
        return "console"


class FileSender:
    """Appends one JSON object a line; tests and tools read the file back."""

    _lock = threading.Lock()

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _append(self, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)

    def send_sms(self, to: str, body: str, sender: str | None = None) -> str:
        record = {"to": to, "body": body, "time": _now()}
        if sender:
            record["from"] = sender
        self._append(record)
        return "file"

    def send_mail(self, mail: Mail) -> str:
        self._append(
            {"to": mail.to, "subject": mail.subject, "text": mail.text, "html": mail.html, "time": _now()}
        )
        return "file"


class TwilioSender:
    """SMS through Twilio's official SDK (Messages API); ``base_url`` points it at a compatible endpoint."""

    def __init__(self, account_sid: str, auth_token: str, from_: str, base_url: str = "") -> None:
        self.client = Client(account_sid, auth_token)
        if base_url:
            self.client.api.base_url = base_url.rstrip("/")
        self.from_ = from_

    def send_sms(self, to: str, body: str, sender: str | None = None) -> str:
        """``sender``: a company line's number to send from (Twilio must allow it); else ``TWILIO_FROM``."""
        try:
            message = self.client.messages.create(to=to, from_=sender or self.from_, body=body)
        except TwilioRestException as exc:
            permanent = 400 <= exc.status < 500 and exc.status != 429
            raise DeliveryError(
                f"Twilio {exc.status} (code {exc.code}): {exc.msg}", permanent=permanent
            ) from exc
        except (TwilioException, OSError) as exc:
            raise DeliveryError(f"Twilio unreachable: {exc}") from exc
        return message.sid


class SmtpSender:
    """Multipart (text + HTML) mail over SMTP, with STARTTLS and login when configured."""

    def __init__(
        self,
        host: str,
        port: int,
        mail_from: str,
        *,
        username: str = "",
        password: str = "",
        starttls: bool = True,
        timeout: int = 15,
    ) -> None:
        self.host, self.port, self.mail_from = host, port, mail_from
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout

    def _message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = mail.to  # a value with a line break raises: refused for good below
        message["Subject"] = header_text(mail.subject)
        message["Message-ID"] = make_msgid(domain=self.mail_from.rpartition("@")[2].strip("> ") or None)
        message.set_content(mail.text)
        if mail.html:
            message.add_alternative(mail.html, subtype="html")
        message["Content-Language"] = "es"  # after the body: set_content drops Content-* headers
        return message

    def send_mail(self, mail: Mail) -> str:
        try:
            message = self._message(mail)
        except (ValueError, UnicodeError) as exc:
            raise DeliveryError(f"not a valid email: {exc}", permanent=True) from exc
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"SMTP refused the recipient: {exc.recipients}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {exc}") from exc
        return message["Message-ID"]


def sms_sender_from(config: dict) -> SmsSender:
    backend = config["SMS_BACKEND"]
    if backend == "twilio":
        return TwilioSender(
            config["TWILIO_ACCOUNT_SID"],
            config["TWILIO_AUTH_TOKEN"],
            config["TWILIO_FROM"],
            config["TWILIO_BASE_URL"],
        )
    if backend == "file":
        return FileSender(config["SMS_FILE"])
    return ConsoleSender()


def mail_sender_from(config: dict) -> MailSender:
    backend = config["MAIL_BACKEND"]
    if backend == "smtp":
        return SmtpSender(
            config["SMTP_HOST"],
            config["SMTP_PORT"],
            config["MAIL_FROM"],
            username=config["SMTP_USERNAME"],
            password=config["SMTP_PASSWORD"],
            starttls=config["SMTP_STARTTLS"],
            timeout=config["SMTP_TIMEOUT"],
        )
    if backend == "file":
        return FileSender(config["MAIL_FILE"])
    return ConsoleSender()


def init_app(app) -> None:
    """Build the configured senders once per app; actors find them in ``app.extensions``."""
    app.extensions["mgd.sms"] = sms_sender_from(app.config)
    app.extensions["mgd.mail"] = mail_sender_from(app.config)

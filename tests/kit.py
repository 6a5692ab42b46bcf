"""The web test kit: an English-speaking browser, forms posted with their CSRF token as a browser posts them,
signing in as a person does, and reading what the portal sent (the outbox) and recorded (the audit log)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy import text as sql

from mgd.db import get_session, operator_scope
from mgd.notify.models import OutboxMessage
from mgd.security.models import AuditEvent
from tests.factories import PASSWORD
from tests.live import CSRF


def browser(app, agent: str | None = None):
    """A test client that prefers English, so that assertions read like the code; Spanish has its own tests."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    if agent:
        client.environ_base["HTTP_USER_AGENT"] = agent
    return client


def text(response) -> str:
    """The body, read to its end; the response is closed (a streamed one holds its request context till then)."""
    body = response.get_data(as_text=True)
    response.close()
    return body


def csrf_token(client, path: str = "/") -> str:
    """The CSRF token from a page, as a browser would read it from the form."""
    match = CSRF.search(client.get(path, follow_redirects=True).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def token(client) -> str:
    """A CSRF token of this browser's session (every page carries one in its language form)."""
    return CSRF.search(text(client.get("/condiciones-de-uso"))).group(1)


def post(client, url, data, *, follow=False):
    """Post a form as a browser would: read the CSRF token from the page first."""
    page = client.get(url)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no form on {url} (status {page.status_code}, {page.headers.get('Location')})"
    return client.post(url, data={**data, "csrf_token": match.group(1)}, follow_redirects=follow)


def confirm(client, url: str, data: dict | None = None):
    """Post an admin action twice, as a person does: the form, then the confirmation page's button."""
    asked = client.post(url, data={**(data or {}), "csrf_token": token(client)})
    assert asked.status_code == 200 and "Confirm the change" in text(asked), text(asked)
    return client.post(url, data={**(data or {}), "csrf_token": token(client), "confirmed": "yes"})


def sign_in(app, client, channel="sms", password=PASSWORD, email="ana@example.es"):
    """Password, channel and code through the sign-in forms; the answer to the code. The SMS goes to the
    mobile of ``accounts.create_member``'s Ana."""
    response = post(client, "/login", {"email": email, "password": password})
    assert response.headers.get("Location") == "/login/channel", text(response)
    post(client, "/login/channel", {"channel": channel})
    destination = "+34612000001" if channel == "sms" else email
    return post(client, "/login/code", {"code": last_code(app, destination)})


def signed_in_client(app, email: str, password: str = PASSWORD):
    """A browser where ``email`` has signed in with the password and a code by email."""
    client = browser(app)
    response = sign_in(app, client, channel="email", password=password, email=email)
    assert response.status_code == 302, text(response)
    return client


def speak(client, locale: str):
    """Choose the portal's language with the switch in the header, as a person does; once signed in, it is
    the person's language (the browser's Accept-Language no longer counts)."""
    response = client.post("/language", data={"locale": locale, "next": "/", "csrf_token": token(client)})
    assert response.status_code == 302, text(response)
    return client


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        return list(get_session().scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def last_code(app, to: str) -> str:
    """The code in the newest SMS or email to ``to``, read from the outbox like a person reads their phone."""
    message = [m for m in outbox(app) if m.recipient == to][-1]
    return re.search(r"\b(\d{6})\b", message.body_text).group(1)


def audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        session = get_session()
        with operator_scope(session, "test"):
            return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def stored_text(app, table: str, row_id: int) -> str:
    """Every column of one row as the database holds it (plain SQL, no column type decodes it), joined."""
    with app.app_context():
        row = get_session().execute(sql(f"SELECT * FROM {table} WHERE id = :id"), {"id": row_id}).one()  # noqa: S608
    return " ".join(str(value) for value in row)

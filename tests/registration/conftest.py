"""Registration fixtures: a company of every product mix, and helpers to post forms as a browser would."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from mgd.db import get_session, operator_scope
from mgd.extensions import limiter
from mgd.notify.models import OutboxMessage
from mgd.security.models import AuditEvent
from mgd.tenants.records.importer import import_records
from mgd.tenants.records.validate import parse_document
from tests.conftest import CSRF
from tests.factories import TARIFFS, company_record

COMPANIES = {
    "only_fixed": company_record("B12345674", "fijo@example.es", [("911111111", "fixed", "fixed")]),
    "only_mobile": company_record("12345678Z", "movil@example.es", [("611111111", "mobile", "mobile")]),
    "both": company_record(
        "X1234567L", "ambos@example.es", [("922222222", "fixed", "fixed"), ("622222222", "mobile", "mobile")]
    ),
    "convergent": company_record(
        "A28000032",
        "fusion@example.es",
        [("933333333", "fixed", "convergent"), ("633333333", "mobile", "convergent")],
    ),
    "large": company_record(
        "B87654323", "gc@example.es", [("944444444", "fixed", "fixed")], segment="grandes_clientes"
    ),
}


@pytest.fixture
def companies(app, bound):
    limiter.reset()
    with app.app_context():
        session = get_session()
        import_records(
            session, parse_document(json.dumps({"tariffs": TARIFFS, "companies": list(COMPANIES.values())}))
        )
        session.commit()
    return COMPANIES


def post(client, url, data, *, follow=False):
    """Post a form as a browser would: read the CSRF token from the page first."""
    page = client.get(url)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no form on {url} (status {page.status_code}, {page.headers.get('Location')})"
    return client.post(url, data={**data, "csrf_token": match.group(1)}, follow_redirects=follow)


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


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def client(app, bound):
    """A browser that prefers English, so that assertions read like the code; Spanish has its own tests."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client

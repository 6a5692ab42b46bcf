"""SQLite, the embedded default, under concurrent writers: twenty people register and go through the Mi Área
onboarding at once on a real threaded server, while the in-process worker delivers their SMS and mail.

Commits really happen here (a SQLite file of the test's own, not the rolled-back ``bound`` transaction).
"""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select, text

from mgd import create_app
from mgd.db import database, get_session
from mgd.jobs import bind_actors, broker_of, start_worker
from mgd.migrate import upgrade
from mgd.security.models import User
from mgd.tenants.records.importer import import_records
from mgd.tenants.records.validate import parse_document
from mgd.web.exports import own_session
from tests.environment import settings
from tests.factories import IBAN_F, IBAN_M, TARIFFS, Registrant
from tests.live import Browser, threaded_server

PEOPLE = 20
EVERYONE = [Registrant(n) for n in range(PEOPLE)]


@pytest.fixture
def live_app(app, tmp_path):
    """A portal of its own over a fresh SQLite file, with the in-process worker delivering to files."""
    database_url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    upgrade(database_url)
    live = create_app(settings(tmp_path, database_url))
    with live.app_context():
        session = get_session()
        document = {"tariffs": TARIFFS, "companies": [person.record() for person in EVERYONE]}
        import_records(session, parse_document(json.dumps(document)))
        session.commit()
    worker = start_worker(live, threads=2)
    yield live
    worker.stop()
    database(live).engine.dispose()
    bind_actors(broker_of(app))


def wait_for_code(path: Path, to: str, timeout: float = 60) -> str:
    """The code in the first message to ``to``, once the worker has written it."""
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text(encoding="utf-8").split("\n")[:-1] if path.exists() else []
        messages = [record for record in map(json.loads, lines) if record["to"] == to]
        if messages:
            return re.search(r"\b(\d{6})\b", messages[0].get("body") or messages[0]["text"]).group(1)
        assert time.monotonic() < deadline, f"no message to {to} within {timeout} s"
        time.sleep(0.05)


def register_and_onboard(base_url: str, config, person: Registrant, start: threading.Barrier) -> list:
    """The whole way from the registration form to the company's page; stops at the first server error."""
    browser = Browser(base_url, person.source_ip)
    sms, mail = Path(config["SMS_FILE"]), Path(config["MAIL_FILE"])

    start.wait()
    browser.post("/register", {"fiscal_id": person.fiscal_id, "email": person.email})
    if browser.failed:
        return browser.exchanges
    browser.post("/register/phone", {"phone": person.phone})
    if browser.failed:
        return browser.exchanges
    if person.has_mobile_line:
        browser.post("/register/bank", {"mobile_iban": IBAN_M})
    else:
        browser.post("/register/bank", {"fixed_iban": IBAN_F})
    if browser.failed:
        return browser.exchanges
    if person.has_mobile_line:
        code = wait_for_code(sms, "+34" + person.phone)
    else:
        code = wait_for_code(mail, person.email)
    browser.post("/register/code", {"code": code})
    if browser.failed:
        return browser.exchanges
    browser.post("/mi-area/bienvenida", {"name": "Lucía Gómez", "mobile": person.mobile, "accept_terms": "y"})
    if browser.failed or person.has_mobile_line:
        return browser.exchanges
    browser.post("/mi-area/verificar-movil", {"code": wait_for_code(sms, "+34" + person.mobile)})
    return browser.exchanges


def test_twenty_people_register_at_once_without_a_server_error(live_app):
    start = threading.Barrier(PEOPLE)
    with threaded_server(live_app) as base_url, ThreadPoolExecutor(PEOPLE) as pool:
        runs = [
            pool.submit(register_and_onboard, base_url, live_app.config, person, start) for person in EVERYONE
        ]
        exchanges = [exchange for run in runs for exchange in run.result()]

    assert [e for e in exchanges if e.status >= 500] == []
    with live_app.app_context():
        users = {user.email: user for user in get_session().scalars(select(User))}
    for person in EVERYONE:
        user = users.get(person.email)
        assert user is not None, f"{person.email} did not end registered"
        assert (user.terms_version, user.mobile) == (live_app.config["TERMS_VERSION"], "+34" + person.mobile)


def test_a_download_reads_beside_the_requests_own_write_transaction(live_app):
    """A streamed export reads in a session of its own while the request's transaction (holding the write
    lock on SQLite) is still open in the same thread: it must not wait for that lock."""
    with live_app.app_context():
        get_session().execute(text("SELECT 1"))
        with own_session(None) as reader:
            assert reader.scalar(text("SELECT count(*) FROM companies")) == PEOPLE

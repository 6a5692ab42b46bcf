"""The multi-node smoke test: nginx (TLS) in front of two gunicorn instances, two ``mgd worker`` processes,
PostgreSQL as the app role, Redis for the limiter and the broker, real Twilio/SMTP peers (tests/live.py).

A company registers, signs in with its code and invites a colleague; per-IP limits count the client addresses
nginx forwards; a worker dies while sending and an app instance dies mid-run. Runs when PostgreSQL
(MGD_TEST_DATABASE_URL), Redis (a redis:// URL in MGD_TEST_BROKER_URL) and nginx are here, so always in CI.
"""

from __future__ import annotations

import email
import json
import os
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from email import policy
from http.server import ThreadingHTTPServer

import pytest
import redis
import requests
from sqlalchemy import Engine, text

from mgd.crypto import Keyring
from mgd.db import make_engine
from tests.deployment.stack import (
    Stack,
    missing_services,
    process_with_connection,
    production_env,
    wait_until,
)
from tests.environment import as_app_role, private_schema
from tests.factories import IBAN_M, TARIFFS, Registrant
from tests.live import Browser, Inbox, smtp_inbox, twilio_endpoint

pytestmark = pytest.mark.smoke

FIRST = Registrant(200)
CROWD = [Registrant(n) for n in range(210, 222, 2)]  # six companies with a mobile line: codes by SMS
COLLEAGUE = "eva.colega@example.es"
NEW_PASSWORD = "Nueva2026x"
DELIVERY_TIMEOUT = 150  # a message prefetched by a killed worker waits for the relay's 60 s


@dataclass
class Deployment:
    stack: Stack
    twilio: ThreadingHTTPServer
    inbox: Inbox
    db: Engine  # the schema owner's connection, for assertions only

    def browser(self, source_ip: str) -> Browser:
        return Browser(
            self.stack.public_url, source_ip, verify=str(self.stack.dir / "tls.crt")
        )  # self-signed

    def sms_to(self, number: str) -> list[str]:
        return [form["Body"] for form in list(self.twilio.received) if form["To"] == number]

    def mails_to(self, address: str) -> list[str]:
        return [body for to, body in self.mails() if to == address]

    def mails(self) -> list[tuple[str, str]]:
        """Every email the SMTP server accepted, as (recipient, plain text)."""
        received = []
        for envelope in list(self.inbox.messages):
            message = email.message_from_bytes(envelope.content, policy=policy.default)
            body = message.get_body(("plain",)).get_content()
            received += [(to, body) for to in envelope.rcpt_tos]
        return received

    def code_by_sms(self, number: str, nth: int = 1) -> str:
        """The code in the ``nth`` SMS to ``number``, once it arrived."""
        bodies = wait_until(
            lambda: len(self.sms_to(number)) >= nth and self.sms_to(number), f"SMS {nth} to {number}", 120
        )
        return re.search(r"\b(\d{6})\b", bodies[nth - 1]).group(1)

    def deliveries(self) -> list[tuple[dict, int]]:
        """Once the outbox has sent everything: each message with how many times its peer received it."""

        def all_sent():
            with self.db.connect() as connection:
                rows = connection.execute(
                    text("SELECT id, channel, recipient, body_text, status, attempts FROM outbox_messages")
                ).mappings()
                rows = [dict(row) for row in rows]
            return rows if all(row["status"] == "sent" for row in rows) else None

        rows = wait_until(all_sent, "every outbox message sent", DELIVERY_TIMEOUT, every=0.5)
        keyring = Keyring.parse(self.stack.env["MGD_ENCRYPTION_KEYS"])  # bodies are stored encrypted
        for row in rows:
            row["body_text"] = keyring.decrypt(row["body_text"])
        received = Counter(("sms", form["To"], form["Body"]) for form in list(self.twilio.received))
        received.update(("email", to, _plain(body)) for to, body in self.mails())
        counts = [
            (row, received[(row["channel"], row["recipient"], _plain(row["body_text"]))]) for row in rows
        ]
        assert sum(count for _, count in counts) == sum(received.values()), "a message the outbox never had"
        return counts


def _plain(body: str) -> str:
    return body.replace("\r\n", "\n").strip()


def _redis_url() -> str | None:
    urls = os.environ.get("MGD_TEST_BROKER_URL", "").split()
    return next((url for url in urls if url.startswith(("redis://", "rediss://"))), None)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    base, redis_url = os.environ.get("MGD_TEST_DATABASE_URL"), _redis_url()
    missing = missing_services(base, redis_url)
    if missing:
        pytest.skip("the smoke test needs " + ", ".join(missing))
    folder = tmp_path_factory.mktemp("smoke")
    with ExitStack() as cleanup:
        owner_url = cleanup.enter_context(private_schema(base, "mgd_smoke"))
        twilio = cleanup.enter_context(twilio_endpoint())
        controller, inbox = cleanup.enter_context(smtp_inbox())
        stack = Stack(folder, {})
        stack.env = production_env(
            dir=folder,
            app_url=as_app_role(owner_url),
            owner_url=owner_url,
            redis_url=redis_url,
            twilio_port=twilio.server_port,
            smtp_port=controller.port,
            public_url=stack.public_url,
        )
        stores = [
            redis.Redis.from_url(stack.env[f"MGD_{name}"]) for name in ("BROKER_URL", "RATELIMIT_STORAGE_URL")
        ]
        for store in stores:
            store.flushdb()
            cleanup.callback(store.close)
            cleanup.callback(store.flushdb)
        cleanup.callback(stack.stop)
        # Boot order: migrate (as the owner), load records, then the app instances, the workers, the proxy.
        stack.run("db", "upgrade")
        records = folder / "records.json"
        records.write_text(
            json.dumps({"tariffs": TARIFFS, "companies": [p.record() for p in [FIRST, *CROWD]]})
        )
        stack.run("records", "import", str(records))
        stack.start(apps=("app-a", "app-b"), workers=("worker-a", "worker-b"))
        stack.start_nginx()
        db = make_engine(owner_url)
        cleanup.callback(db.dispose)
        yield Deployment(stack, twilio, inbox, db)


def register(deployment: Deployment, browser: Browser, person: Registrant) -> bool:
    """Registration and the Mi Área onboarding; False when a request failed (an instance died under it)."""
    steps = [
        ("/register", {"fiscal_id": person.fiscal_id, "email": person.email}, "/register/phone"),
        ("/register/phone", {"phone": person.phone}, "/register/bank"),
        ("/register/bank", {"mobile_iban": IBAN_M}, "/register/code"),
        ("/register/code", None, "/mi-area/bienvenida"),
        (
            "/mi-area/bienvenida",
            {"name": "Lucía Gómez", "mobile": person.mobile, "accept_terms": "y"},
            "/mi-area",
        ),
    ]
    for path, data, then in steps:
        try:
            response = browser.post(path, data or {"code": deployment.code_by_sms("+34" + person.phone)})
        except requests.RequestException:  # an answer cut short when its instance died
            return False
        if browser.failed:
            return False
        assert response.headers.get("Location") == then, (path, response.status_code, response.text[:300])
    return True


def test_a_company_registers_signs_in_and_invites_a_colleague_through_nginx(deployment):
    person = FIRST
    first_visit = deployment.browser(person.source_ip)
    assert register(deployment, first_visit, person)
    [welcome] = wait_until(lambda: deployment.mails_to(person.email), "the welcome email")
    password = re.search(r"(?:temporary password|contraseña temporal): (\S+)", welcome).group(1)

    browser = deployment.browser(person.source_ip)
    assert browser.post("/login", {"email": person.email, "password": password}).headers["Location"] == (
        "/login/channel"
    )
    assert browser.post("/login/channel", {"channel": "sms"}).headers["Location"] == "/login/code"
    code = deployment.code_by_sms("+34" + person.phone, nth=2)
    assert browser.post("/login/code", {"code": code}).headers["Location"] == "/password"
    response = browser.post("/password", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.headers["Location"] == "/mi-area"
    company = browser.get("/mi-area").headers["Location"]
    assert company.startswith("/empresa/")
    invite = {"email": COLLEAGUE, "name": "Eva Colega", "role": "manager"}
    assert browser.post(f"{company}/usuarios/invitar", invite).status_code == 302

    [invitation] = wait_until(lambda: deployment.mails_to(COLLEAGUE), "the invitation email")
    link = re.search(r"(/invitacion/\S+)", invitation).group(1)
    assert f"Join Empresa {person.fiscal_id}" in deployment.browser("127.0.0.9").get(link).text
    assert [e for e in first_visit.exchanges + browser.exchanges if e.status >= 500] == []
    assert {count for _, count in deployment.deliveries()} == {1}  # every SMS and email exactly once


def test_per_ip_limits_count_the_client_addresses_nginx_forwards(deployment):
    """Sign-in allows 20 attempts per 10 minutes and address, counted in Redis by both instances."""
    noisy, other = deployment.browser("127.0.0.2"), deployment.browser("127.0.0.3")
    forged = {"X-Forwarded-For": "10.9.9.9"}  # nginx appends the real address; the portal trusts one hop
    for attempt in range(20):
        response = noisy.post(
            "/login", {"email": f"nobody{attempt}@example.es", "password": "x"}, headers=forged
        )
        assert response.status_code == 422, attempt  # refused, but heard
    assert noisy.post("/login", {"email": "nobody@example.es", "password": "x"}).status_code == 429
    assert other.post("/login", {"email": "nobody@example.es", "password": "x"}).status_code == 422


def test_a_killed_worker_and_a_killed_instance_lose_no_message_and_fail_only_their_requests(deployment):
    twilio, stack = deployment.twilio, deployment.stack
    held = "+34" + CROWD[0].phone
    twilio.hold_to = held
    sent_before = len(twilio.received)
    start = threading.Barrier(len(CROWD))
    browsers = [deployment.browser(person.source_ip) for person in CROWD]

    def run(browser: Browser, person: Registrant) -> bool:
        start.wait()
        return register(deployment, browser, person)

    with ThreadPoolExecutor(len(CROWD)) as pool:
        runs = [pool.submit(run, browser, person) for browser, person in zip(browsers, CROWD, strict=True)]
        # A worker dies while Twilio holds its request: the provider has the SMS, the outbox row says "sending".
        assert twilio.held.wait(120), "the held SMS never reached Twilio"
        stack.kill(process_with_connection(stack.processes, twilio.held_from[1]))
        twilio.release.set()
        # Mid-run, one app instance dies too.
        wait_until(lambda: len(twilio.received) >= sent_before + 3, "half of the crowd's codes sent", 120)
        app_gone_at = stack.kill("app-a")
        completed = [r.result() for r in runs]

    deliveries = deployment.deliveries()
    assert [row for row, count in deliveries if count == 0] == []
    # A message is sent once per claim: it can only arrive twice when claimed again after its worker died.
    assert [row for row, count in deliveries if count > row["attempts"]] == []
    [(held_row, held_count)] = [(row, count) for row, count in deliveries if row["recipient"] == held]
    # Twilio had accepted it when its worker died: after the lease it is sent again (the at-least-once window).
    assert (held_count, held_row["attempts"]) == (2, 2)
    # Read once every message went out: by then nginx has logged every request it finished.
    failures = [e for browser in browsers for e in browser.exchanges if not 0 < e.status < 500]
    proxied = _nginx_log(stack)
    killed = f"127.0.0.1:{stack.app_ports['app-a']}"
    for failure in failures:  # each reached the killed instance before it was gone; nginx cannot replay it
        upstream, started = proxied.get(failure.id, ("not in nginx's log", float("inf")))
        # 502: the instance died before answering; 0: it died while nginx was passing its answer on.
        assert (failure.status in (0, 502), upstream, started <= app_gone_at) == (True, killed, True), failure
    assert [not done for done in completed] == [
        any(not 0 < e.status < 500 for e in browser.exchanges) for browser in browsers
    ], "a registration stopped without a failed request"

    twice = sum(count > 1 for _, count in deliveries)
    print(
        f"smoke: {len(failures)} request(s) failed on the killed instance; {len(deliveries)} messages, {twice} twice"
    )


def _nginx_log(stack: Stack) -> dict[str, tuple[str, float]]:
    """nginx's log by the browsers' request ids: (upstream address, time the request started)."""
    line = re.compile(r'^(\S+) (\S+) \d+ "([^"]*)" "[^"]*" \S+ "([^"]*)"')
    entries = {}
    for match in map(line.match, (stack.dir / "nginx-access.log").read_text().splitlines()):
        if match:
            ended, duration, upstream, smoke_id = match.groups()
            entries[smoke_id] = (upstream, float(ended) - float(duration))
    return entries

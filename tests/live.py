"""The live-server test kit: real peers (a Twilio-compatible endpoint, an SMTP inbox), the app on a threaded
server, a browser that speaks from a chosen loopback address (all of 127/8 is local on Linux), and helpers
that fire its requests in parallel."""

from __future__ import annotations

import base64
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar
from urllib.parse import parse_qs

import requests
from aiosmtpd.controller import Controller
from flask import Flask
from requests.adapters import HTTPAdapter
from werkzeug.serving import make_server

TWILIO_SID, TWILIO_TOKEN = "AC" + "0" * 32, "secret-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FakeTwilio(BaseHTTPRequestHandler):
    """Speaks the part of Twilio's Messages API the SDK uses to create a message; keeps what it accepted."""

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if self.headers["Authorization"] != expected:
            return self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if self.path != f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json":
            return self._reply(404, {"code": 20404, "message": "Not found", "status": 404})
        status = self.server.reply_status
        if status != 201:
            return self._reply(
                status, {"code": 21211 if status == 400 else 20500, "message": "refused", "status": status}
            )
        with self.server.lock:
            self.server.received.append(form)
            sid = f"SM{len(self.server.received):032d}"
            hold = form["To"] == self.server.hold_to
            if hold:
                self.server.hold_to, self.server.held_from = None, self.client_address
        if hold:  # accepted, like Twilio once it has the request, but the answer waits for the test
            self.server.held.set()
            self.server.release.wait(60)
        return self._reply(
            201,
            {
                "sid": sid,
                "account_sid": TWILIO_SID,
                "to": form["To"],
                "from": form["From"],
                "body": form["Body"],
                "status": "queued",
                "num_segments": "1",
            },
        )

    def _reply(self, status, payload):
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender died waiting for the answer (a test kills it): the message was accepted all the same

    def log_message(self, *args):
        pass


@contextmanager
def twilio_endpoint() -> Iterator[ThreadingHTTPServer]:
    """A local Twilio: ``received`` lists the accepted messages' forms, ``reply_status`` forces errors.

    ``hold_to`` names a number whose next message is accepted but answered only once ``release`` is set;
    ``held`` is set when it arrives, and ``held_from`` is the sender's (host, port).
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    server.received, server.reply_status, server.lock = [], 201, threading.Lock()
    server.hold_to, server.held_from = None, None
    server.held, server.release = threading.Event(), threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


class Inbox:
    """An aiosmtpd handler keeping every envelope; addresses at ``nobody@`` are refused."""

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


@contextmanager
def smtp_inbox() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@contextmanager
def threaded_server(app: Flask) -> Iterator[str]:
    """The app on werkzeug's threaded server, one thread per request like a real deployment; yields its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


class SourceAddress(HTTPAdapter):
    """Connects from one local address, so that the server sees each browser as its own client IP."""

    def __init__(self, source_ip: str, **options) -> None:
        self.source_ip = source_ip  # set first: the base class builds its pool manager in __init__
        super().__init__(**options)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source_ip, 0)
        super().init_poolmanager(*args, **kwargs)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Exchange:
    """One request of a browser and its answer; ``id`` travels in the ``X-Smoke-Id`` header (proxy logs)."""

    id: str
    method: str
    path: str
    status: int
    started: float
    ended: float


class Browser:
    """A person's browser: its own cookies, English pages, CSRF tokens read from the forms and a Referer, as a
    browser sends them. Every exchange is kept in ``exchanges`` (a request that got no answer at all has status
    0). ``copy()`` is another browser holding the same cookies (a second tab, or a stolen cookie)."""

    _ids = itertools.count(1)

    def __init__(
        self, base_url: str, source_ip: str = "127.0.0.1", *, verify: bool | str = True, cookies=None
    ) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.mount("http://", SourceAddress(source_ip))
        self.http.mount("https://", SourceAddress(source_ip))
        self.verify = verify  # per request: a session's own setting loses to REQUESTS_CA_BUNDLE
        self.http.headers["Accept-Language"] = "en"
        if cookies is not None:
            self.http.cookies.update(cookies)
        self.exchanges: list[Exchange] = []

    def copy(self) -> Browser:
        return Browser(self.base_url, source_ip_of(self), verify=self.verify, cookies=self.http.cookies)

    def request(self, method: str, path: str, **options) -> requests.Response:
        options.setdefault("timeout", 60)
        options.setdefault("allow_redirects", False)
        options.setdefault("verify", self.verify)
        smoke_id = f"{source_ip_of(self)}-{next(self._ids)}"
        headers = {"Referer": self.base_url + path, "X-Smoke-Id": smoke_id, **options.pop("headers", {})}
        started = time.time()
        try:
            response = self.http.request(method, self.base_url + path, headers=headers, **options)
        except requests.RequestException:  # no answer, or one cut short: kept as status 0, then raised
            self.exchanges.append(Exchange(smoke_id, method, path, 0, started, time.time()))
            raise
        self.exchanges.append(Exchange(smoke_id, method, path, response.status_code, started, time.time()))
        return response

    def get(self, path: str, **options) -> requests.Response:
        return self.request("GET", path, **options)

    def token(self, path: str) -> str:
        """The CSRF token of the form ``path`` shows, after its redirects (a locked flow shows another one)."""
        return _form_token(self.get(path, allow_redirects=True), path)

    def post(self, path: str, data: dict, token: str | None = None, **options) -> requests.Response:
        """Post a form as a person would: open its page, then send it with the page's CSRF token (or with
        ``token``, read before: a second tab, or a replay). A page that fails to open is returned instead."""
        if token is None:
            page = self.get(path, allow_redirects=True)
            if self.failed:
                return page
            token = _form_token(page, path)
        return self.request("POST", path, data={**data, "csrf_token": token}, **options)

    @property
    def failed(self) -> bool:
        """Whether the last request got a server error (or no answer)."""
        return not 0 < self.exchanges[-1].status < 500


def _form_token(page: requests.Response, path: str) -> str:
    match = CSRF.search(page.text)
    assert match, f"no form on {path} (status {page.status_code} at {page.url})"
    return match.group(1)


def source_ip_of(browser: Browser) -> str:
    return browser.http.get_adapter(browser.base_url).source_ip


T = TypeVar("T")


def in_parallel(count: int, call: Callable[[int], T]) -> list[T]:
    """``call(0)`` … ``call(count - 1)``, each in its own thread, all released at the same moment."""
    start = threading.Barrier(count)

    def run(index: int) -> T:
        start.wait()
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def posted_in_parallel(browser: Browser, path: str, forms: list[dict]) -> list[requests.Response]:
    """Each form posted to ``path`` at the same moment, each from a copy of ``browser`` (the same cookie and
    CSRF token), as a double click or an attacker replaying one session does."""
    token = browser.token(path)
    copies = [browser.copy() for _ in forms]
    return in_parallel(len(forms), lambda i: copies[i].post(path, forms[i], token=token))

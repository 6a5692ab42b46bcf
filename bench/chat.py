"""Benchmark: the help chat's live updates, 200 open conversations, two app processes and the stream process.

Creates for the run an owner role, a portal role and a database of their own
(``import_billing.production_database``, dropped at the end), migrates as the owner, imports ``--companies``
small companies (``lines_page.build_sizes``) with ``--conversations`` customers spread over them (each a
member of one company) and ``--advisors`` advisors; each customer has one conversation, taken by an advisor
(advisors have several). Every customer and advisor gets a signed-in session as the sign-in's last step
makes it (an app on the same secret key: the served portal accepts its cookie). The portal runs as in
production, connected as the portal's role (Row-Level Security on): two page servers (``mgd.gunicorn_conf``,
one worker process each, standing for two app processes behind a load balancer: this client sends each
message to one of them in turn) and the stream process (``mgd.gunicorn_stream_conf``: ``--stream-workers``
processes, each with its LISTEN connection), with ``MGD_CHAT_LONG_POLL=true``.

Both sides of every conversation keep a request waiting for news (``…/espera``, as the page's script does:
asked again as soon as it answers), and each side sends a message every ``--every`` seconds (the sides'
starts spread evenly: a steady ``2 × conversations / every`` messages a second), posted as the script does
(the form, asking for JSON) to a page server. Measured for ``--seconds``: from just before a message's POST
until the other side's waiting request returns it (the POST's own time included). Prints the p50, p95, p99
and largest delay, the POSTs' p50 and p99, how many messages arrived late (> 1 s) or never (5 s after the
end), the waits that answered "nothing new" or failed, and the load average; the target is p99 < 1 s.
Usage: python bench/chat.py [--admin-url URL] [--conversations N] [--seconds S] [--every S] [--quiet]
"""

from __future__ import annotations

import argparse
import heapq
import http.client
import itertools
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from flask import session as flask_session
from flask_wtf.csrf import generate_csrf
from sqlalchemy.orm import Session

from import_billing import ADMIN_URL, production_database
from lines_page import PASSWORD, build_sizes
from mgd import create_app
from mgd.chat.models import Conversation, Message
from mgd.db import database, get_session, make_engine, set_tenant, utcnow
from mgd.extensions import limiter
from mgd.migrate import grant_app_role, register_operator_key, upgrade
from mgd.security import login
from mgd.security.models import User
from mgd.security.passwords import hash_password
from mgd.security.services import create_staff
from mgd.tenants.models import Membership
from serve import production_env

HERE = Path(__file__).resolve().parent
PAGE_PORTS = (18310, 18311)
STREAM_PORT = 18312
QUIET = Path("/tmp/mgd-quiet")  # noqa: S108 (the shared machine's lock: other sessions wait while it exists)
TARGET_MS = 1000


@dataclass
class Side:
    """One side of one conversation: who (cookie, CSRF token), where it writes and waits."""

    name: str  # "c" customer, "a" advisor
    number: int
    cookie: str
    token: str
    post_path: str
    wait_path: str
    field: str  # the form's text field
    token_field: str
    last: int = 0
    other: Side | None = None
    sent: dict[str, float] = field(default_factory=dict)  # body -> when its POST started


# ---- the data ---------------------------------------------------------------------------------------------


def build(owner: str, app_db: str, secret: str, workdir: Path, args) -> list[tuple[Side, Side]]:
    """Companies, customers, advisors and their conversations; everyone signed in. The pairs of sides."""
    settings = {
        "ENV": "development",
        "SECRET_KEY": secret,
        "DATABASE_URL": app_db,
        "INSTANCE_PATH": str(workdir),
    }
    app = create_app({**settings, "SMS_BACKEND": "file", "MAIL_BACKEND": "file", "SESSION_IDLE_MINUTES": 600})
    limiter.enabled = False
    logging.getLogger().setLevel(logging.WARNING)  # (this app's request lines are the setup's, not measured)
    register_operator_key(owner, database(app).operator_key)
    with app.app_context():
        companies = build_sizes(owner, [3] * args.companies, app.config["TERMS_VERSION"], members=1)
        session = get_session()
        advisors = []
        for n in range(args.advisors):
            user, password = create_staff(session, f"advisor{n}@operador.es", f"Advisor {n}", "advisor")
            user.password_is_temporary = False  # (signed in below without the first sign-in's new password)
            advisors.append((user.id, user.email, password))
        session.commit()
    engine = make_engine(owner)
    password_hash = hash_password(PASSWORD)
    conversations = []  # (company ref, conversation id, customer email, advisor index)
    with Session(engine) as session:
        for number in range(args.conversations):
            company_id, ref = companies[number % len(companies)]
            set_tenant(session, company_id)
            customer = User(
                email=f"customer{number}@bench.es",
                name=f"Customer {number:03d}",
                password_hash=password_hash,
                password_is_temporary=False,
                mobile="+34600000000",
                terms_version=app.config["TERMS_VERSION"],
                access_data_confirmed_at=utcnow(),
            )
            session.add(customer)
            session.flush()
            session.add(Membership(tenant_id=company_id, user_id=customer.id, role="viewer"))
            advisor = number % len(advisors)
            now = utcnow()
            conversation = Conversation(
                tenant_id=company_id,
                customer_id=customer.id,
                advisor_id=advisors[advisor][0],
                state="active",
                mode="live",
                locale="en",
                created_at=now,
                queued_at=now,
                taken_at=now,
            )
            session.add(conversation)
            session.flush()
            session.add(
                Message(
                    tenant_id=company_id, conversation_id=conversation.id, author="customer", body="Hello"
                )
            )
            session.flush()
            conversations.append((ref, conversation.id, customer.id, advisor))
        session.commit()
    engine.dispose()
    started = time.monotonic()
    desks = [credentials(app, user_id) for user_id, _, _ in advisors]
    pairs = []
    for ref, number, customer_id, advisor in conversations:
        page, desk = f"/empresa/{ref}/chat/{number}", f"/backoffice/chat/{number}"
        customer = credentials(app, customer_id)
        customer_side = Side("c", number, *customer, page, f"{page}/espera", "body", "csrf_token")
        advisor_side = Side(
            "a", number, *desks[advisor], f"{desk}/reply", f"{desk}/espera", "reply-body", "reply-csrf_token"
        )
        customer_side.other, advisor_side.other = advisor_side, customer_side
        pairs.append((customer_side, advisor_side))
    took = time.monotonic() - started
    print(f"signed in {len(conversations)} customers and {len(advisors)} advisors in {took:.1f} s")
    database(app).engine.dispose()
    return pairs


def credentials(app, user_id: int) -> tuple[str, str]:
    """A signed-in session as the sign-in's last step starts it (``mgd.security.login.sign_in``: its row in
    the database, its token in the cookie) and a CSRF token of it: the cookie the served portal accepts (same
    secret key) without a password and a code per user (a second each, most of it the password's hash).
    A context of its own each: the CSRF token is kept in ``g`` for the context's life."""
    with app.app_context(), app.test_request_context("/"):
        db = get_session()
        login.sign_in(db.get(User, user_id))
        token = generate_csrf()
        db.commit()
        cookie = app.session_interface.get_signing_serializer(app).dumps(dict(flask_session))
    return f"session={cookie}", token


# ---- the servers ------------------------------------------------------------------------------------------


def start(conf: str, target: str, port: int, env: dict, log: Path) -> subprocess.Popen:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is in use: stop what listens there first")
    argv = [sys.executable, "-m", "gunicorn", "-c", f"python:{conf}", "--bind", f"127.0.0.1:{port}", target]
    with log.open("w") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.5)
        if process.poll() is not None:
            break
    process.terminate()
    raise SystemExit(f"{target} did not start:\n{log.read_text()[-3000:]}")


def check(pairs: list[tuple[Side, Side]]) -> None:
    """Both sides' pages answer on both page servers, pointing their script at the wait."""
    for side in pairs[0]:
        page = side.post_path.removesuffix("/reply")
        for port in PAGE_PORTS:
            status, body = request(
                http.client.HTTPConnection("127.0.0.1", port, timeout=30),
                "GET",
                page,
                {"Cookie": side.cookie},
            )
            if status != 200 or b"data-chat-wait" not in body:
                raise SystemExit(
                    f"GET {page} on port {port}: {status}, not a conversation's page with its wait"
                )


# ---- the load ---------------------------------------------------------------------------------------------


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    delays: list[float] = field(default_factory=list)  # ms, messages sent in the timed window
    posts: list[float] = field(default_factory=list)
    timed: set[str] = field(default_factory=set)  # bodies sent in the timed window
    arrived: set[str] = field(default_factory=set)
    empty_waits: int = 0
    failed_waits: int = 0
    failed_posts: int = 0
    waits: int = 0


def request(connection: http.client.HTTPConnection, method: str, path: str, headers: dict, body=None):
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def waiter(side: Side, tally: Tally, stop: threading.Event) -> None:
    """As the page's script: wait for news, take what came, ask again at once."""
    connection = http.client.HTTPConnection("127.0.0.1", STREAM_PORT, timeout=60)
    headers = {"Cookie": side.cookie, "Accept": "application/json"}
    while not stop.is_set():
        try:
            status, body = request(connection, "GET", f"{side.wait_path}?after={side.last}", headers)
        except (OSError, http.client.HTTPException):
            if stop.is_set():
                return
            tally.failed_waits += 1
            connection.close()
            time.sleep(1)
            continue
        now = time.monotonic()
        if status != 200:
            tally.failed_waits += 1
            time.sleep(1)
            continue
        news = json.loads(body)
        tally.waits += 1
        if not news["messages"]:
            tally.empty_waits += 1
        for message in news["messages"]:
            side.last = max(side.last, message["id"])
            sent = side.other.sent.pop(message["body"], None)
            if sent is not None:
                with tally.lock:
                    if message["body"] in tally.timed:
                        tally.delays.append((now - sent) * 1000)
                        tally.arrived.add(message["body"])


_local = threading.local()


def send(side: Side, body: str, port: int, tally: Tally, timed: bool) -> None:
    connections = getattr(_local, "connections", None)
    if connections is None:
        connections = _local.connections = {}
    connection = connections.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connections[port] = connection
    form = urlencode({side.field: body, side.token_field: side.token})
    headers = {
        "Cookie": side.cookie,
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    started = time.monotonic()
    side.sent[body] = started
    if timed:
        with tally.lock:
            tally.timed.add(body)
    status = 0
    for attempt in range(2):  # a kept-alive connection the server closed meanwhile fails at once: once more
        try:
            status, answer = request(connection, "POST", side.post_path, headers, form)
            break
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = connections[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if attempt:
                status, answer = 0, b""
    if status != 200 and not tally.failed_posts:
        text = answer.decode(errors="replace")
        print(f"POST {side.post_path}: {status} {text[text.find('<main') :][:800]}", flush=True)
    with tally.lock:
        if status != 200:
            tally.failed_posts += 1
        elif timed:
            tally.posts.append((time.monotonic() - started) * 1000)


def load(pairs: list[tuple[Side, Side]], args) -> Tally:
    tally, stop = Tally(), threading.Event()
    sides = [side for pair in pairs for side in pair]
    threads = [threading.Thread(target=waiter, args=(side, tally, stop), daemon=True) for side in sides]
    for thread in threads:
        thread.start()
    time.sleep(3)  # every side waiting
    begin = time.monotonic()
    warm_until, end = begin + args.warmup, begin + args.warmup + args.seconds
    step = args.every / len(sides)
    queue = [(begin + i * step, i) for i in range(len(sides))]  # the sides' starts spread evenly
    heapq.heapify(queue)
    ports = itertools.cycle(PAGE_PORTS)
    sequence = itertools.count()
    with ThreadPoolExecutor(max_workers=args.senders) as pool:
        while queue:
            at, index = heapq.heappop(queue)
            if at >= end:
                break
            time.sleep(max(0.0, at - time.monotonic()))
            side = sides[index]
            body = f"{side.name}{side.number}-{next(sequence)}"
            pool.submit(send, side, body, next(ports), tally, at >= warm_until)
            heapq.heappush(queue, (at + args.every, index))
    time.sleep(5)  # the last messages' deliveries
    stop.set()
    return tally


def report(tally: Tally, args, conversations: int) -> None:
    delays = sorted(tally.delays)
    missing = len(tally.timed - tally.arrived)
    late = sum(1 for d in delays if d > TARGET_MS)
    centiles = statistics.quantiles(delays, n=100, method="inclusive")
    posts = statistics.quantiles(sorted(tally.posts), n=100, method="inclusive")
    print(
        f"{conversations} conversations, both sides waiting (stream process) and each side writing every "
        f"{args.every:g} s: {2 * conversations / args.every:.1f} messages/s for {args.seconds} s "
        f"(after {args.warmup} s of warm-up)"
    )
    print(
        f"delivered {len(delays)} of {len(tally.timed)} messages; delay from the POST to the other side's "
        f"waiting request: p50 {centiles[49]:.1f} ms  p95 {centiles[94]:.1f} ms  p99 {centiles[98]:.1f} ms  "
        f"max {delays[-1]:.1f} ms"
    )
    print(f"POST of a message (page servers): p50 {posts[49]:.1f} ms  p99 {posts[98]:.1f} ms")
    print(
        f"late (> {TARGET_MS} ms): {late}; never arrived: {missing}; failed POSTs: {tally.failed_posts}; "
        f"waits answered: {tally.waits} (nothing new: {tally.empty_waits}); "
        f"failed waits: {tally.failed_waits}"
    )
    verdict = "met" if centiles[98] < TARGET_MS and missing == 0 else "NOT met"
    print(
        f"target p99 < {TARGET_MS} ms with every message delivered: {verdict}; load {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default=ADMIN_URL, help="a superuser, to create and drop the run's roles"
    )
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--companies", type=int, default=20)
    parser.add_argument("--advisors", type=int, default=20)
    parser.add_argument("--every", type=float, default=20.0, help="seconds between one side's messages")
    parser.add_argument("--seconds", type=int, default=60, help="measured")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--senders", type=int, default=32, help="client threads posting messages")
    parser.add_argument("--stream-workers", type=int, default=2)
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="wait for the shared machine's quiet lock (/tmp/mgd-quiet) to be free, hold it while measuring",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # the database and roles are dropped still
    with production_database(args.admin_url, "chat") as run:
        workdir, secret, processes = (
            Path(tempfile.mkdtemp(prefix="mgd-bench-chat-")),
            secrets.token_urlsafe(32),
            [],
        )
        try:
            upgrade(run.owner_url)
            grant_app_role(run.owner_url, run.app_url)
            pairs = build(run.owner_url, run.app_url, secret, workdir, args)
            env = production_env(secret, run.app_url, workdir) | {
                "MGD_CHAT_LONG_POLL": "true",
                "WEB_CONCURRENCY": "1",
                "STREAM_WORKERS": str(args.stream_workers),
                "STREAM_THREADS": str(2 * args.conversations + 50),
            }
            for port in PAGE_PORTS:
                processes.append(
                    start("mgd.gunicorn_conf", "mgd.wsgi:app", port, env, workdir / f"{port}.log")
                )
            processes.append(
                start(
                    "mgd.gunicorn_stream_conf",
                    "mgd.stream_wsgi:app",
                    STREAM_PORT,
                    env,
                    workdir / "stream.log",
                )
            )
            print(
                f"page servers: {len(PAGE_PORTS)} x 1 worker x 4 threads (mgd.gunicorn_conf); stream "
                f"process: {args.stream_workers} workers x {2 * args.conversations + 50} threads "
                "(mgd.gunicorn_stream_conf)"
            )
            check(pairs)
            held = False
            try:
                if args.quiet:
                    while QUIET.exists():
                        time.sleep(15)
                    QUIET.touch()
                    held = True
                tally = load(pairs, args)
            finally:
                if held:
                    QUIET.unlink(missing_ok=True)
            report(tally, args, len(pairs))
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
            shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"database: PostgreSQL as the portal's role (Row-Level Security on); {args.companies} companies, "
        f"{args.conversations} customers, {args.advisors} advisors"
    )


if __name__ == "__main__":
    main()

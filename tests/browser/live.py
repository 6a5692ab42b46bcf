"""What the browser tests share: Debian's Chromium driven by Playwright (skipped outside CI when missing, an error
under CI=true), the portal served on a local port with its own database and an in-process worker, the codes it
sends, and axe-core (tests/browser/package.json, installed by `make install`) injected into the page."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from mgd import create_app
from mgd.db import database, get_session
from mgd.jobs import bind_actors, broker_of, start_worker
from mgd.migrate import upgrade
from mgd.tenants.records.importer import import_records
from mgd.tenants.records.validate import parse_document
from tests.environment import IN_CI, settings
from tests.factories import TARIFFS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = Path(__file__).with_name("node_modules") / "axe-core" / "axe.min.js"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE, DESKTOP = {"width": 360, "height": 740}, {"width": 1280, "height": 800}


def require_chromium(axe: bool = False) -> None:
    """Skip the calling test module when Chromium (or axe-core) is missing, unless CI=true: then fail."""
    missing = [
        what
        for what, present in (("Chromium (apt-get install chromium)", Path(CHROMIUM).exists()),)
        + ((("axe-core (npm ci --prefix tests/browser)", AXE.exists()),) if axe else ())
        if not present
    ]
    if not missing:
        return
    if IN_CI:
        raise RuntimeError(
            f"CI=true but {', '.join(missing)} is missing: .ci/run and `make install` install it"
        )
    pytest.skip(f"{', '.join(missing)} is not installed; CI always runs this test", allow_module_level=True)


@contextmanager
def serve_portal(app: Flask, tmp_path: Path, records: list[dict], **more) -> Iterator[tuple[Flask, str]]:
    """The portal served on a local port, with its own database holding ``records`` and an in-process worker
    delivering messages to files, ``more`` settings changed; the suite's ``app`` gets its broker back after."""
    database_url = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
    upgrade(database_url)
    portal = create_app(settings(tmp_path, database_url, **more))
    with portal.app_context():
        session = get_session()
        import_records(session, parse_document(json.dumps({"tariffs": TARIFFS, "companies": records})))
        session.commit()
    worker = start_worker(portal)
    server = make_server("127.0.0.1", 0, portal, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield portal, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        worker.stop()
        database(portal).engine.dispose()
        bind_actors(broker_of(app))


def _last_message(path: Path, to: str, field: str, timeout: float, after: int) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()[after:]
            for line in reversed(lines):
                message = json.loads(line)
                if message["to"] == to:
                    return message[field]
        time.sleep(0.1)
    raise AssertionError(f"no message to {to} within {timeout} s")


def sent_count(path: Path) -> int:
    """How many messages the file holds now: pass it as ``after`` to wait for the next one."""
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


def wait_for_sms(path: Path, to: str, timeout: float = 15.0, after: int = 0) -> str:
    """The code of the last SMS to ``to`` (after the first ``after`` messages of the file)."""
    body = _last_message(path, to, "body", timeout, after)
    return next(word for word in body.split() if word.rstrip(".").isdigit()).rstrip(".")


def wait_for_mailed_code(path: Path, to: str, timeout: float = 15.0, after: int = 0) -> str:
    """The 6-digit code of the last email to ``to`` (after the first ``after`` messages of the file)."""
    return re.search(r"\b\d{6}\b", _last_message(path, to, "text", timeout, after)).group()


def temporary_password(path: Path, to: str) -> str:
    """The temporary password of the last welcome email to ``to``."""
    for line in reversed(path.read_text(encoding="utf-8").splitlines()):
        mail = json.loads(line)
        if mail["to"] == to and "temporal: " in mail["text"]:
            return mail["text"].split("temporal: ")[1].split()[0]
    raise AssertionError(f"no temporary password mailed to {to}")


def audit(page) -> list[dict]:
    """axe-core's violations on the page as shown now (every rule of axe's default run)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluated by DevTools: the page's CSP allows it
    return page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' — ' + n.failureSummary)}))"""
    )


def scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")

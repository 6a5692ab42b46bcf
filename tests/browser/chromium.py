"""What the browser tests share: Debian's Chromium (missing: skipped here, an error in CI), the arguments it
runs with, and the codes read from the SMS that the portal's worker delivered."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from tests.environment import IN_CI

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip the calling test module when Chromium is missing (CI always has it: there it is an error)."""
    if not Path(CHROMIUM).exists():
        if IN_CI:
            raise RuntimeError(
                "CI=true but Chromium is missing: .ci/run installs the Debian package `chromium`"
            )
        pytest.skip(
            "Chromium is not installed (apt-get install chromium); CI always runs this test",
            allow_module_level=True,
        )


def wait_for_sms(path: Path, to: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for line in reversed(path.read_text(encoding="utf-8").splitlines()):
                message = json.loads(line)
                if message["to"] == to:
                    return next(
                        word for word in message["body"].split() if word.rstrip(".").isdigit()
                    ).rstrip(".")
        time.sleep(0.1)
    raise AssertionError(f"no SMS to {to} within {timeout} s")

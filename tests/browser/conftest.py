"""The portal the browser tests drive: served on a local port with a database of its own."""

from __future__ import annotations

import pytest

from tests.browser.live import serve_portal
from tests.factories import COMPANIES


@pytest.fixture
def live_portal(app, tmp_path):
    """The portal served on a local port, with its own database and an in-process worker delivering SMS."""
    with serve_portal(app, tmp_path, list(COMPANIES.values())) as served:
        yield served

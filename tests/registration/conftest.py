"""Registration tests speak English: the flow's assertions read like the code (Spanish has its own tests)."""

from __future__ import annotations

import pytest

from tests.kit import browser


@pytest.fixture
def client(app, bound):
    """An English-speaking browser."""
    return browser(app)

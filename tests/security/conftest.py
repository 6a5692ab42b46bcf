"""Sign-in tests: an onboarded web administrator, and a browser that speaks English."""

from __future__ import annotations

import pytest

from mgd.extensions import limiter
from tests.accounts import create_member
from tests.kit import browser


@pytest.fixture
def client(app, bound):
    """An English-speaking browser, so that assertions read like the code; Spanish has its own tests."""
    return browser(app)


@pytest.fixture
def member(app, bound):
    """An onboarded web administrator with a verified mobile."""
    limiter.reset()
    return create_member(app)

import pytest

from mgd.chat.hours import Hours
from tests.accounts import Company, add_member, create_company


@pytest.fixture
def chat_open(monkeypatch):
    """The chat's hours say open, whatever the clock of the test run."""
    monkeypatch.setattr(Hours, "is_open", lambda self, now=None: True)


@pytest.fixture
def chat_closed(monkeypatch):
    monkeypatch.setattr(Hours, "is_open", lambda self, now=None: False)


@pytest.fixture
def beta(app, bound) -> Company:
    """Beta: two lines; Dora (admin)."""
    company = create_company(app, "Beta S.A.", 2)
    add_member(app, company, "dora@beta.es", "admin")
    return company

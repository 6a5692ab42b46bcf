import pytest

from tests.accounts import Company, add_member, create_company


@pytest.fixture
def beta(app, bound) -> Company:
    """Beta: two lines; Dora (admin)."""
    company = create_company(app, "Beta S.A.", 2)
    add_member(app, company, "dora@beta.es", "admin")
    return company

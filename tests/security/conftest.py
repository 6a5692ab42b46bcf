from tests.registration.conftest import client  # noqa: F401 (the English-speaking browser)

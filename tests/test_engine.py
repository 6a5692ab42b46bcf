"""The engine's per-backend settings (``mgd.db.make_engine``)."""

import pytest
from sqlalchemy import event

from mgd.db import POSTGRESQL_OPTIONS, make_engine


def connect_parameters(url: str) -> dict:
    """What ``make_engine(url)`` would hand the driver: caught before any server is reached."""
    engine = make_engine(url)
    seen: dict = {}

    @event.listens_for(engine, "do_connect")
    def capture(dialect, record, cargs, cparams):
        seen.update(cparams)
        raise ConnectionAbortedError

    with pytest.raises(ConnectionAbortedError):
        engine.connect()
    engine.dispose()
    return seen


def test_postgresql_connections_turn_jit_off():
    assert connect_parameters("postgresql+psycopg://mgd@127.0.0.1:1/mgd")["options"] == POSTGRESQL_OPTIONS


def test_the_urls_own_options_are_kept_beside_them():
    """A search path in the URL (as the test suite's private schemas and some deployments give) must survive:
    a connect argument replaces the URL's ``options`` rather than adding to them."""
    parameters = connect_parameters(
        "postgresql+psycopg://mgd@127.0.0.1:1/mgd?options=-csearch_path%3Dtenant_a"
    )
    assert parameters["options"] == f"-csearch_path=tenant_a {POSTGRESQL_OPTIONS}"

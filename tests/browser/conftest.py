"""The portal the browser tests drive: served on a local port with a database of its own."""

from __future__ import annotations

import json
import threading

import pytest
from werkzeug.serving import make_server

from mgd import create_app
from mgd.db import database, get_session
from mgd.jobs import bind_actors, broker_of, start_worker
from mgd.migrate import upgrade
from mgd.tenants.records.importer import import_records
from mgd.tenants.records.validate import parse_document
from tests.environment import settings
from tests.factories import COMPANIES, TARIFFS


@pytest.fixture
def live_portal(app, tmp_path):
    """The portal served on a local port, with its own database and an in-process worker delivering SMS."""
    database_url = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
    upgrade(database_url)
    portal = create_app(settings(tmp_path, database_url))
    with portal.app_context():
        session = get_session()
        import_records(
            session, parse_document(json.dumps({"tariffs": TARIFFS, "companies": list(COMPANIES.values())}))
        )
        session.commit()
    worker = start_worker(portal)
    server = make_server("127.0.0.1", 0, portal, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield portal, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    worker.stop()
    database(portal).engine.dispose()
    bind_actors(broker_of(app))

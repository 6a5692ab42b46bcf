"""MGD, the self-service portal of a telecom operator's business customers: the application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from settings (defaults < ``MGD_*`` environment < ``config``); wires, nothing else."""
    from mgd import crypto, db, edge, jobs, logs, ops, web  # noqa: PLC0415 (keeps `import mgd` light for the CLI)
    from mgd.config import load_settings  # noqa: PLC0415
    from mgd.notify import senders  # noqa: PLC0415

    settings = load_settings(config)
    app = Flask(__name__, instance_path=settings["INSTANCE_PATH"])
    app.config.update(settings)
    logs.init_app(app)  # first: every later hook's log lines carry the request id
    crypto.init_app(app)
    db.init_app(app)
    senders.init_app(app)
    jobs.init_app(app)
    web.init_app(app)
    ops.init_app(app)
    edge.init_app(app)  # last: it commits before the other after-request hooks see the response
    return app

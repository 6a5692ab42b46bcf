"""MGD, the self-service portal of a telecom operator's business customers: the application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from settings (defaults < ``MGD_*`` environment < ``config``); wires, nothing else."""
    from mgd import crypto, db, jobs, logs, ops  # noqa: PLC0415 (keeps `import mgd` light for the CLI)
    from mgd.chat import tasks as chat_tasks  # noqa: F401, PLC0415 (the transcripts' retention)
    from mgd.config import load_settings  # noqa: PLC0415
    from mgd.notify import senders, tasks  # noqa: F401, PLC0415 (tasks: the actors that jobs binds)
    from mgd.orders import caps  # noqa: F401, PLC0415 (orders the bars of spend caps reached)
    from mgd.orders import tasks as order_tasks  # noqa: F401, PLC0415 (the provisioning actor)
    from mgd.security import login  # noqa: PLC0415
    from mgd.usage import alert_tasks  # noqa: F401, PLC0415 (the alerts' actor, bound by jobs too)
    from mgd.usage import tasks as usage_tasks  # noqa: F401, PLC0415 (its actor too)
    from mgd.web import edge, shell  # noqa: PLC0415

    settings = load_settings(config)
    app = Flask(__name__, instance_path=settings["INSTANCE_PATH"])
    app.config.update(settings)
    logs.init_app(app)  # first: every later hook's log lines carry the request id
    crypto.init_app(app)
    db.init_app(app)
    senders.init_app(app)
    jobs.init_app(app)
    shell.init_app(app)
    login.init_app(app)
    ops.init_app(app)
    _register_blueprints(app)
    edge.init_app(app)  # last: it commits before the other after-request hooks see the response
    return app


def _register_blueprints(app: Flask) -> None:
    """Every feature's pages; features know nothing of each other, only this list knows them all."""
    from mgd.admin.audit_views import bp as activity  # noqa: PLC0415
    from mgd.admin.invitation_views import bp as invitations  # noqa: PLC0415
    from mgd.admin.views import bp as admin  # noqa: PLC0415
    from mgd.backoffice.chat_views import bp as backoffice_chat  # noqa: PLC0415
    from mgd.backoffice.help_views import bp as help_articles  # noqa: PLC0415
    from mgd.backoffice.order_views import bp as backoffice_orders  # noqa: PLC0415
    from mgd.backoffice.survey_views import bp as backoffice_surveys  # noqa: PLC0415
    from mgd.backoffice.views import bp as backoffice  # noqa: PLC0415
    from mgd.backoffice.visitor_chat_views import bp as backoffice_visitor_chat  # noqa: PLC0415
    from mgd.billing.views import bp as billing  # noqa: PLC0415
    from mgd.chat.views import bp as chat  # noqa: PLC0415
    from mgd.chat.visitor_views import bp as visitor_chat  # noqa: PLC0415
    from mgd.helpcentre.views import bp as helpcentre  # noqa: PLC0415
    from mgd.lines.views import bp as lines  # noqa: PLC0415
    from mgd.orders.views import bp as orders  # noqa: PLC0415
    from mgd.portal.legal_views import bp as legal  # noqa: PLC0415
    from mgd.portal.views import bp as portal  # noqa: PLC0415
    from mgd.registration.views import bp as registration  # noqa: PLC0415
    from mgd.security.profile_views import bp as profile  # noqa: PLC0415
    from mgd.security.reset_views import bp as password_reset  # noqa: PLC0415
    from mgd.security.views import bp as security  # noqa: PLC0415
    from mgd.selfcare.views import bp as selfcare  # noqa: PLC0415
    from mgd.selfcare.views import company  # noqa: PLC0415
    from mgd.usage.alert_views import bp as usage_alerts  # noqa: PLC0415
    from mgd.usage.views import bp as usage  # noqa: PLC0415

    for blueprint in (
        portal,
        legal,
        helpcentre,
        registration,
        security,
        password_reset,
        profile,
        selfcare,
        company,
        admin,
        invitations,
        lines,
        billing,
        usage,
        usage_alerts,
        orders,
        chat,
        visitor_chat,
        activity,
        backoffice,
        backoffice_orders,
        help_articles,
        backoffice_chat,
        backoffice_surveys,
        backoffice_visitor_chat,
    ):
        app.register_blueprint(blueprint)

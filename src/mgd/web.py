"""The web shell: cookies, CSRF, languages, security headers, error pages, blueprints and page context."""

from __future__ import annotations

from flask import Flask, Response, abort, current_app, g, render_template, request, session
from flask_babel import get_locale
from werkzeug.exceptions import BadRequest, HTTPException

from mgd.extensions import babel, csrf, limiter
from mgd.forms import unusable_character
from mgd.tenants.identifiers import format_phone

LOCALES = ("es", "en")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    from mgd.security import login  # noqa: PLC0415

    _configure_flask(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_timezone="Europe/Madrid")
    app.before_request(_refuse_unusable_address)
    app.after_request(_add_security_headers)
    _register_error_pages(app)
    _register_blueprints(app)


def _configure_flask(app: Flask) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["SESSION_COOKIE_SECURE"],
        BABEL_DEFAULT_LOCALE=app.config["DEFAULT_LOCALE"],
        BABEL_TRANSLATION_DIRECTORIES="translations",
        TESTING=app.config["ENV"] == "testing",
        RATELIMIT_STORAGE_URI=app.config["RATELIMIT_STORAGE_URL"],
        RATELIMIT_HEADERS_ENABLED=True,
    )
    app.add_template_filter(format_phone, "phone")


def select_locale() -> str:
    """The visitor's choice, else the browser's preference among ours, else the default (Spanish)."""
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES) or current_app.config["DEFAULT_LOCALE"]


class BadParameter(BadRequest):
    """A query parameter no page can use: the error page names it, and says why when ``message`` is given."""

    def __init__(self, name: str, message: str | None = None) -> None:
        super().__init__()
        self.parameter = ascii(name)[1:-1] if unusable_character(name) else name
        self.message = message


def _refuse_unusable_address() -> None:
    """Control characters (NUL first: PostgreSQL cannot store it) and lone surrogates in the address reach
    no view: 404 in the path (no page has such an address), 400 naming the query parameter."""
    if unusable_character(request.path):
        abort(404)
    for name, values in request.args.lists():
        if unusable_character(name) or any(unusable_character(value) for value in values):
            raise BadParameter(name)


def _add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    response.vary.add("Accept-Language")
    return response


def _register_error_pages(app: Flask) -> None:
    def render_error(error: HTTPException):
        return render_template("errors/error.html", error=error), error.code

    def render_internal_error(_error: Exception):
        return render_template("errors/error.html", error=None), 500

    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(500, render_internal_error)


def _register_blueprints(app: Flask) -> None:
    from mgd.admin.audit_views import bp as activity  # noqa: PLC0415
    from mgd.admin.invitation_views import bp as invitations  # noqa: PLC0415
    from mgd.admin.line_views import bp as lines  # noqa: PLC0415
    from mgd.admin.views import bp as admin  # noqa: PLC0415
    from mgd.backoffice.views import bp as backoffice  # noqa: PLC0415
    from mgd.portal.views import bp as portal  # noqa: PLC0415
    from mgd.registration.views import bp as registration  # noqa: PLC0415
    from mgd.security.profile_views import bp as profile  # noqa: PLC0415
    from mgd.security.reset_views import bp as password_reset  # noqa: PLC0415
    from mgd.security.views import bp as security  # noqa: PLC0415
    from mgd.selfcare.views import bp as selfcare  # noqa: PLC0415
    from mgd.selfcare.views import company  # noqa: PLC0415

    for blueprint in (
        portal,
        registration,
        security,
        password_reset,
        profile,
        selfcare,
        company,
        admin,
        invitations,
        lines,
        activity,
        backoffice,
    ):
        app.register_blueprint(blueprint)
    app.context_processor(_page_context)


def _page_context() -> dict:
    from mgd.portal.services import help_status  # noqa: PLC0415

    return {
        "help": help_status(current_app.config["HELP_PHONE"]),
        "current_locale": str(get_locale()),
        "tenant": g.get("tenant"),
    }

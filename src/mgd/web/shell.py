"""The web shell: proxies, static files, cookies, CSRF, languages, security and cache headers, error pages and
the page context every template sees."""

from __future__ import annotations

import hashlib
import logging
from functools import cache
from pathlib import Path

from flask import Flask, Response, abort, current_app, g, render_template, request, session
from flask_babel import format_number, get_locale
from flask_babel import gettext as _
from markupsafe import escape
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from whitenoise import WhiteNoise

from mgd.config import LANGUAGES
from mgd.extensions import babel, csrf, limiter, login_manager
from mgd.identifiers import format_phone, masked_email, masked_phone
from mgd.web import summary
from mgd.web.forms import unusable_character

log = logging.getLogger(__name__)

LOCALES = tuple(LANGUAGES)
LOCALE = "locale"  # the session key of the language chosen (kept across sign-in and out: security.login)

#: Static files are named with a hash of their content in the query (``?v=…``), so browsers keep them a year.
STATIC_MAX_AGE = 365 * 24 * 3600

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
    _configure_flask(app)
    _wrap_wsgi(app)
    app.before_request(_refuse_large_bodies)  # before CSRF, sign-in and limits read anything
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_timezone="Europe/Madrid")
    app.before_request(_refuse_unusable_address)
    app.after_request(_add_security_headers)
    app.after_request(_keep_private_pages_out_of_caches)
    app.url_defaults(_version_static_urls)
    _register_error_pages(app)
    app.context_processor(_page_context)
    summary.init_app(app)


def _configure_flask(app: Flask) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["SESSION_COOKIE_SECURE"],
        BABEL_DEFAULT_LOCALE=app.config["DEFAULT_LOCALE"],
        BABEL_TRANSLATION_DIRECTORIES="translations",
        TESTING=app.config["ENV"] == "testing",
        RATELIMIT_STORAGE_URI=app.config["RATELIMIT_STORAGE_URL"],
        MAX_CONTENT_LENGTH=app.config["MAX_CONTENT_LENGTH"],
        RATELIMIT_HEADERS_ENABLED=True,
    )
    app.add_template_filter(format_phone, "phone")
    app.add_template_filter(format_number, "number")  # 50.000 in Spanish, 50,000 in English
    app.add_template_filter(masked_phone)
    app.add_template_filter(masked_email)


def _wrap_wsgi(app: Flask) -> None:
    """Static files answered before Flask (no session, sign-in or rate-limit work); behind trusted proxies,
    the client's address, scheme and host taken from their headers, and from no one else's."""
    static = WhiteNoise(
        app.wsgi_app, max_age=STATIC_MAX_AGE, add_headers_function=_static_headers, allow_all_origins=False
    )
    static.add_files(app.static_folder, prefix=app.static_url_path)
    app.wsgi_app = static
    hops = app.config["PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def _static_headers(headers, _path: str, _url: str) -> None:
    headers["X-Content-Type-Options"] = "nosniff"


def _version_static_urls(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values:
        values.setdefault("v", _static_version(current_app.static_folder, values["filename"]))


@cache
def _static_version(folder: str, filename: str) -> str:
    path = Path(folder, filename)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else "0"


def _refuse_large_bodies() -> None:
    """Refuse an oversized body from its declared length, before anything reads or parses it."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()


def select_locale() -> str:
    """The visitor's choice, else the browser's preference among ours, else the default (Spanish); in the
    regional form that formats its dates and numbers (``config.LANGUAGES``)."""
    chosen = session.get(LOCALE)
    if chosen not in LOCALES:
        chosen = request.accept_languages.best_match(LOCALES) or current_app.config["DEFAULT_LOCALE"]
    return LANGUAGES[chosen]


def current_language() -> str:
    """The language of this request (``es`` or ``en``), without its region."""
    return get_locale().language


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


def _keep_private_pages_out_of_caches(response: Response) -> Response:
    """A signed-in page or a download is nobody else's: neither the browser nor a proxy may keep a copy."""
    download = response.headers.get("Content-Disposition", "").startswith("attachment")
    if download or "_user_id" in session:
        response.headers["Cache-Control"] = "no-store"
    return response


def _register_error_pages(app: Flask) -> None:
    def render_error(error: HTTPException):
        return render_template("errors/error.html", error=error), error.code

    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(500, _render_internal_error)


def _render_internal_error(_error: Exception) -> tuple[str, int]:
    """The branded 500 page, which needs no database: the cause may be that the database is down, so the page
    leaves out the signed-in parts (the account menu, the company bar) that would load the user again."""
    request_id = g.get("request_id", "-")
    # Flask-Login's template context loads the user unless one is already known: give it the anonymous one.
    g._login_user = login_manager.anonymous_user()
    try:
        return render_template(
            "errors/error.html", error=None, bare=True, tenant=None, request_id=request_id
        ), 500
    except Exception:
        log.exception("the error page itself failed")
        title = escape(_("Something went wrong on our side"))
        return f"<!doctype html><title>MGD</title><h1>{title}</h1><p>{escape(request_id)}</p>", 500


def _page_context() -> dict:
    return {
        "current_locale": current_language(),
        "tenant": g.get("tenant"),
    }

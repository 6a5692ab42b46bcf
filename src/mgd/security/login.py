"""Flask-Login wiring and the signed-in session: a server-side session row per sign-in, whose token the cookie
carries, checked on every request; and ``fresh_login_required`` for changes that need a recent password."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask_babel import refresh
from flask_login import current_user, login_user, logout_user

from mgd.db import get_session, utcnow
from mgd.extensions import login_manager
from mgd.security import sessions
from mgd.security.audit import Origin
from mgd.security.models import User, UserSession
from mgd.web.edge import keep_on_failure
from mgd.web.shell import LOCALE, LOCALES, current_language

TOKEN = "sid"  # noqa: S105 (the cookie's key for the session token)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(lambda: abort(401))
    app.before_request(_end_stale_session)


def sign_in(user: User) -> UserSession:
    """Start a new session for ``user``: nothing of the anonymous one is kept but the language. A language
    chosen before signing in becomes the user's; otherwise the user's own (or, for a user who never chose
    one, the language of this page, which becomes theirs)."""
    chosen = session.get(LOCALE)
    session.clear()
    row, token = sessions.start_session(get_session(), user.id, Origin.of_request())
    login_user(user)
    session[TOKEN] = token
    g.user_session = row
    choose_language(chosen if chosen in LOCALES else user.locale or current_language())
    return row


def sign_out() -> None:
    """End this browser's session on the server too: a copy of the cookie is worth nothing afterwards. The
    language stays."""
    row = current_session()
    if row is not None:
        sessions.end_session(get_session(), row.user_id, row.id)
    g.pop("user_session", None)
    logout_user()
    _clear_keeping_language()


def choose_language(locale: str) -> None:
    """The language of this browser and, when someone is signed in, their own (their emails go in it)."""
    if locale not in LOCALES:
        raise ValueError(locale)
    session[LOCALE] = locale
    refresh()  # Flask-Babel keeps the locale it chose for the request: this page is in the new one
    if current_user.is_authenticated and current_user.locale != locale:
        current_user.locale = locale


def _clear_keeping_language() -> None:
    locale = session.get(LOCALE)
    session.clear()
    if locale in LOCALES:
        session[LOCALE] = locale


def current_session() -> UserSession | None:
    """The server-side session of the signed-in user of this request."""
    return g.get("user_session") if current_user.is_authenticated else None


def lifetime() -> sessions.Lifetime:
    return sessions.Lifetime.from_config(current_app.config)


def _load_user(user_id: str) -> User | None:
    token = session.get(TOKEN)
    if not token or not user_id.isdigit():
        return None
    db, now = get_session(), utcnow()
    found = sessions.find_live_session(db, token, lifetime(), now)
    if found is None or found[0].user_id != int(user_id):
        return None
    row, user = found
    if not user.is_active:
        return None
    if sessions.touch(row, now):  # the sign of life stands even if the request fails
        keep_on_failure(lambda _db: sessions.touch(row, now))
    g.user_session = row
    return user


def _end_stale_session() -> None:
    if TOKEN in session and not current_user.is_authenticated:
        logout_user()
        _clear_keeping_language()


def fresh_login_required(back: Callable[..., str] | None = None):
    """Let the view run only for a session whose sign-in or re-authentication is recent (``REAUTH_MINUTES``).

    Otherwise the person confirms their password at ``/reautenticar`` and comes back: to this page for a GET,
    to ``back(**view_args)`` for a POST (its form has to be sent again).
    """

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            row = current_session()
            if row is not None and lifetime().is_fresh(row, utcnow()):
                return view(*args, **kwargs)
            if request.method == "GET":
                target = request.full_path.rstrip("?")
            else:
                target = back(**kwargs) if back else url_for("selfcare.home")
            return redirect(url_for("security.reauthenticate", next=target))

        return wrapper

    return decorate

"""Flask-Login wiring and the signed-in session: a fresh session at sign-in, idle and absolute timeouts, and
the user's session epoch, which a password change moves on so that every other session ends."""

from __future__ import annotations

import time

from flask import Flask, abort, current_app, session
from flask_login import current_user, login_user, logout_user

from mgd.db import get_session
from mgd.extensions import login_manager
from mgd.security.models import User


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(lambda: abort(401))
    app.before_request(_end_stale_session)


def sign_in(user: User) -> None:
    """Start a new session for ``user`` (nothing of the anonymous one is kept)."""
    session.clear()
    login_user(user)
    now = int(time.time())
    session.update(epoch=user.session_epoch, signed_in_at=now, seen_at=now)


def sign_out() -> None:
    logout_user()
    session.clear()


def _load_user(user_id: str) -> User | None:
    user = get_session().get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.is_active or session.get("epoch") != user.session_epoch:
        return None
    return user


def _end_stale_session() -> None:
    if "signed_in_at" not in session:
        return
    now, config = int(time.time()), current_app.config
    idle = now - session.get("seen_at", 0) > config["SESSION_IDLE_MINUTES"] * 60
    too_old = now - session["signed_in_at"] > config["SESSION_ABSOLUTE_HOURS"] * 3600
    if idle or too_old or not current_user.is_authenticated:
        sign_out()
        return
    session["seen_at"] = now

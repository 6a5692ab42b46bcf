"""Flask-Login wiring: who is signed in, and what an anonymous visitor gets on a members' page."""

from __future__ import annotations

from flask import Flask, abort

from mgd.db import get_session
from mgd.extensions import login_manager
from mgd.security.models import User


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(lambda: abort(401))


def _load_user(user_id: str) -> User | None:
    user = get_session().get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.is_active else None

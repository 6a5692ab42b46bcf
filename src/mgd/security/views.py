"""Signing out (signing in comes with the sign-in pages)."""

from __future__ import annotations

from flask import Blueprint, redirect, session, url_for
from flask_login import logout_user
from werkzeug.wrappers import Response

bp = Blueprint("security", __name__)


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    session.clear()
    return redirect(url_for("portal.home"))

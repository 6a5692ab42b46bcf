"""Home page and language switch."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from mgd.web import LOCALES, local_path

bp = Blueprint("portal", __name__)


@bp.get("/")
def home() -> str:
    return render_template("portal/home.html")


@bp.post("/language")
def set_language() -> Response:
    locale = request.form.get("locale", "")
    if locale not in LOCALES:
        abort(400)
    session["locale"] = locale
    return redirect(local_path(request.form.get("next"), url_for("portal.home")))

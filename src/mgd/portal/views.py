"""Home page and language switch. (The help button's hours and chat link come from ``mgd.chat.views``.)"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from mgd.security.login import choose_language
from mgd.web.links import local_path
from mgd.web.shell import LOCALES

bp = Blueprint("portal", __name__)


@bp.get("/")
def home() -> str:
    return render_template("portal/home.html")


@bp.post("/language")
def set_language() -> Response:
    locale = request.form.get("locale", "")
    if locale not in LOCALES:
        abort(400)
    choose_language(locale)  # a signed-in person's too, for the emails sent to them
    return redirect(local_path(request.form.get("next"), url_for("portal.home")))

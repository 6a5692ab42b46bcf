"""The pages every footer links to: privacy notice, accessibility statement and cookies (the terms of use are
the onboarding's, ``selfcare.terms``)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("legal", __name__)


@bp.get("/privacidad")
def privacy() -> str:
    config = current_app.config
    return render_template(
        "portal/privacy.html",
        operator=config["OPERATOR_NAME"],
        tax_id=config["OPERATOR_TAX_ID"],
        address=config["OPERATOR_ADDRESS"],
    )


@bp.get("/accesibilidad")
def accessibility() -> str:
    return render_template("portal/accessibility.html")


@bp.get("/cookies")
def cookies() -> str:
    """The one cookie the portal sets, described from the settings that make it (not from memory)."""
    config = current_app.config
    return render_template(
        "portal/cookies.html",
        name=config["SESSION_COOKIE_NAME"],
        secure=config["SESSION_COOKIE_SECURE"],
        samesite=config["SESSION_COOKIE_SAMESITE"],
        idle=config["SESSION_IDLE_MINUTES"],
        absolute=config["SESSION_ABSOLUTE_HOURS"],
    )

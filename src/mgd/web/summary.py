"""The error summary of a page (the GOV.UK pattern): the form macros report each error while the page's body
renders, and `base.html` lists them at the top of the page, prefixes the title with "Error:" and leaves out
autofocus."""

from __future__ import annotations

from flask import Flask, g, has_app_context
from markupsafe import Markup


def begin_page() -> str:
    """Start a page with no error reported (a request may render more than one template)."""
    g.page_errors = []
    return ""


def report_error(target: str | None, message: str) -> str:
    """Note an error of the page being rendered; ``target`` is the id of the field or fieldset it belongs to
    (None: an error of the whole page). Returns "" so that a template can call it in an expression."""
    g.setdefault("page_errors", []).append((target, message if isinstance(message, Markup) else str(message)))
    return ""


def page_errors() -> list[tuple[str | None, str]]:
    """The errors reported so far, in the order of the page."""
    return list(g.get("page_errors", ()))


def note_invalid_form() -> None:
    """A form of this request failed validation: its page is a page with errors, whatever renders first."""
    if has_app_context():
        g.invalid_form = True


def may_autofocus() -> bool:
    """Autofocus only on a page without errors: there, focus belongs to the error summary."""
    return not g.get("invalid_form") and not g.get("page_errors")


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        begin_page=begin_page,
        report_error=report_error,
        page_errors=page_errors,
        may_autofocus=may_autofocus,
    )

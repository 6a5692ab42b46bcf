"""What the visitor chat's pages and its polling JSON say: who wrote a message and the system messages in
words (a visitor's conversation can also end in "call us": nobody could answer and no email was given)."""

from __future__ import annotations

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _

from mgd.chat.hours import MADRID
from mgd.chat.visitor_models import VisitorChat, VisitorMessage
from mgd.chat.words import state_name, system_text


def visitor_system_text(body: str) -> str:
    """As ``system_text``, plus the visitor's own ending: nobody could answer and no email was given."""
    if body.partition(":")[0] == "to_phone":
        return _(
            "No advisor could take the conversation live. Please call %(phone)s.",
            phone=current_app.config["HELP_PHONE"],
        )
    return system_text("closed:customer" if body == "closed:visitor" else body)


def visitor_author(message: VisitorMessage, chat: VisitorChat) -> str:
    if message.author == "system":
        return ""
    if message.author == "advisor":
        return _("Advisor") + (f" ({message.user.name})" if message.user else "")
    return chat.name


def visitor_message_json(message: VisitorMessage, chat: VisitorChat) -> dict:
    """A message for the polling script (``js/chat.js``), shaped like a member's chat message (no files)."""
    return {
        "file": None,
        "id": message.id,
        "author": "customer" if message.author == "visitor" else message.author,
        "name": visitor_author(message, chat),
        "body": visitor_system_text(message.body) if message.author == "system" else message.body,
        "at": format_datetime(message.created_at.astimezone(MADRID), "short"),
    }


def visitor_template_words() -> dict:
    return {
        "state_name": state_name,
        "visitor_system_text": visitor_system_text,
        "visitor_author": visitor_author,
        "madrid": MADRID,
    }

"""What the chat's pages and scripts say about a conversation: the help button's status, the system
messages and close reasons in words, a message as JSON for the polling script."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from flask import request
from flask_babel import format_datetime
from flask_babel import gettext as _

from mgd.chat.forms import CLOSE_REASON_NAMES
from mgd.chat.hours import MADRID
from mgd.chat.models import Conversation, Message
from mgd.web.paging import whole_number
from mgd.web.shell import BadParameter

MAX_ID = 10**18 - 1


@dataclass(frozen=True)
class HelpStatus:
    phone: str
    open_now: bool
    opens: time
    closes: time
    chat_url: str | None = None


def state_name(state: str) -> str:
    return {"waiting": _("Waiting for an advisor"), "active": _("With an advisor"), "closed": _("Closed")}[
        state
    ]


def system_text(body: str) -> str:
    """A system message (``taken:Name``, ``transferred:Name``, ``closed:customer``) in the reader's words."""
    kind, _sep, name = body.partition(":")
    if kind == "taken":
        return _("%(name)s has joined the conversation.", name=name)
    if kind == "transferred":
        return _("Handed to %(name)s.", name=name) if name else _("Back in the queue for the next advisor.")
    if kind == "to_message":
        return _("No advisor could take the conversation live: it is now a message, answered by email.")
    if kind == "closed":
        return (
            _("You closed the conversation.")
            if name == "customer"
            else _("The advisor closed the conversation.")
        )
    return body


def author_name(message: Message, conversation: Conversation) -> str:
    if message.author == "system":
        return ""
    if message.author == "advisor":
        return _("Advisor") + (f" ({message.user.name})" if message.user else "")
    return message.user.name if message.user else _("Customer")


def message_json(message: Message, conversation: Conversation, file_url: str | None = None) -> dict:
    """A message for the polling script; ``file_url`` when the message carries a file (its body is then the
    file's name)."""
    return {
        "file": file_url,
        "id": message.id,
        "author": message.author,
        "name": author_name(message, conversation),
        "body": system_text(message.body) if message.author == "system" else message.body,
        "at": format_datetime(message.created_at.astimezone(MADRID), "short"),
    }


def id_arg(name: str) -> int | None:
    """A query parameter that is a message's or an order's id: empty is None, anything but a whole number
    a 400 naming it."""
    raw = request.args.get(name) or ""
    if not raw:
        return None
    number = whole_number(raw, 0, MAX_ID)
    if number is None:
        raise BadParameter(
            name, _("The parameter “%(name)s” of the address must be a whole number.", name=name)
        )
    return number


def template_words() -> dict:
    return {
        "state_name": state_name,
        "system_text": system_text,
        "author_name": author_name,
        "close_reasons": CLOSE_REASON_NAMES,
        "madrid": MADRID,
    }

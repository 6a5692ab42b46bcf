"""The visitor chat's forms: opening a conversation (name, optional email, the question) and writing in it.
Text only, shorter than a member's (``MAX_VISITOR_BODY``). Every refusal names its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from mgd.chat.visitor_models import MAX_VISITOR_BODY
from mgd.web.forms import EMAIL, Form
from mgd.web.validators import REQUIRED, email_address, one_line


class VisitorStartForm(Form):
    name = StringField(
        _l("Your name"), [REQUIRED, Length(max=120), one_line], render_kw={"autocomplete": "name"}
    )
    email = EmailField(
        _l("Your email (optional)"), [Optional(), Length(max=254), email_address], render_kw=EMAIL
    )
    body = TextAreaField(_l("Your question"), [REQUIRED, Length(max=MAX_VISITOR_BODY)], render_kw={"rows": 4})
    page = HiddenField()


class VisitorMessageForm(Form):
    body = TextAreaField(_l("Your message"), [REQUIRED, Length(max=MAX_VISITOR_BODY)], render_kw={"rows": 3})

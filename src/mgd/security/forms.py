"""Forms of signing in and of changing a password."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from mgd.web.forms import Form
from mgd.web.validators import REQUIRED, email_or_mobile


class LoginForm(Form):
    # Named ``email`` as before (password managers, links and tests know it); it takes the mobile too.
    email = StringField(
        _l("Email or mobile number"),
        [REQUIRED, Length(max=254), email_or_mobile],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"), [REQUIRED, Length(max=128)], render_kw={"autocomplete": "current-password"}
    )


class ChannelForm(Form):
    channel = RadioField(
        _l("Where do we send your security code?"), [DataRequired(_l("Choose where to receive it."))]
    )


class NewPasswordForm(Form):
    password = PasswordField(
        _l("New password"), [REQUIRED, Length(max=128)], render_kw={"autocomplete": "new-password"}
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        [REQUIRED, EqualTo("password", _l("The two passwords are not the same."))],
        render_kw={"autocomplete": "new-password"},
    )


class ReauthForm(Form):
    password = PasswordField(
        _l("Password"), [REQUIRED, Length(max=128)], render_kw={"autocomplete": "current-password"}
    )

"""Forms of Mi Área."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TelField
from wtforms.validators import DataRequired, Length

from mgd.web.forms import NAME, TEL, Form
from mgd.web.validators import PHONE, REQUIRED, mobile_only, one_line


class OnboardingForm(Form):
    accept_terms = BooleanField(
        _l("I have read and accept the terms of use"), [DataRequired(_l("You must accept the terms of use."))]
    )
    name = StringField(_l("Your name and surname"), [REQUIRED, Length(max=200), one_line], render_kw=NAME)
    mobile = TelField(
        _l("Your mobile number (we will send your security codes here)"),
        [REQUIRED, PHONE, mobile_only],
        render_kw=TEL,
    )

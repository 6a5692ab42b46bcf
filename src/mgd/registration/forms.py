"""Forms of the registration steps: they check the shape of what is typed, never who typed it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, IntegerField, StringField, TelField, TextAreaField
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from mgd.web.forms import EMAIL, JOB_TITLE, NAME, TEL, Form
from mgd.web.validators import FISCAL_ID, IBAN, PHONE, REQUIRED, email_address, mobile_only, one_line


class IdentifyForm(Form):
    fiscal_id = StringField(_l("Company fiscal ID (CIF or NIF)"), [REQUIRED, Length(max=20), FISCAL_ID])
    email = EmailField(_l("Your email"), [REQUIRED, Length(max=254), email_address], render_kw=EMAIL)


class PhoneForm(Form):
    phone = TelField(_l("A phone number of your company (fixed or mobile)"), [REQUIRED, PHONE], render_kw=TEL)


class MobileForm(Form):
    phone = TelField(_l("A mobile line of your company"), [REQUIRED, PHONE, mobile_only], render_kw=TEL)


class AccountsForm(Form):
    fixed_iban = StringField(_l("Bank account (IBAN) where your fixed lines are paid"), [Optional(), IBAN])
    mobile_iban = StringField(_l("Bank account (IBAN) where your mobile lines are paid"), [Optional(), IBAN])

    def require(self, fixed: bool, mobile: bool) -> None:
        """Keep only the accounts this flow asks for, and make them required."""
        for name, needed in (("fixed_iban", fixed), ("mobile_iban", mobile)):
            if needed:
                self[name].validators = [REQUIRED, IBAN]
            else:
                delattr(self, name)


class AccessRequestForm(Form):
    fiscal_id = StringField(_l("Company fiscal ID (CIF)"), [REQUIRED, Length(max=20), FISCAL_ID])
    requester_name = StringField(
        _l("Your name and surname"), [REQUIRED, Length(max=200), one_line], render_kw=NAME
    )
    position = StringField(
        _l("Your position in the company"), [REQUIRED, Length(max=120), one_line], render_kw=JOB_TITLE
    )
    email = EmailField(_l("Your email"), [REQUIRED, Length(max=254), email_address], render_kw=EMAIL)
    phone = TelField(_l("Your phone"), [REQUIRED, PHONE], render_kw=TEL)
    users_needed = IntegerField(
        _l("How many users do you need?"),
        [
            InputRequired(_l("This field is required.")),
            NumberRange(1, 1000, _l("Between 1 and 1,000 users.")),
        ],
    )
    comments = TextAreaField(_l("Comments (optional)"), [Optional(), Length(max=2000)])
    confirm = BooleanField(_l("I am authorised to request access on behalf of this company"), [REQUIRED])

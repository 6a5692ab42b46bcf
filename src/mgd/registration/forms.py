"""Forms of the registration steps: they check the shape of what is typed, never who typed it.

The field validators shared by every form of the portal (phone, fiscal ID, IBAN, email, code, plain text) live
here too.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, IntegerField, StringField, TelField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from mgd.forms import Form
from mgd.tenants.identifiers import (
    MOBILE,
    InvalidIdentifier,
    normalize_email,
    normalize_fiscal_id,
    normalize_iban,
    normalize_phone,
    to_ascii,
)


def _normalized(normalize, message):
    """A validator that replaces the field's data with its normalised form, or fails with ``message``."""

    def validate(form, field):
        try:
            field.normalized = normalize(field.data or "")
        except InvalidIdentifier:
            raise ValidationError(message) from None

    return validate


def mobile_only(form, field):
    if getattr(field, "normalized", None) is not None and field.normalized.kind != MOBILE:
        raise ValidationError(_l("This is a fixed number: give a mobile number (6… or 7…)."))


FISCAL_ID = _normalized(
    lambda v: normalize_fiscal_id(v).value,
    _l("This is not a valid CIF, NIF or NIE: check the letters and the check digit."),
)
PHONE = _normalized(normalize_phone, _l("This is not a Spanish fixed or mobile number."))
IBAN = _normalized(normalize_iban, _l("This is not a valid IBAN or account number: check the digits."))
REQUIRED = DataRequired(_l("This field is required."))


def email_address(form, field):
    """One email address, nothing else (no list, no name, no line break), in its stored lower-case form."""
    try:
        field.data = normalize_email(field.data or "")
    except InvalidIdentifier:
        raise ValidationError(_l("This is not a valid email address.")) from None


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(form, field):
    """One line of text: no control characters or line breaks (names end up in email subjects)."""
    if field.data and _CONTROL.search(field.data):
        raise ValidationError(_l("Use letters, digits and punctuation only, on one line."))


def six_digits(form, field):
    """Six digits, typed in any script (fullwidth ``１２３``, Arabic-Indic ``١٢٣``), kept as ASCII."""
    try:
        digits = to_ascii((field.data or "").strip())
    except InvalidIdentifier:
        digits = ""
    if not re.fullmatch(r"[0-9]{6}", digits):
        raise ValidationError(_l("The code has 6 digits."))
    field.data = digits


class IdentifyForm(Form):
    fiscal_id = StringField(_l("Company fiscal ID (CIF or NIF)"), [REQUIRED, Length(max=20), FISCAL_ID])
    email = EmailField(_l("Your email"), [REQUIRED, Length(max=254), email_address])


class PhoneForm(Form):
    phone = TelField(_l("A phone number of your company (fixed or mobile)"), [REQUIRED, PHONE])


class MobileForm(Form):
    phone = TelField(_l("A mobile line of your company"), [REQUIRED, PHONE, mobile_only])


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


class CodeForm(Form):
    code = StringField(
        _l("Security code"),
        [REQUIRED, six_digits],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"},
    )


class ResendForm(Form):
    pass


class AccessRequestForm(Form):
    fiscal_id = StringField(_l("Company fiscal ID (CIF)"), [REQUIRED, Length(max=20), FISCAL_ID])
    requester_name = StringField(_l("Your name and surname"), [REQUIRED, Length(max=200), one_line])
    position = StringField(_l("Your position in the company"), [REQUIRED, Length(max=120), one_line])
    email = EmailField(_l("Your email"), [REQUIRED, Length(max=254), email_address])
    phone = TelField(_l("Your phone"), [REQUIRED, PHONE])
    users_needed = IntegerField(
        _l("How many users do you need?"),
        [
            InputRequired(_l("This field is required.")),
            NumberRange(1, 1000, _l("Between 1 and 1,000 users.")),
        ],
    )
    comments = TextAreaField(_l("Comments (optional)"), [Optional(), Length(max=2000)])
    confirm = BooleanField(_l("I am authorised to request access on behalf of this company"), [REQUIRED])

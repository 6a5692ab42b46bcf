"""The field validators shared by every form of the portal: phone, fiscal ID, IBAN, email, code, plain text.

A normalising validator leaves the parsed value on ``field.normalized`` for the view to pass on.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms.validators import DataRequired, ValidationError

from mgd.identifiers import (
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


def email_or_mobile(form, field):
    """An email address (stored lower-case form) or a Spanish mobile number (E.164), for signing in with
    either; anything else, a fixed number included, is refused naming what the field takes."""
    raw = field.data or ""
    try:
        if "@" in raw:
            field.data = normalize_email(raw)
            return
        phone = normalize_phone(raw)
    except InvalidIdentifier:
        phone = None
    if phone is None or phone.kind != MOBILE:
        raise ValidationError(_l("Give your email address or your mobile number (6… or 7…)."))
    field.data = phone.e164


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

"""The form of a consumption alert: whose consumption (a line, a cost centre, the company), what it measures
(share of the data or voice allowance, or unbilled spend in euros), the threshold, the optional spend cap,
and who is told how."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

from mgd.identifiers import InvalidIdentifier, to_ascii
from mgd.web.forms import Form
from mgd.web.validators import PHONE, REQUIRED, one_line

MAX_CENTS = 100_000_000  # one million euros: more is a typing mistake
_AMOUNT = re.compile(r"[0-9]{1,7}([.,][0-9]{1,2})?")
_PERCENT = re.compile(r"[0-9]{1,4}")


def _ascii(value: str | None) -> str:
    """Digits of any script as ASCII; text with anything else is left as it is (the check refuses it)."""
    try:
        return to_ascii((value or "").strip())
    except InvalidIdentifier:
        return value or ""


def _line(form, field) -> None:
    if form.scope.data != "line":
        return
    if not (field.data or "").strip():
        raise ValidationError(_l("Give the number of the line."))
    PHONE(form, field)


def _cost_centre(form, field) -> None:
    if form.scope.data == "cost_centre" and not (field.data or "").strip():
        raise ValidationError(_l("Give the cost centre."))


def _percent(form, field) -> None:
    field.value = None
    if form.metric.data not in ("data_percent", "voice_percent"):
        return
    text = _ascii(field.data).removesuffix("%").strip()
    if not _PERCENT.fullmatch(text) or not 1 <= int(text) <= 1000:
        raise ValidationError(_l("Give a whole percentage from 1 to 1000."))
    field.value = int(text)


def _amount(form, field) -> None:
    field.cents = None
    if form.metric.data != "spend":
        return
    text = _ascii(field.data).removesuffix("€").strip().replace(" ", "")
    if not _AMOUNT.fullmatch(text):
        raise ValidationError(_l("Give an amount in euros, such as 50 or 49,90."))
    try:
        cents = int(Decimal(text.replace(",", ".")) * 100)
    except InvalidOperation:  # pragma: no cover (the pattern admits only numbers)
        raise ValidationError(_l("Give an amount in euros, such as 50 or 49,90.")) from None
    if not 1 <= cents <= MAX_CENTS:
        raise ValidationError(_l("Give an amount from 0,01 to 1.000.000 euros."))
    field.cents = cents


def _cap(form, field) -> None:
    if field.data and (form.metric.data != "spend" or form.scope.data != "line"):
        raise ValidationError(_l("A spend cap bars one line: choose a line and spend in euros."))


def _channels(form, field) -> None:
    if not form.by_email.data and not field.data:
        raise ValidationError(_l("Choose email, SMS or both."))


def _recipients(form, field) -> None:
    if not field.data:
        raise ValidationError(_l("Choose at least one person to notify."))


class AlertForm(Form):
    scope = RadioField(
        _l("Whose consumption"),
        choices=[
            SelectChoice("line", _l("One line")),
            SelectChoice("cost_centre", _l("The lines of a cost centre")),
            SelectChoice("company", _l("The whole company")),
        ],
        validators=[REQUIRED],
    )
    line = StringField(_l("Line number"), [_line], render_kw={"inputmode": "tel", "autocomplete": "off"})
    cost_centre = StringField(_l("Cost centre"), [Length(max=40), one_line, _cost_centre])
    metric = RadioField(
        _l("What to watch"),
        choices=[
            SelectChoice("data_percent", _l("Data used, as a share of the allowance")),
            SelectChoice("voice_percent", _l("Call minutes used, as a share of the allowance")),
            SelectChoice("spend", _l("Spend not yet invoiced in the cycle, in euros")),
        ],
        validators=[REQUIRED],
    )
    percent = StringField(_l("Percentage of the allowance"), [Length(max=10), _percent])
    amount = StringField(_l("Amount in euros"), [Length(max=20), _amount], render_kw={"inputmode": "decimal"})
    cap = BooleanField(
        _l("Spend cap: when reached, ask to bar the line's premium-rate and roaming usage"), [_cap]
    )
    recipients = SelectMultipleField(_l("Who is notified"), choices=[], coerce=int, validators=[_recipients])
    by_email = BooleanField(_l("By email"))
    by_sms = BooleanField(_l("By SMS, to their confirmed mobile"), [_channels])

"""The new-order forms, one per kind, and the back office's forms on an order. Every refusal names its
field; a form carries its idempotency key (hidden), so posting it twice makes one order."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel import Locale
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from mgd.orders.kinds import SUB_STATES
from mgd.orders.services import today
from mgd.web.forms import Form
from mgd.web.validators import PHONE, REQUIRED, one_line


def _line(form, field) -> None:
    if not (field.data or "").strip():
        if form.line_required:
            raise ValidationError(_l("Give the number of the line."))
        field.normalized = None
        return
    PHONE(form, field)


class OrderForm(Form):
    """What every kind asks: the line, the company's own reference."""

    line_required = True

    line = StringField(_l("Line (its number)"), [_line], render_kw={"inputmode": "tel"})
    customer_reference = StringField(
        _l("Your reference for this order (optional)"), [Optional(), Length(max=40), one_line]
    )
    idempotency_key = HiddenField()
    confirmed = HiddenField()

    def payload(self) -> dict:
        return {}


class VoicemailForm(OrderForm):
    pass


class TariffForm(OrderForm):
    tariff = SelectField(_l("New tariff"), [REQUIRED], choices=[], validate_choice=False)

    def payload(self) -> dict:
        return {"tariff_id": int(self.tariff.data)}

    def validate_tariff(self, field) -> None:
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("Choose a tariff of the list: the line's family of tariffs only."))


class PremiumForm(OrderForm):
    action = RadioField(
        _l("What to do"),
        [REQUIRED],
        choices=[
            SelectChoice("block", _l("Block premium-rate numbers")),
            SelectChoice("unblock", _l("Allow premium-rate numbers again")),
        ],
        default="block",
    )
    calls = BooleanField(_l("Calls to premium-rate numbers"), default=True)
    sms = BooleanField(_l("SMS to premium-rate numbers"), default=True)

    def validate_calls(self, field) -> None:
        if not field.data and not self.sms.data:
            raise ValidationError(_l("Choose calls, SMS or both."))

    def payload(self) -> dict:
        return {"action": self.action.data, "calls": bool(self.calls.data), "sms": bool(self.sms.data)}


def _day(text: str | None) -> date | None:
    text = (text or "").strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007 (a calendar day, no time)
        except ValueError:
            continue
    raise ValueError(text)


def countries() -> list[SelectChoice]:
    """Every country by its name in the reader's language, for the roaming destination."""
    names = Locale.parse(str(get_locale())).territories
    codes = sorted(
        (code for code in names if len(code) == 2 and code.isalpha() and code != "ES"), key=names.get
    )
    return [SelectChoice("", _l("Choose a country")), *(SelectChoice(code, names[code]) for code in codes)]


class RoamingForm(OrderForm):
    action = RadioField(
        _l("What to do"),
        [REQUIRED],
        choices=[SelectChoice("on", _l("Turn roaming on")), SelectChoice("off", _l("Turn roaming off"))],
        default="on",
    )
    country = SelectField(_l("Destination country"), choices=[], validate_choice=False)
    start = StringField(_l("From (day/month/year)"), render_kw={"type": "date"})
    end = StringField(_l("Until (day/month/year, optional)"), render_kw={"type": "date"})

    def validate_country(self, field) -> None:
        if self.action.data == "on" and field.data not in {c.value for c in field.choices if c.value}:
            raise ValidationError(_l("Choose the destination country."))

    def validate_start(self, field) -> None:
        field.day = None
        if self.action.data != "on" and not (field.data or "").strip():
            return
        try:
            field.day = _day(field.data)
        except ValueError:
            raise ValidationError(_l("Give the first day as day/month/year.")) from None
        if field.day < today():
            raise ValidationError(_l("The first day cannot be in the past."))

    def validate_end(self, field) -> None:
        field.day = None
        if not (field.data or "").strip():
            return
        try:
            field.day = _day(field.data)
        except ValueError:
            raise ValidationError(_l("Give the last day as day/month/year.")) from None
        start = getattr(self.start, "day", None)
        if start is not None and field.day < start:
            raise ValidationError(_l("The last day cannot be before the first."))

    def payload(self) -> dict:
        def iso(day):
            return day.isoformat() if day else None

        return {
            "action": self.action.data,
            "country": self.country.data if self.action.data == "on" else None,
            "start": iso(self.start.day),
            "end": iso(self.end.day),
        }


class EnquiryForm(OrderForm):
    line_required = False

    subject = StringField(_l("Subject"), [REQUIRED, Length(max=120), one_line])
    text = TextAreaField(_l("Your enquiry"), [REQUIRED, Length(max=4000)], render_kw={"rows": 6})

    def payload(self) -> dict:
        return {"subject": self.subject.data.strip(), "text": self.text.data.strip()}


FORMS = {
    "tariff_change": TariffForm,
    "voicemail_reset": VoicemailForm,
    "premium_block": PremiumForm,
    "roaming": RoamingForm,
    "enquiry": EnquiryForm,
}


class CancelForm(Form):
    confirmed = HiddenField()


# The back office's forms on one order: each carries the state the advisor saw.
class StaffForm(Form):
    expected = HiddenField()


class NoteForm(StaffForm):
    note = TextAreaField(_l("Note"), [REQUIRED, Length(max=4000)], render_kw={"rows": 3})
    visible = BooleanField(_l("The customer can read it (they are emailed)"))


class CompleteForm(StaffForm):
    note = TextAreaField(
        _l("Message to the customer (optional)"), [Optional(), Length(max=4000)], render_kw={"rows": 2}
    )


class RejectForm(StaffForm):
    reason = TextAreaField(
        _l("Reason, sent to the customer"), [REQUIRED, Length(max=4000)], render_kw={"rows": 2}
    )


class SubStateForm(StaffForm):
    sub_state = SelectField(
        _l("Where it stands"), choices=[SelectChoice(code, name) for code, name in SUB_STATES.items()]
    )


# An order of several lines (a bulk change): the list of numbers (typed or pasted, or a CSV file read into
# it), then the kind's own fields. The list is checked row by row on a preview before anything is ordered.
class LinesListFields:
    line_required = False

    lq = StringField(_l("Find lines (number, alias or cost centre)"), [Optional(), Length(max=60), one_line])
    numbers = TextAreaField(
        _l("Numbers of the lines (one a line)"), [Length(max=40_000)], render_kw={"rows": 8}
    )
    file = FileField(_l("Or a CSV file whose first column (or a column “number”) holds the numbers"))


BULK_FORMS = {
    code: type(f"Bulk{FORMS[code].__name__}", (LinesListFields, FORMS[code]), {})
    for code in ("tariff_change", "premium_block", "roaming", "voicemail_reset")
}


class DeclineForm(Form):
    reason = TextAreaField(
        _l("Why it is declined (the requester reads it)"), [REQUIRED, Length(max=4000)], render_kw={"rows": 2}
    )


class ThresholdForm(Form):
    threshold = StringField(
        _l("Monthly cost above which an order needs approval (euros; empty: no approval)"),
        [Length(max=12)],
        render_kw={"inputmode": "decimal"},
    )

    def validate_threshold(self, field) -> None:
        field.amount = None
        text = (field.data or "").strip().replace(" ", "")
        if not text:
            return
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValidationError(_l("Give an amount in euros, such as 150 or 150,50.")) from None
        if not amount.is_finite() or amount < 0 or amount >= Decimal("100000000"):
            raise ValidationError(_l("Give an amount in euros between 0 and 99.999.999,99.")) from None
        field.amount = amount.quantize(Decimal("0.01"))


class NoticesForm(Form):
    sms = BooleanField(_l("Also by SMS to my confirmed mobile"))

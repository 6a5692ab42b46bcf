"""The new-order forms, one per kind, and the back office's forms on an order. Every refusal names its
field; a form carries its idempotency key (hidden), so posting it twice makes one order."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel import Locale
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from mgd.chat import forms as chat_forms
from mgd.identifiers import InvalidIdentifier
from mgd.orders.kinds import CARRIERS, SUB_STATES, SUSPENSION_REASON_NAMES
from mgd.orders.services import today
from mgd.orders.sms import MAX_LENGTH, MAX_RECIPIENTS, parse_recipients
from mgd.tenants.addresses import PROVINCES, normalize_postcode
from mgd.web.forms import Form
from mgd.web.validators import PHONE, REQUIRED, mobile_only, one_line


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

    def check_line(self, line) -> object | None:
        """Why this order cannot be made for ``line`` (a message for the line's field), or None."""
        return None


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


def _postcode(form, field) -> None:
    if not form.address_required():
        return
    try:
        field.data = normalize_postcode(field.data or "")
    except InvalidIdentifier:
        raise ValidationError(
            _l("This is not a Spanish postcode: five digits, from 01000 to 52999.")
        ) from None
    if form.province.data in PROVINCES and field.data[:2] != form.province.data:
        raise ValidationError(
            _l(
                "This postcode belongs to %(province)s, not to the province chosen.",
                province=PROVINCES[field.data[:2]],
            )
        )


def _needed(form, field) -> None:
    """Required when the form ships a SIM (always for a duplicate, when asked with a suspension)."""
    if form.address_required() and not (field.data or "").strip():
        raise ValidationError(_l("This field is required."))


def _mobile_with_sim(line) -> object | None:
    if line.kind != "mobile":
        return _l("This line has no SIM card: only mobile lines do.")
    return None


class ShippingFields:
    """Where a SIM is sent: validated like the portal's addresses (a Spanish postcode of the province
    chosen)."""

    recipient = StringField(_l("Recipient (who receives the SIM)"), [_needed, Length(max=100), one_line])
    address = StringField(_l("Street and number"), [_needed, Length(max=200), one_line])
    postcode = StringField(_l("Postcode"), [_needed, _postcode], render_kw={"inputmode": "numeric"})
    city = StringField(_l("Town or city"), [_needed, Length(max=100), one_line])
    province = SelectField(
        _l("Province"),
        [_needed],
        choices=[
            SelectChoice("", _l("Choose the province")),
            *(SelectChoice(code, name) for code, name in PROVINCES.items()),
        ],
        validate_choice=False,
    )

    def address_required(self) -> bool:
        return True

    def validate_province(self, field) -> None:
        if self.address_required() and field.data not in PROVINCES:
            raise ValidationError(_l("Choose the province."))

    def shipping(self) -> dict:
        return {
            "recipient": self.recipient.data.strip(),
            "address": self.address.data.strip(),
            "postcode": self.postcode.data,
            "city": self.city.data.strip(),
            "province": self.province.data,
        }


class SimForm(ShippingFields, OrderForm):
    def payload(self) -> dict:
        return self.shipping()

    def check_line(self, line) -> object | None:
        return _mobile_with_sim(line)


class SuspensionForm(ShippingFields, OrderForm):
    action = RadioField(
        _l("What to do"),
        [REQUIRED],
        choices=[
            SelectChoice("suspend", _l("Suspend the line (it was lost or stolen)")),
            SelectChoice("restore", _l("Restore the line (it was found, or has a new SIM)")),
        ],
        default="suspend",
    )
    reason = RadioField(
        _l("Why"),
        choices=[SelectChoice(code, name) for code, name in SUSPENSION_REASON_NAMES.items()],
        validate_choice=False,
    )
    replacement = BooleanField(_l("Also send a replacement SIM (a duplicate) to the address below"))

    def address_required(self) -> bool:
        return self.action.data == "suspend" and bool(self.replacement.data)

    def validate_reason(self, field) -> None:
        if self.action.data == "suspend" and field.data not in SUSPENSION_REASON_NAMES:
            raise ValidationError(_l("Say whether the line was lost or stolen."))

    def validate_replacement(self, field) -> None:
        if field.data and self.action.data != "suspend":
            raise ValidationError(_l("A replacement SIM is ordered with a suspension only."))

    def payload(self) -> dict:
        if self.action.data == "suspend":
            return {
                "action": "suspend",
                "reason": self.reason.data,
                "replacement": bool(self.replacement.data),
            }
        return {"action": "restore"}

    def check_line(self, line) -> object | None:
        if self.action.data == "suspend" and line.status != "active":
            return _l("This line is not in service: it cannot be suspended.")
        if self.action.data == "restore" and line.status != "suspended":
            return _l("This line is not suspended: there is nothing to restore.")
        return _mobile_with_sim(line) if self.replacement.data else None


class BundleForm(OrderForm):
    action = RadioField(
        _l("What to do"),
        [REQUIRED],
        choices=[SelectChoice("add", _l("Add a bundle")), SelectChoice("remove", _l("Remove a bundle"))],
        default="add",
    )
    bundle = SelectField(_l("Bundle"), [REQUIRED], choices=[], validate_choice=False)

    def validate_bundle(self, field) -> None:
        if field.data not in {choice.value for choice in field.choices}:
            if self.action.data == "add":
                raise ValidationError(_l("Choose a bundle of the list: one the line does not have."))
            raise ValidationError(_l("Choose a bundle of the list: one the line has."))

    def payload(self) -> dict:
        return {"action": self.action.data, "bundle_id": int(self.bundle.data)}

    def check_line(self, line) -> object | None:
        return _mobile_with_sim(line)


class PukForm(Form):
    line = StringField(_l("Line (its number)"), [REQUIRED, PHONE], render_kw={"inputmode": "tel"})


class AttachmentForm(Form):
    file = FileField(_l("File (PDF, PNG or JPEG, up to 5 MB)"), [FileRequired(_l("Choose a file."))])


_ICCID = re.compile(r"89[0-9]{17,18}")


def _iccid(form, field) -> None:
    digits = "".join((field.data or "").split())
    if not _ICCID.fullmatch(digits) or not luhn_ok(digits):
        raise ValidationError(
            _l("This is not an ICCID: 19 or 20 digits starting with 89, the last a check digit.")
        )
    field.data = digits


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


FORMS = {
    "sim_duplicate": SimForm,
    "suspension": SuspensionForm,
    "bundle": BundleForm,
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


class ShipForm(StaffForm):
    carrier = SelectField(
        _l("Carrier"),
        [REQUIRED],
        choices=[SelectChoice(code, name) for code, (name, _url) in CARRIERS.items()],
    )
    tracking = StringField(_l("Tracking number"), [REQUIRED, Length(max=40), one_line])

    def validate_tracking(self, field) -> None:
        field.data = field.data.strip()
        if not re.fullmatch(r"[A-Za-z0-9-]{4,40}", field.data):
            raise ValidationError(_l("A tracking number has 4 to 40 letters, digits or hyphens."))


class ActivateForm(StaffForm):
    iccid = StringField(_l("ICCID of the new SIM"), [REQUIRED, _iccid], render_kw={"inputmode": "numeric"})
    note = TextAreaField(
        _l("Message to the customer (optional)"), [Optional(), Length(max=4000)], render_kw={"rows": 2}
    )


class SubStateForm(StaffForm):
    sub_state = SelectField(
        _l("Where it stands"), choices=[SelectChoice(code, name) for code, name in SUB_STATES.items()]
    )


def _recipients(form, field) -> None:
    found = parse_recipients(field.data or "")
    field.parsed = found
    errors = [
        _l(
            "Number %(position)s (%(value)s): %(reason)s.",
            position=r.position,
            value=r.value,
            reason=r.reason,
        )
        for r in found.refused[:20]
    ]
    if len(found.refused) > 20:
        errors.append(_l("And %(count)s more numbers refused.", count=len(found.refused) - 20))
    if not errors and not found.numbers:
        errors.append(_l("Give at least one mobile number."))
    if len(found.numbers) > MAX_RECIPIENTS:
        errors.append(
            _l(
                "At most %(most)s numbers at a time: you gave %(count)s different ones.",
                most=MAX_RECIPIENTS,
                count=len(found.numbers),
            )
        )
    if errors:
        field.errors[:] = errors[:-1]
        raise ValidationError(errors[-1])


class SmsForm(Form):
    """An SMS from one of the company's mobile lines to up to 100 numbers."""

    line = StringField(
        _l("Send from the line (its number)"),
        [REQUIRED, PHONE, mobile_only],
        render_kw={"inputmode": "tel", "list": "sender-lines"},
    )
    recipients = TextAreaField(
        _l("To (up to 100 mobile numbers, one a line or separated by commas)"), [_recipients]
    )
    text = TextAreaField(
        _l("Message (up to 480 characters: three SMS)"),
        [
            REQUIRED,
            Length(max=MAX_LENGTH, message=_l("The message is too long: %(max)d characters at most.")),
        ],
    )
    confirmed = HiddenField()


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


class SurveyForm(chat_forms.SurveyForm):
    """The survey after a completed order: the chat's, asked about the order."""

    score = RadioField(
        _l("How well was your order handled? (1 poor, 5 excellent)"), [REQUIRED], choices=chat_forms.SCORES
    )


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

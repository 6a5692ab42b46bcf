"""Forms of the billing pages: the invoice delivery (paper or email, to which addresses), the direct-debit
IBAN, the billing address (a Spanish postcode of the province chosen) and resending an invoice."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

from mgd.identifiers import InvalidIdentifier, normalize_email
from mgd.tenants.addresses import PROVINCES, normalize_postcode
from mgd.web.forms import Form
from mgd.web.validators import IBAN, REQUIRED, one_line

MAX_EINVOICE_EMAILS = 5


def _addresses(form, field) -> None:
    """One to five addresses, one per line or separated by commas or spaces, each a valid email."""
    if form.delivery.data != "email":
        field.addresses = []
        return
    raw = [part for part in (field.data or "").replace(",", " ").replace(";", " ").split() if part]
    if not raw:
        raise ValidationError(_l("Give at least one email address for the electronic invoice."))
    if len(raw) > MAX_EINVOICE_EMAILS:
        raise ValidationError(_l("Give at most %(max)s addresses.", max=MAX_EINVOICE_EMAILS))
    addresses = []
    for part in raw:
        try:
            addresses.append(normalize_email(part))
        except InvalidIdentifier:
            raise ValidationError(_l("“%(address)s” is not a valid email address.", address=part)) from None
    field.addresses = list(dict.fromkeys(addresses))


class DeliveryForm(Form):
    delivery = RadioField(
        _l("How do you want to receive the invoices?"),
        choices=[
            SelectChoice("email", _l("Electronic invoice by email")),
            SelectChoice("paper", _l("On paper, by post")),
        ],
        validators=[REQUIRED],
    )
    emails = TextAreaField(_l("Email addresses for the electronic invoice (up to 5)"), [_addresses])


class IbanForm(Form):
    iban = StringField(
        _l("New bank account (IBAN)"), [REQUIRED, Length(max=60), IBAN], render_kw={"autocomplete": "off"}
    )


def _postcode(form, field) -> None:
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


class AddressForm(Form):
    address = StringField(_l("Street and number"), [REQUIRED, Length(max=200), one_line])
    postcode = StringField(_l("Postcode"), [REQUIRED, _postcode], render_kw={"inputmode": "numeric"})
    city = StringField(_l("Town or city"), [REQUIRED, Length(max=100), one_line])
    province = SelectField(
        _l("Province"),
        choices=[
            SelectChoice("", _l("Choose the province")),
            *(SelectChoice(code, name) for code, name in PROVINCES.items()),
        ],
        validators=[REQUIRED],
    )


class ResendForm(Form):
    to = SelectField(_l("Send it to"), choices=[], validators=[REQUIRED])

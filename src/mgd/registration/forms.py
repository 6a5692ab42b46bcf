"""Forms of the registration steps: they check the shape of what is typed, never who typed it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    StringField,
    TelField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from mgd.identifiers import InvalidIdentifier, normalize_email
from mgd.tenants.context import ROLE_NAMES, role_from_name
from mgd.tenants.models import ROLES
from mgd.web.forms import EMAIL, JOB_TITLE, NAME, TEL, Form
from mgd.web.uploads import csv_rows
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


#: The most users a Grandes Clientes request may list (its advisor sets up more by other means).
MAX_LISTED_USERS = 200


def read_users(text: str) -> list[dict[str, str]]:
    """The users a request lists, one a line: ``name, email, role`` (the role as the pages name it, in either
    language, or its code; a viewer when left out). ValueError names the first line that cannot be used."""
    users: list[dict[str, str]] = []
    seen: set[str] = set()
    for line, values in csv_rows(text):
        cells = [value.strip() for value in values]
        if not any(cells):
            continue
        if len(users) >= MAX_LISTED_USERS:
            raise ValueError(_l("At most %(max)s users in the list.", max=MAX_LISTED_USERS))
        name, email, role = ([*cells, "", ""])[:3]
        if not name or len(name) > 200 or not name.isprintable():
            raise ValueError(_l("Line %(line)s: give a name of up to 200 characters.", line=line))
        try:
            email = normalize_email(email)
        except InvalidIdentifier:
            raise ValueError(_l("Line %(line)s: the email is not valid.", line=line)) from None
        code = role_from_name(role) if role else "viewer"
        if code not in ROLES:
            names = ", ".join(str(ROLE_NAMES[known]) for known in ROLES)
            raise ValueError(_l("Line %(line)s: the role must be one of: %(roles)s.", line=line, roles=names))
        if email in seen:
            raise ValueError(_l("Line %(line)s: this email is already in the list.", line=line))
        seen.add(email)
        users.append({"name": name, "email": email, "role": code})
    return users


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
    users_list = TextAreaField(
        _l("The users you need (optional): one a line, with name, email and role, separated by commas"),
        [Optional(), Length(max=40_000)],
        render_kw={"rows": 5},
    )
    comments = TextAreaField(_l("Comments (optional)"), [Optional(), Length(max=2000)])
    confirm = BooleanField(_l("I am authorised to request access on behalf of this company"), [REQUIRED])

    def validate_users_list(self, field) -> None:
        try:
            field.parsed = read_users(field.data or "")
        except ValueError as problem:
            field.parsed = []
            raise ValidationError(str(problem)) from None

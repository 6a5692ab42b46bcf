"""Forms of the company administration pages; they check fields, the services check the rules."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from mgd.identifiers import InvalidIdentifier, normalize_phone
from mgd.web.forms import Form
from mgd.web.validators import REQUIRED, email_address, one_line

ROLE_LABELS = {
    "admin": _l("Administrator: everything, users included"),
    "manager": _l("Manager: lines and service requests"),
    "billing": _l("Billing: invoices and payments"),
    "viewer": _l("Viewer: read only"),
}


class InviteForm(Form):
    # Someone else's address and name: the browser must not offer the admin's own.
    email = EmailField(
        _l("Email"), [REQUIRED, Length(max=254), email_address], render_kw={"autocomplete": "off"}
    )
    name = StringField(
        _l("Name and surname"), [REQUIRED, Length(max=200), one_line], render_kw={"autocomplete": "off"}
    )
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(value, label) for value, label in ROLE_LABELS.items()],
        default="viewer",
    )


class InviteCsvForm(Form):
    file = FileField(_l("CSV file (email, name, role)"), [FileRequired(_l("Choose a file."))])


class RoleForm(Form):
    role = SelectField(
        _l("Role"), choices=[SelectChoice(value, label) for value, label in ROLE_LABELS.items()]
    )


class LimitForm(Form):
    # The picker's checkboxes (chosen lines and search results), and a box to paste many numbers at once.
    picked = SelectMultipleField(_l("Lines this person may see"), choices=[], validate_choice=False)
    numbers = TextAreaField(
        _l("More lines, pasted (one number per line)"), [Length(max=20000)], render_kw={"rows": 3}
    )
    cost_centres = StringField(
        _l("Cost centres this person may see (separated by commas)"), [Optional(), Length(max=500)]
    )

    def validate_numbers(self, field) -> None:
        self.parsed_numbers = []
        bad = []
        typed = filter(None, (v.strip() for v in re.split(r"[\n,;]", field.data or "")))
        for value in [*(self.picked.data or [])[:5000], *typed]:
            try:
                self.parsed_numbers.append(normalize_phone(value).e164)
            except InvalidIdentifier:
                bad.append(value)
        if bad:
            field.errors.append(_l("These are not phone numbers: %(numbers)s", numbers=", ".join(bad[:10])))
        self.parsed_numbers = list(dict.fromkeys(self.parsed_numbers))

    @property
    def parsed_cost_centres(self) -> list[str]:
        return [c.strip()[:40] for c in (self.cost_centres.data or "").split(",") if c.strip()]


DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class DomainsForm(Form):
    domains = StringField(
        _l("Email domains allowed for invitations (separated by spaces; empty: any domain)"),
        [Optional(), Length(max=500)],
    )

    @property
    def parsed(self) -> list[str]:
        """The domains typed, without repeats; none when the field was emptied (no restriction)."""
        return list(dict.fromkeys(d.strip().lower().lstrip("@") for d in (self.domains.data or "").split()))

    def validate_domains(self, field) -> None:
        bad = [d for d in self.parsed if not DOMAIN.match(d)]
        if bad:
            field.errors.append(_l("These are not email domains: %(domains)s", domains=", ".join(bad[:10])))

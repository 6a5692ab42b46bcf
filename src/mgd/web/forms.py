"""The base of every form of the portal, and the one-time-code form. Text no field accepts (NUL and other
control characters, lone surrogates) is refused with a message that names the field, before its own validators
run."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, StringField, TextAreaField
from wtforms.validators import StopValidation

from mgd.web.summary import note_invalid_form
from mgd.web.validators import REQUIRED, six_digits

# C0 controls and DEL; PostgreSQL cannot store NUL, and the others only hide text or break headers and files.
# Lone surrogates cannot be encoded at all. Multi-line text keeps its tabs and line breaks.
_UNUSABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_UNUSABLE_IN_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def unusable_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character of ``text`` that no text field accepts (tab and line breaks only in
    ``multiline`` text), or None."""
    found = (_UNUSABLE_IN_LINES if multiline else _UNUSABLE).search(text)
    return found.group() if found else None


def _problem(field: Field) -> str | None:
    """Why the submitted text of ``field`` is refused whole, or None."""
    multiline = isinstance(field, TextAreaField)
    for value in field.raw_data or ():
        if isinstance(value, str) and (char := unusable_character(value, multiline=multiline)):
            if char in "\t\r\n":
                return _l("%(field)s must be on one line.", field=field.label.text)
            return _l(
                "%(field)s has characters that cannot be used (invisible control characters): type it again.",
                field=field.label.text,
            )
    return None


class _Refuse:
    """A validator chain of one: the refusal, which stops the field's own validators."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        raise StopValidation(self.message)


class Form(FlaskForm):
    """Every form of the portal derives from this one (tests/test_forms.py checks it)."""

    def validate(self, extra_validators=None) -> bool:
        for field in self:
            if field.type != "CSRFTokenField" and (problem := _problem(field)) is not None:
                field.validators = (_Refuse(problem),)  # this instance's field only
        valid = super().validate(extra_validators)
        if not valid:
            note_invalid_form()
        return valid


class CodeForm(Form):
    code = StringField(
        _l("Security code"),
        [REQUIRED, six_digits],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"},
    )


#: ``autocomplete`` of the fields that ask for the person's own data (WCAG 1.3.5): the browser can fill them.
NAME = {"autocomplete": "name"}
EMAIL = {"autocomplete": "email"}
TEL = {"autocomplete": "tel"}
JOB_TITLE = {"autocomplete": "organization-title"}


class ButtonForm(Form):
    """A form that is only a button (send a new code, go back a step): its CSRF token and nothing else."""

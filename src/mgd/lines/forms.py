"""Forms of the lines pages: the labels and user of one line, and the CSV of many."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from mgd.web.forms import Form


class LineForm(Form):
    alias = StringField(_l("Alias"), [Optional(), Length(max=60)])
    cost_centre = StringField(_l("Cost centre"), [Optional(), Length(max=40)])
    user_id = SelectField(_l("Assigned to"), coerce=str, choices=[])


class LinesCsvForm(Form):
    file = FileField(
        _l("CSV file (number, alias, cost centre, user email)"), [FileRequired(_l("Choose a file."))]
    )

"""The article form of the back office: each field's problem is said next to it, naming it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from mgd.helpcentre.models import CATEGORIES
from mgd.helpcentre.services import ArticleText
from mgd.web.forms import Form
from mgd.web.validators import one_line

CATEGORY_NAMES = {
    "registration": _l("Registration"),
    "sign_in": _l("Signing in"),
    "invoices": _l("Invoices"),
    "lines": _l("Lines"),
}
MAX_BODY = 20_000
OFF = {"autocomplete": "off"}


def _title(label, missing):
    return StringField(
        label,
        [DataRequired(missing), Length(max=200, message=_l("At most 200 characters.")), one_line],
        render_kw=OFF,
    )


def _body(label, missing):
    return TextAreaField(
        label,
        [DataRequired(missing), Length(max=MAX_BODY, message=_l("At most 20,000 characters."))],
        render_kw={"rows": 14},
    )


class ArticleForm(Form):
    slug = StringField(
        _l("Address of the article"),
        [
            DataRequired(_l("Give the address of the article.")),
            Length(min=3, max=80, message=_l("The address has 3 to 80 characters.")),
            Regexp(
                r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
                message=_l(
                    "The address takes lower-case letters without accents, digits and single hyphens."
                ),
            ),
        ],
        render_kw=OFF,
    )
    category = SelectField(
        _l("Category"),
        [DataRequired(_l("Choose the category."))],
        choices=[SelectChoice(value, CATEGORY_NAMES[value]) for value in CATEGORIES],
    )
    title_es = _title(_l("Title in Spanish"), _l("Give the title in Spanish."))
    body_es = _body(_l("Text in Spanish"), _l("Write the text in Spanish."))
    title_en = _title(_l("Title in English"), _l("Give the title in English."))
    body_en = _body(_l("Text in English"), _l("Write the text in English."))

    def article_text(self) -> ArticleText:
        return ArticleText(
            slug=self.slug.data.strip(),
            category=self.category.data,
            title_es=self.title_es.data.strip(),
            title_en=self.title_en.data.strip(),
            body_es=self.body_es.data.strip(),
            body_en=self.body_en.data.strip(),
        )

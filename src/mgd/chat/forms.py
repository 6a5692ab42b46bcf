"""The chat's forms: opening a conversation and writing in it (customer), the advisor's reply (with canned
answers), transfer and closing with a reason, and the survey. Every refusal names its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from mgd.chat.services import MAX_BODY
from mgd.web.forms import Form
from mgd.web.validators import REQUIRED

#: The advisors' canned answers: picked in the reply form, sent as they are (or written over).
CANNED = {
    "hello": _l("Hello, I am your advisor. How can I help you?"),
    "checking": _l("Thank you. I am checking it now, please wait a moment."),
    "order": _l("I have found your order. It is being handled and you will be emailed at each step."),
    "invoice": _l("You can download every invoice under Invoices, in PDF or as a spreadsheet."),
    "anything_else": _l("Is there anything else I can help you with?"),
    "goodbye": _l("Thank you for contacting us. Have a good day."),
}
CLOSE_REASON_NAMES = {
    "solved": _l("Solved"),
    "no_answer": _l("The customer stopped answering"),
    "redirected": _l("Sent to another channel (phone, order)"),
    "duplicate": _l("Duplicate of another conversation"),
    "other": _l("Other (say why)"),
}


class StartForm(Form):
    body = TextAreaField(_l("Your question"), [REQUIRED, Length(max=MAX_BODY)], render_kw={"rows": 4})
    page = HiddenField()
    order = HiddenField()


class MessageForm(Form):
    body = TextAreaField(_l("Your message"), [REQUIRED, Length(max=MAX_BODY)], render_kw={"rows": 3})


class ReplyForm(Form):
    canned = SelectField(
        _l("Canned answer (optional)"),
        [Optional()],
        choices=[SelectChoice("", _l("None"))] + [SelectChoice(key, text) for key, text in CANNED.items()],
    )
    body = TextAreaField(_l("Answer"), [Length(max=MAX_BODY)], render_kw={"rows": 3})

    def validate_body(self, field) -> None:
        if not (field.data or "").strip() and not self.canned.data:
            raise ValidationError(_l("Write an answer or choose a canned one."))

    def text(self) -> str:
        return (self.body.data or "").strip() or str(CANNED[self.canned.data])


class TransferForm(Form):
    to = SelectField(_l("Hand it to"), choices=[], validate_choice=False)

    def validate_to(self, field) -> None:
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("Choose an advisor of the list, or the queue."))


class CloseForm(Form):
    reason = RadioField(
        _l("Why is it closed?"),
        [REQUIRED],
        choices=[SelectChoice(code, name) for code, name in CLOSE_REASON_NAMES.items()],
    )
    note = TextAreaField(
        _l("Note (required for Other)"), [Optional(), Length(max=500)], render_kw={"rows": 2}
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and self.reason.data == "other" and not (self.note.data or "").strip():
            self.note.errors = [*self.note.errors, _l("Say why the conversation is closed.")]
            return False
        return valid


class CustomerCloseForm(Form):
    confirmed = HiddenField()


#: The survey's answers, 1 (poor) to 5 (excellent).
SCORES = [SelectChoice(str(n), str(n)) for n in range(1, 6)]


class SurveyForm(Form):
    score = RadioField(_l("How well were you helped? (1 poor, 5 excellent)"), [REQUIRED], choices=SCORES)
    comment = TextAreaField(_l("Comment (optional)"), [Optional(), Length(max=1000)], render_kw={"rows": 3})


class FileForm(Form):
    file = FileField(_l("File (PDF, PNG or JPEG, up to 5 MB)"), [FileRequired(_l("Choose a file."))])

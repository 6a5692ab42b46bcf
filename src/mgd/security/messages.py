"""What a refused sign-in or a refused password tells the person, shared by every page that signs in or sets
a password."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from mgd.security.code_entry import REFUSAL_REASONS, SIGN_IN_AGAIN, code_message
from mgd.security.passwords import Policy


def refusal_message(reason: str) -> str:
    if reason in REFUSAL_REASONS:
        return code_message(REFUSAL_REASONS[reason], SIGN_IN_AGAIN)
    messages = {
        "bad_credentials": _(
            "The email or mobile number or the password is not correct, or the account is locked for a while "
            "(we email you when that happens)."
        ),
        "expired_password": _(
            "Your temporary password has expired. Please call your advisor on %(phone)s.",
            phone=current_app.config["HELP_PHONE"],
        ),
    }
    return messages.get(reason, messages["bad_credentials"])


def policy_messages(problems: list[str], policy: Policy) -> list[str]:
    messages = {
        "length": _(
            "It must have between %(min)s and %(max)s characters.",
            min=policy.min_length,
            max=policy.max_length,
        ),
        "lower": _("It must have a lower-case letter."),
        "upper": _("It must have an upper-case letter."),
        "digit": _("It must have a digit."),
        "symbol": _("It must have a symbol (such as . - _ ! ?)."),
        "personal": _("It must not contain your name or your email."),
        "common": _("It is one of the most used passwords: choose another."),
        "same": _("It must be different from your current password."),
    }
    return [messages[problem] for problem in problems]

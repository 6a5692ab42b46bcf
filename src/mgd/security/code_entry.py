"""What a person typing a one-time code is told, in the same words on every page that asks for one: signing
in, a forgotten password, a new email or mobile, registration. Only how to get a new code differs."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mgd.security.codes import CodeCheck
from mgd.web.forms import CodeForm

# How to get a new code once this one is dead: the end of the "no longer valid" message.
SIGN_IN_AGAIN = _l("Sign in again to receive a new one.")
ASK_AGAIN = _l("Ask for a new one.")
GIVE_MOBILE_AGAIN = _l("Give your mobile again to receive a new one.")

# The reasons that services raising a refusal (``SignInRefused``, registration's ``Refused``) give for a code.
REFUSAL_REASONS = {"wrong_code": CodeCheck.WRONG, "code_dead": CodeCheck.DEAD}


def code_message(outcome: CodeCheck, next_step: str) -> str:
    """Why a code was refused: wrong (tries are left), or dead (expired, used or out of tries: ``next_step``
    says how to get a new one). Raises ``ValueError`` for an accepted code."""
    if outcome is CodeCheck.WRONG:
        return _("The code is not correct. Check it and try again.")
    if outcome is CodeCheck.DEAD:
        return _("This code is no longer valid. %(next_step)s", next_step=next_step)
    raise ValueError(f"a {outcome} code is not refused")


def refuse_code(form: CodeForm, outcome: CodeCheck, next_step: str) -> None:
    """Show why the code was refused next to the code field."""
    form.code.errors.append(code_message(outcome, next_step))

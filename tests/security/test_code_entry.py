"""The words of a refused code: one message for each outcome, ending with how to get a new code."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from mgd.security.code_entry import ASK_AGAIN, GIVE_MOBILE_AGAIN, code_message
from mgd.security.codes import CodeCheck


def test_a_dead_code_ends_with_the_next_step_in_the_reader_s_language(app):
    with app.test_request_context():
        with force_locale("en"):
            assert code_message(CodeCheck.DEAD, GIVE_MOBILE_AGAIN) == (
                "This code is no longer valid. Give your mobile again to receive a new one."
            )
        with force_locale("es"):
            assert code_message(CodeCheck.DEAD, GIVE_MOBILE_AGAIN) == (
                "Este código ya no es válido. Indica de nuevo tu móvil para recibir otro."
            )
            assert code_message(CodeCheck.WRONG, GIVE_MOBILE_AGAIN) == (
                "El código no es correcto. Revísalo e inténtalo de nuevo."
            )


def test_an_accepted_code_has_no_refusal(app):
    with app.test_request_context(), pytest.raises(ValueError):
        code_message(CodeCheck.ACCEPTED, ASK_AGAIN)

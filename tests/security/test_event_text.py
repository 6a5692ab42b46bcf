"""Every event the portal records reads as a sentence in both languages; the activity log shows sentences and
filters by kinds of event named in words."""

from __future__ import annotations

import ast
from pathlib import Path

from flask_babel import force_locale

from mgd.security.codes import CodeCheck
from mgd.security.event_text import KINDS, SENTENCES, sentence

SOURCE = Path(__file__).resolve().parents[2] / "src" / "mgd"
RECORDERS = {"record_event": 1, "_audit": 1}  # function name -> position of the action argument


def recorded_actions() -> set[str]:
    """Every action passed to ``record_event`` (or the admin's ``_audit``) anywhere in the source."""
    actions: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name not in RECORDERS or len(node.args) <= RECORDERS[name]:
                continue
            action = node.args[RECORDERS[name]]
            if isinstance(action, ast.Constant):
                actions.add(action.value)
            elif isinstance(action, ast.JoinedStr) and ast.unparse(action).endswith("_{result}'"):
                prefix = action.values[0].value  # f"<prefix>{result}": a code check's result
                actions.update(f"{prefix}{result}" for result in CodeCheck)
            elif isinstance(action, ast.Name) and path.name == "users.py":
                continue  # _audit's own call, passing its parameter on
            else:
                raise AssertionError(
                    f"{path}:{node.lineno}: an action the test cannot read: {ast.unparse(action)}"
                )
    return actions


def test_every_recorded_action_has_a_sentence():
    actions = recorded_actions()
    assert len(actions) > 40
    missing = sorted(actions - SENTENCES.keys())
    assert missing == [], f"add a sentence to mgd/security/event_text.py for {missing}"


def test_no_sentence_is_left_for_an_action_never_recorded():
    assert sorted(SENTENCES.keys() - recorded_actions()) == []


def test_every_kind_of_event_matches_some_action():
    assert all(any(action.startswith(prefix) for action in SENTENCES) for prefix in KINDS)


def test_sentences_put_the_details_in_words_in_both_languages(app):
    with app.test_request_context():
        with force_locale("en"):
            assert (
                sentence("login.failed", {"reason": "wrong_password"}) == "Could not sign in: wrong password"
            )
            changed = sentence(
                "member.role_changed", {"member": "eva@acme.es", "previous": "viewer", "role": "admin"}
            )
            assert changed == "Changed the role of eva@acme.es from Viewer to Administrator"
            assert sentence("login.succeeded", {}) == "Signed in (—)"
            assert sentence("some.future_action", {}) == "some.future_action"
        with force_locale("es"):
            assert (
                sentence("login.failed", {"reason": "wrong_password"})
                == "No pudo iniciar sesión: contraseña incorrecta"
            )
            assert "Consulta" in sentence(
                "member.role_changed", {"member": "eva@acme.es", "previous": "viewer", "role": "admin"}
            )

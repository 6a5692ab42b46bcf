"""Mi perfil: password, email and mobile changes by code, the authenticator app, recent sign-ins."""

import json
import re
from datetime import timedelta

import pyotp
from sqlalchemy import text as text_sql

from mgd.db import get_session, utcnow
from mgd.security.passwords import verify_password
from mgd.security.services import create_staff
from tests.accounts import load_user, update_user
from tests.factories import PASSWORD
from tests.kit import audit, browser, csrf_token, last_code, outbox, post, sign_in, text
from tests.live import CSRF

NEW = "Mostrador2026"


def page(response) -> str:
    """A page's text without its CSRF token (signed with the time, so different each second)."""
    return CSRF.sub("", text(response))


def profile_post(client, url, data):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, "/perfil")})


def test_the_profile_shows_recent_sign_ins(app, client, member):
    sign_in(app, client)
    page = text(client.get("/perfil"))
    assert "ana@example.es" in page and "127.0.0.1" in page and "SMS" in page


def test_changing_the_password_needs_the_current_one(app, client, member):
    sign_in(app, client)
    response = profile_post(
        client, "/perfil/password", {"pw-current": "Wrong1234", "pw-password": NEW, "pw-confirm": NEW}
    )
    assert response.status_code == 422 and "not your current password" in text(response)
    response = profile_post(
        client, "/perfil/password", {"pw-current": PASSWORD, "pw-password": NEW, "pw-confirm": NEW}
    )
    assert response.headers["Location"] == "/perfil?changed=password"
    assert verify_password(load_user(app, member).password_hash, NEW)
    assert client.get("/perfil").status_code == 200  # this session goes on


def test_a_new_email_counts_once_confirmed_by_a_code(app, client, member):
    sign_in(app, client)
    assert (
        profile_post(client, "/perfil/email", {"em-email": "Ana.Nueva@example.es"}).headers["Location"]
        == "/perfil/email/codigo"
    )
    assert load_user(app, member).email == "ana@example.es"
    page = text(client.get("/perfil/email/codigo"))
    assert "to your new email an•••@example.es" in page and "Give the address again" in page
    assert post(client, "/perfil/email/codigo", {"code": "000000"}).status_code == 422
    assert (
        post(client, "/perfil/email/codigo", {"code": last_code(app, "ana.nueva@example.es")}).status_code
        == 302
    )
    assert load_user(app, member).email == "ana.nueva@example.es"
    assert audit(app, "email.changed")[0].detail == {
        "previous": "ana@example.es",
        "email": "ana.nueva@example.es",
    }


def test_the_email_form_does_not_tell_whether_an_address_has_an_account(app, client, member):
    with app.app_context():
        session = get_session()
        create_staff(session, "otro@example.es", "Otro", "advisor")
        session.commit()
    sign_in(app, client)
    seen = []
    for address in ("otro@example.es", "libre@example.es"):
        response = profile_post(client, "/perfil/email", {"em-email": address})
        wrong = post(client, "/perfil/email/codigo", {"code": "000000"})
        # The page names the address typed (masked), whichever it is: the rest must be the same.
        shown = page(wrong).replace(address[:2] + "•••@", "XX•••@")
        seen.append((response.status_code, response.headers["Location"], wrong.status_code, shown))
    assert seen[0] == seen[1]
    notice = [m for m in outbox(app) if m.recipient == "otro@example.es"][-1]
    assert "already has an account" in notice.body_text
    assert not re.search(r"\b\d{6}\b", notice.body_text)  # no code reaches the owner of the taken address


def test_a_taken_email_is_never_confirmed(app, client, member):
    sign_in(app, client)
    profile_post(client, "/perfil/email", {"em-email": "otro@example.es"})
    code = last_code(app, "otro@example.es")  # the address was free when the code went out
    with app.app_context():
        session = get_session()
        create_staff(session, "otro@example.es", "Otro", "advisor")
        session.commit()
    response = post(client, "/perfil/email/codigo", {"code": code})
    assert response.status_code == 422 and "no longer valid" in text(response)
    assert load_user(app, member).email == "ana@example.es"


def test_a_new_mobile_counts_once_confirmed_by_a_code(app, client, member):
    sign_in(app, client)
    assert (
        profile_post(client, "/perfil/movil", {"mo-mobile": "655 00 00 09"}).headers["Location"]
        == "/mi-area/verificar-movil"
    )
    post(client, "/mi-area/verificar-movil", {"code": last_code(app, "+34655000009")})
    assert load_user(app, member).mobile == "+34655000009"


def test_the_authenticator_app_enrols_signs_in_once_per_code_and_is_removed(app, client, member):
    sign_in(app, client)
    page = text(client.get("/perfil/autenticador"))
    assert "data:image/svg+xml;base64," in page
    secret = load_user(app, member).totp_pending_secret
    assert secret in page and secret == load_user(app, member).totp_pending_secret  # kept while enrolling
    assert post(client, "/perfil/autenticador", {"code": "000000"}).status_code == 422
    assert post(client, "/perfil/autenticador", {"code": pyotp.TOTP(secret).now()}).status_code == 302
    assert load_user(app, member).totp_secret == secret
    assert audit(app, "totp.enrolled")

    other = browser(app)
    post(other, "/login", {"email": "ana@example.es", "password": PASSWORD})
    assert 'value="app"' in text(other.get("/login/channel"))
    post(other, "/login/channel", {"channel": "app"})
    update_user(app, member, totp_last_step=None)  # the enrolment used this step; a later step is due
    code = pyotp.TOTP(secret).now()
    assert post(other, "/login/code", {"code": code}).headers["Location"] == "/mi-area"

    third = browser(app)
    post(third, "/login", {"email": "ana@example.es", "password": PASSWORD})
    post(third, "/login/channel", {"channel": "app"})
    replay = post(third, "/login/code", {"code": code})
    assert replay.status_code == 422 and "not correct" in text(replay)
    assert load_user(app, member).failed_logins == 1

    response = post(client, "/perfil/autenticador", {})
    assert response.status_code == 422
    post(client, "/perfil/autenticador", {"confirm": "y"})
    assert load_user(app, member).totp_secret is None and audit(app, "totp.removed")


def test_the_secret_being_enrolled_is_not_in_the_session_cookie(app, client, member):
    sign_in(app, client)
    client.get("/perfil/autenticador")
    secret = load_user(app, member).totp_pending_secret
    cookie = client.get_cookie("session").value
    decoded = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert secret and secret not in json.dumps(decoded) and secret not in cookie


def test_authenticator_secrets_are_stored_encrypted(app, client, member):
    secret = pyotp.random_base32()
    update_user(app, member, totp_secret=secret, totp_pending_secret=pyotp.random_base32())
    with app.app_context():
        stored = (
            get_session()
            .execute(
                text_sql("SELECT totp_secret, totp_pending_secret FROM users WHERE id = :id"), {"id": member}
            )
            .one()
        )
    assert all(value.startswith("gAAAA") for value in stored) and secret not in stored
    assert load_user(app, member).totp_secret == secret


def test_a_code_from_another_time_window_is_refused(app, client, member):
    secret = pyotp.random_base32()
    update_user(app, member, totp_secret=secret)
    post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    post(client, "/login/channel", {"channel": "app"})
    old = pyotp.TOTP(secret).at(utcnow() - timedelta(minutes=5))
    assert post(client, "/login/code", {"code": old}).status_code == 422


def test_the_profile_needs_a_signed_in_user(client, member):
    assert client.get("/perfil").status_code == 401

"""Server-side sessions: sign-out ends a session everywhere, Mi perfil lists and ends them, and sensitive changes
need a recent password (``fresh_login_required``, ``/reautenticar``)."""

from datetime import timedelta

import pytest

from mgd.db import get_session
from mgd.security.sessions import describe_agent
from tests.accounts import age_session, load_user, update_user, user_sessions
from tests.factories import PASSWORD, make_user
from tests.kit import audit, browser, csrf_token, last_code, outbox, post, sign_in, text

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


def add_user(app, email: str) -> int:
    """Another onboarded person with Ana's password."""
    with app.app_context():
        session = get_session()
        user_id = make_user(session, email, name="Eva Gil", mobile="+34612000002").id
        session.commit()
        return user_id


def copy_cookie(app, source, target) -> None:
    """What a thief does with a stolen cookie: send the same value from another browser."""
    name = app.config["SESSION_COOKIE_NAME"]
    target.set_cookie(name, source.get_cookie(name).value)


def form_post(client, url, data=None):
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client, "/perfil")})


def test_a_copied_cookie_is_refused_after_sign_out(app, client, member):
    sign_in(app, client)
    thief = browser(app)
    copy_cookie(app, client, thief)
    assert thief.get("/mi-area").status_code == 302  # the copy works while the session lasts
    client.post("/logout", data={"csrf_token": csrf_token(client, "/perfil")})
    assert thief.get("/mi-area").status_code == 401
    assert thief.get("/perfil").status_code == 401
    (row,) = user_sessions(app, member)
    assert row.revoked_at is not None


def test_sign_in_records_one_session_with_its_device(app, member):
    client = browser(app, FIREFOX)
    sign_in(app, client)
    (row,) = user_sessions(app, member)
    assert row.ip == "127.0.0.1" and row.user_agent == FIREFOX and row.revoked_at is None
    assert row.reauthenticated_at == row.created_at
    page = text(client.get("/perfil"))
    assert "Active sessions" in page and "Firefox, Windows" in page and "this session" in page


def test_ending_a_session_from_the_list_signs_that_browser_out(app, member):
    laptop, phone = browser(app), browser(app)
    sign_in(app, laptop)
    sign_in(app, phone)
    _first, second = user_sessions(app, member)
    assert f"/perfil/sesiones/{second.id}/cerrar" in text(laptop.get("/perfil"))
    response = form_post(laptop, f"/perfil/sesiones/{second.id}/cerrar")
    assert response.headers["Location"].startswith("/perfil")
    assert phone.get("/mi-area").status_code == 401
    assert laptop.get("/mi-area").status_code == 302
    assert [event.detail["session_id"] for event in audit(app, "session.ended")] == [second.id]
    assert form_post(laptop, f"/perfil/sesiones/{second.id}/cerrar").status_code == 404  # already ended


def test_ending_this_session_from_the_list_signs_out(app, client, member):
    sign_in(app, client)
    (row,) = user_sessions(app, member)
    assert form_post(client, f"/perfil/sesiones/{row.id}/cerrar").headers["Location"] == "/login"
    assert client.get("/mi-area").status_code == 401
    assert user_sessions(app, member)[0].revoked_at is not None


def test_nobody_ends_another_users_session(app, client, member):
    eva = add_user(app, "eva@example.es")
    other = browser(app)
    sign_in(app, other, channel="email", email="eva@example.es")
    (evas,) = user_sessions(app, eva)
    sign_in(app, client)
    assert form_post(client, f"/perfil/sesiones/{evas.id}/cerrar").status_code == 404
    assert other.get("/perfil").status_code == 200
    assert user_sessions(app, eva)[0].revoked_at is None


def test_closing_every_other_session_needs_a_confirmation(app, member):
    laptop, phone, tablet = browser(app), browser(app), browser(app)
    for client in (laptop, phone, tablet):
        sign_in(app, client)
    assert form_post(laptop, "/perfil/sesiones/cerrar-otras").status_code == 422
    assert phone.get("/mi-area").status_code == 302
    form_post(laptop, "/perfil/sesiones/cerrar-otras", {"so-confirm": "y"})
    assert phone.get("/mi-area").status_code == 401 and tablet.get("/mi-area").status_code == 401
    assert laptop.get("/mi-area").status_code == 302
    assert [event.detail["sessions"] for event in audit(app, "session.ended_others")] == [2]


def test_changing_the_password_ends_every_other_session(app, member):
    laptop, phone = browser(app), browser(app)
    sign_in(app, laptop)
    sign_in(app, phone)
    new = "Mostrador2026"
    form_post(laptop, "/perfil/password", {"pw-current": PASSWORD, "pw-password": new, "pw-confirm": new})
    assert phone.get("/mi-area").status_code == 401
    assert laptop.get("/mi-area").status_code == 302


def test_last_seen_is_written_at_most_once_a_minute(app, client, member):
    sign_in(app, client)
    (before,) = user_sessions(app, member)
    client.get("/perfil")
    assert user_sessions(app, member)[0].last_seen_at == before.last_seen_at
    age_session(app, member, last_seen_at=timedelta(minutes=2))
    client.get("/perfil")
    assert user_sessions(app, member)[0].last_seen_at > before.last_seen_at


def test_a_page_that_fails_still_counts_as_a_sign_of_life(app, client, member):
    """The failed page's work is rolled back, but not the session's last_seen_at (``keep_on_failure``)."""
    sign_in(app, client)
    age_session(app, member, last_seen_at=timedelta(minutes=2))
    (before,) = user_sessions(app, member)
    assert client.get("/empresa/no-such-company").status_code == 404
    assert user_sessions(app, member)[0].last_seen_at > before.last_seen_at


@pytest.mark.parametrize(
    ("agent", "described"),
    [
        (FIREFOX, "Firefox, Windows"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Mobile/15E148 Safari/604.1",
            "Safari, iPhone",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36",
            "Chrome, Android",
        ),
        ("curl/8.5.0", None),
        (None, None),
    ],
)
def test_devices_are_named_from_the_user_agent(agent, described):
    assert describe_agent(agent) == described


# Re-authentication


def stale(app, user_id):
    """The sign-in was eleven minutes ago (``MGD_REAUTH_MINUTES`` is 10)."""
    age_session(app, user_id, reauthenticated_at=timedelta(minutes=11))


PROTECTED = [
    ("post", "/perfil/email", {"em-email": "nueva@example.es"}, "/perfil"),
    ("post", "/perfil/movil", {"mo-mobile": "655 00 00 09"}, "/perfil"),
    ("get", "/perfil/autenticador", None, "/perfil/autenticador"),
]


def send(client, case):
    method, url, data, _back = case
    return form_post(client, url, data) if method == "post" else client.get(url)


@pytest.mark.parametrize("case", PROTECTED, ids=[case[1] for case in PROTECTED])
def test_a_sensitive_change_needs_a_recent_password(app, client, member, case):
    sign_in(app, client)
    stale(app, member)
    sent = len(outbox(app))
    response = send(client, case)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/reautenticar?next={case[3]}"
    assert len(outbox(app)) == sent  # no code was sent
    confirmed = post(client, response.headers["Location"], {"password": PASSWORD})
    assert confirmed.headers["Location"] == case[3]
    assert audit(app, "reauth.succeeded")
    assert "/reautenticar" not in send(client, case).headers.get("Location", "")


@pytest.mark.parametrize("case", PROTECTED, ids=[case[1] for case in PROTECTED])
def test_a_recent_sign_in_is_enough(app, client, member, case):
    sign_in(app, client)
    age_session(app, member, reauthenticated_at=timedelta(minutes=9))
    assert "/reautenticar" not in send(client, case).headers.get("Location", "")


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/perfil", "/\\evil.example", "perfil"]
)
def test_the_reauthentication_page_only_goes_back_to_this_site(app, client, member, target):
    sign_in(app, client)
    stale(app, member)
    response = post(client, f"/reautenticar?next={target}", {"password": PASSWORD})
    assert response.headers["Location"] == "/mi-area"


def test_a_wrong_password_on_reauthentication_counts_as_a_failed_sign_in(app, client, member):
    sign_in(app, client)
    stale(app, member)
    response = post(client, "/reautenticar?next=/perfil", {"password": "Wrong1234x"})
    assert response.status_code == 422 and "This is not your password." in text(response)
    assert load_user(app, member).failed_logins == 1
    assert (
        form_post(client, "/perfil/email", {"em-email": "x@example.es"})
        .headers["Location"]
        .startswith("/reautenticar")
    )


def test_reauthentication_that_locks_the_account_signs_out(app, client, member):
    sign_in(app, client)
    update_user(app, member, failed_logins=app.config["LOCKOUT_THRESHOLD"] - 1)
    response = post(client, "/reautenticar?next=/perfil", {"password": "Wrong1234x"})
    assert response.status_code == 422 and "locked" in text(response)
    assert client.get("/mi-area").status_code == 401


def test_the_reauthentication_page_needs_a_signed_in_user(client, member):
    assert client.get("/reautenticar").status_code == 401


# Notifications


def test_a_changed_email_is_told_to_the_old_address(app, client, member):
    sign_in(app, client)
    form_post(client, "/perfil/email", {"em-email": "ana.nueva@example.es"})
    post(client, "/perfil/email/codigo", {"code": last_code(app, "ana.nueva@example.es")})
    assert load_user(app, member).email == "ana.nueva@example.es"
    (notice,) = [m for m in outbox(app) if m.recipient == "ana@example.es" and "changed" in m.subject]
    assert "an•••@example.es" in notice.body_text and "ana.nueva@" not in notice.body_text
    assert "an•••@example.es" in notice.body_html


def test_a_changed_mobile_is_told_by_email(app, client, member):
    sign_in(app, client)
    form_post(client, "/perfil/movil", {"mo-mobile": "655 00 00 09"})
    post(client, "/mi-area/verificar-movil", {"code": last_code(app, "+34655000009")})
    assert load_user(app, member).mobile == "+34655000009"
    (notice,) = [m for m in outbox(app) if m.recipient == "ana@example.es" and "mobile" in m.subject]
    assert "009" in notice.body_text and "655" not in notice.body_text

"""The SME registration flow through real form posts, CSRF on, for every product mix and every refusal."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from mgd.db import get_session, operator_scope
from mgd.registration.models import RegistrationFlow
from mgd.security.models import CodeChallenge, User
from mgd.security.passwords import verify_password
from mgd.tenants.models import Membership
from tests.factories import IBAN_F, IBAN_M
from tests.kit import audit, browser, csrf_token, last_code, outbox, post, text
from tests.pages import error_summary, field_errors


def start(client, fiscal_id, email):
    return post(client, "/register", {"fiscal_id": fiscal_id, "email": email})


def user_named(app, email):
    with app.app_context():
        session = get_session()
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            return None, []
        with operator_scope(session, "test"):
            roles = [
                (m.tenant_id, m.role)
                for m in session.scalars(select(Membership).where(Membership.user_id == user.id))
            ]
        return user, roles


def test_mobile_only_company_registers_with_an_sms_code(app, client, companies):
    response = start(client, "12345678-z", "Movil@Example.es")
    assert response.headers["Location"] == "/register/phone"
    response = post(client, "/register/phone", {"phone": "611 11 11 11"})
    assert response.headers["Location"] == "/register/bank"
    page = text(client.get("/register/bank"))
    assert "mobile_iban" in page and "fixed_iban" not in page
    response = post(client, "/register/bank", {"mobile_iban": "2100 0813 61 0123456789"})  # the CCC of IBAN_M
    assert response.headers["Location"] == "/register/code"
    assert "ending in 111" in text(client.get("/register/code"))
    response = post(client, "/register/code", {"code": last_code(app, "+34611111111")})
    assert response.headers["Location"] == "/mi-area/bienvenida"
    user, roles = user_named(app, "movil@example.es")
    assert user.mobile == "+34611111111" and user.password_is_temporary
    assert [role for _, role in roles] == ["admin"]
    welcome = [m for m in outbox(app) if m.recipient == "movil@example.es"][-1]
    password = (
        welcome.body_text.split("temporary password: ")[1].split()[0]
        if "temporary password" in welcome.body_text
        else welcome.body_text.split("contraseña temporal: ")[1].split()[0]
    )
    assert verify_password(user.password_hash, password)
    assert audit(app, "registration.completed")[0].fiscal_id == "12345678Z"


def test_fixed_only_company_gets_the_code_by_email(app, client, companies):
    start(client, "B12345674", "fijo@example.es")
    response = post(client, "/register/phone", {"phone": "911111111"})
    assert response.headers["Location"] == "/register/bank"
    page = text(client.get("/register/bank"))
    assert "fixed_iban" in page and "mobile_iban" not in page
    post(client, "/register/bank", {"fixed_iban": IBAN_F})
    code_mail = [m for m in outbox(app) if m.recipient == "fijo@example.es"]
    assert len(code_mail) == 1 and code_mail[0].channel == "email"
    response = post(client, "/register/code", {"code": last_code(app, "fijo@example.es")})
    assert response.headers["Location"] == "/mi-area/bienvenida"
    user, _ = user_named(app, "fijo@example.es")
    assert user.mobile is None  # given, and verified, in Mi Área


@pytest.mark.parametrize("key", ["both", "convergent"])
def test_a_fixed_number_asks_for_a_mobile_then_both_accounts(app, client, companies, key):
    fixed, mobile = (line["number"] for line in companies[key]["lines"])
    start(client, companies[key]["fiscal_id"], companies[key]["interlocutors"][0]["email"])
    assert post(client, "/register/phone", {"phone": fixed}).headers["Location"] == "/register/mobile"
    response = post(client, "/register/mobile", {"phone": fixed})
    assert response.status_code == 422 and "This is a fixed number" in text(response)
    assert post(client, "/register/mobile", {"phone": mobile}).headers["Location"] == "/register/bank"
    response = post(client, "/register/bank", {"fixed_iban": IBAN_F, "mobile_iban": IBAN_M})
    assert response.headers["Location"] == "/register/code"
    response = post(client, "/register/code", {"code": last_code(app, f"+34{mobile}")})
    assert response.headers["Location"] == "/mi-area/bienvenida"


def test_a_mobile_given_first_skips_the_mobile_step(app, client, companies):
    start(client, "X1234567L", "ambos@example.es")
    assert post(client, "/register/phone", {"phone": "622222222"}).headers["Location"] == "/register/bank"
    page = text(client.get("/register/bank"))
    assert "fixed_iban" in page and "mobile_iban" in page


def test_invalid_fiscal_id_is_a_field_error(client, companies):
    response = start(client, "B12345675", "x@example.es")
    assert response.status_code == 422
    assert "not a valid CIF, NIF or NIE" in text(response)


def test_unknown_company_says_so_and_is_audited(app, client, companies):
    response = start(client, "B00000000", "x@example.es")
    assert response.status_code == 422 and "We do not find any customer company" in text(response)
    [event] = audit(app, "registration.refused")
    assert (event.fiscal_id, event.detail) == ("B00000000", {"step": "identify", "reason": "unknown_company"})
    assert event.ip == "127.0.0.1"


def test_an_email_that_is_not_an_interlocutor_is_told_to_call_1489(app, client, companies):
    response = start(client, "B12345674", "stranger@example.es")
    assert response.status_code == 422
    assert "call your personal advisor on 1489" in text(response)
    assert audit(app, "registration.refused")[0].detail["reason"] == "not_interlocutor"


def test_an_email_already_registered_is_sent_to_the_web_administrator(app, client, companies):
    register_mobile_company(app, client)
    client.post("/logout", data={"csrf_token": post_token(client)})
    response = start(client, "12345678Z", "movil@example.es")
    assert response.status_code == 422
    assert "Please contact your company&#39;s web administrator" in text(response)


def test_large_accounts_are_sent_to_the_request_form(client, companies):
    response = start(client, "B87654323", "gc@example.es")
    assert response.headers["Location"] == "/register/gran-cliente"
    page = text(client.get("/register/gran-cliente"))
    assert 'value="B87654323"' in page and 'value="gc@example.es"' in page


def test_three_wrong_phones_lock_the_flow(app, client, companies):
    start(client, "12345678Z", "movil@example.es")
    for left in (2, 1):
        response = post(client, "/register/phone", {"phone": "699999999"})
        assert response.status_code == 422 and f"You have {left} attempt" in text(response)
    response = post(client, "/register/phone", {"phone": "699999999"})
    assert response.headers["Location"] == "/register/end"
    assert "we have locked this registration" in text(client.get("/register/end"))
    assert client.get("/register/phone").headers["Location"] == "/register/end"
    [event] = audit(app, "registration.locked")
    assert event.detail == {"step": "phone", "reason": "wrong_phones"} and event.fiscal_id == "12345678Z"


def test_a_malformed_phone_is_a_field_error_and_not_counted(app, client, companies):
    start(client, "12345678Z", "movil@example.es")
    for _ in range(4):
        response = post(client, "/register/phone", {"phone": "12"})
        assert response.status_code == 422 and "not a Spanish fixed or mobile number" in text(response)
    assert post(client, "/register/phone", {"phone": "611111111"}).headers["Location"] == "/register/bank"


def test_three_wrong_ibans_lock_the_flow(app, client, companies):
    start(client, "X1234567L", "ambos@example.es")
    post(client, "/register/phone", {"phone": "622222222"})
    response = post(client, "/register/bank", {"fixed_iban": IBAN_M, "mobile_iban": IBAN_M})
    assert response.status_code == 422
    page = text(response)
    # beside the fixed IBAN only, and once in the error summary at the top that links to it
    assert field_errors(page) == ["fixed_iban"] and page.count("does not match") == 2
    assert "does not match" in error_summary(page) and 'href="#fixed_iban"' in error_summary(page)
    post(client, "/register/bank", {"fixed_iban": IBAN_F, "mobile_iban": IBAN_F})
    response = post(client, "/register/bank", {"fixed_iban": IBAN_M, "mobile_iban": IBAN_F})
    assert response.headers["Location"] == "/register/end"
    assert audit(app, "registration.locked")[0].detail == {"step": "bank", "reason": "wrong_ibans"}
    assert [m for m in outbox(app) if m.channel == "sms"] == []


def test_five_wrong_codes_kill_the_code_and_a_new_one_works(app, client, companies, monkeypatch):
    reach_code_step(client)
    for _ in range(4):
        response = post(client, "/register/code", {"code": "000000"})
        assert response.status_code == 422 and "The code is not correct" in text(response)
    response = post(client, "/register/code", {"code": "000000"})
    assert "no longer valid. Ask for a new one." in text(response)
    right = last_code(app, "+34611111111")
    assert "no longer valid" in text(post(client, "/register/code", {"code": right}))
    age_the_code(app)
    assert "We have sent you a new code." in text(post(client, "/register/code/resend", {}))
    new = last_code(app, "+34611111111")
    assert new != right or len([m for m in outbox(app) if m.channel == "sms"]) == 2
    assert post(client, "/register/code", {"code": new}).headers["Location"] == "/mi-area/bienvenida"


def test_resends_wait_60_seconds_and_stop_after_three(app, client, companies):
    reach_code_step(client)
    response = post(client, "/register/code/resend", {})
    assert response.status_code == 429 and "Please wait" in text(response)
    for _ in range(3):
        age_the_code(app)
        assert post(client, "/register/code/resend", {}).status_code == 200
    age_the_code(app)
    response = post(client, "/register/code/resend", {})
    assert response.status_code == 429 and "the most codes allowed" in text(response)
    assert len([m for m in outbox(app) if m.channel == "sms"]) == 4


def test_the_previous_code_dies_when_a_new_one_is_sent(app, client, companies):
    reach_code_step(client)
    old = last_code(app, "+34611111111")
    age_the_code(app)
    post(client, "/register/code/resend", {})
    new = last_code(app, "+34611111111")
    if old != new:  # the old code is not the flow's code any more
        assert "The code is not correct" in text(post(client, "/register/code", {"code": old}))
    assert post(client, "/register/code", {"code": new}).headers["Location"] == "/mi-area/bienvenida"


def test_a_dead_code_with_no_resends_left_locks_the_flow(app, client, companies):
    reach_code_step(client)
    for _ in range(3):
        age_the_code(app)
        post(client, "/register/code/resend", {})
    for _ in range(5):
        response = post(client, "/register/code", {"code": "000000"})
    assert response.headers["Location"] == "/register/end"
    assert audit(app, "registration.locked")[0].detail["reason"] == "codes_exhausted"


def test_an_expired_code_is_refused(app, client, companies):
    reach_code_step(client)
    code = last_code(app, "+34611111111")
    shift(app, CodeChallenge, "expires_at", timedelta(minutes=-11))
    assert "no longer valid" in text(post(client, "/register/code", {"code": code}))


def test_an_idle_flow_expires_after_30_minutes(app, client, companies):
    start(client, "12345678Z", "movil@example.es")
    shift(app, RegistrationFlow, "updated_at", timedelta(minutes=-31))
    assert client.get("/register/phone").headers["Location"] == "/register/end"
    page = text(client.get("/register/end"))
    assert "expired after 30 minutes" in page and 'href="/register"' in page


def test_back_button_and_replayed_posts_never_move_the_flow(app, client, companies):
    start(client, "X1234567L", "ambos@example.es")
    post(client, "/register/phone", {"phone": "922222222"})
    assert client.get("/register/phone").headers["Location"] == "/register/mobile"
    assert client.get("/register/bank").headers["Location"] == "/register/mobile"
    assert client.get("/register/code").headers["Location"] == "/register/mobile"
    post(client, "/register/mobile", {"phone": "622222222"})
    token = post_token(client, "/register/bank")
    replay = client.post("/register/phone", data={"phone": "622222222", "csrf_token": token})
    assert replay.headers["Location"] == "/register/bank"
    with app.app_context():
        flow = get_session().scalar(select(RegistrationFlow))
        assert (flow.state, flow.phone, flow.code_mobile) == ("bank", "+34922222222", "+34622222222")


def test_without_a_flow_the_steps_send_to_the_start(client, companies):
    for step in ("phone", "mobile", "bank", "code", "end"):
        assert client.get(f"/register/{step}").headers["Location"] == "/register"


def test_two_flows_for_the_same_email_only_one_account(app, companies):
    first, second = browser(app), browser(app)
    for visitor in (first, second):
        reach_code_step(visitor)
    first_sms, second_sms = (m.body_text for m in outbox(app) if m.recipient == "+34611111111")
    assert post(first, "/register/code", {"code": re.search(r"\d{6}", first_sms).group(0)}).status_code == 302
    response = post(second, "/register/code", {"code": re.search(r"\d{6}", second_sms).group(0)})
    assert response.headers["Location"] == "/register/end"
    assert "already registered" in text(second.get("/register/end"))
    with app.app_context():
        assert len(get_session().scalars(select(User)).all()) == 1


def test_every_step_works_without_csrf_token_refused(client, companies):
    response = client.post("/register", data={"fiscal_id": "12345678Z", "email": "movil@example.es"})
    assert response.status_code == 400


# ---- helpers ----------------------------------------------------------------------------------------------


def post_token(client, url="/"):
    return csrf_token(client, url)


def reach_code_step(client):
    start(client, "12345678Z", "movil@example.es")
    post(client, "/register/phone", {"phone": "611111111"})
    assert post(client, "/register/bank", {"mobile_iban": IBAN_M}).headers["Location"] == "/register/code"


def register_mobile_company(app, client):
    reach_code_step(client)
    post(client, "/register/code", {"code": last_code(app, "+34611111111")})


def age_the_code(app):
    """Pretend the last code was sent more than a minute ago (the resend wait)."""
    shift(app, RegistrationFlow, "code_sent_at", timedelta(seconds=-61))


def shift(app, model, column, delta):
    """Move a timestamp of every row of ``model`` by ``delta``, as if time had passed."""
    with app.app_context():
        session = get_session()
        for row in session.scalars(select(model)):
            setattr(row, column, getattr(row, column) + delta)
        session.commit()


def test_refusals_use_the_operators_own_words_in_spanish(app, companies):
    client = app.test_client()  # no language preference: Spanish
    page = text(start(client, "B12345674", "stranger@example.es"))
    assert (
        "No se ha podido finalizar el proceso de registro. Contacta con tu asesor personal en el 1489."
        in page
    )
    register_mobile_company(app, app.test_client())
    page = text(start(client, "12345678Z", "movil@example.es"))
    assert "Contacta con el Administrador de la web de tu empresa." in page

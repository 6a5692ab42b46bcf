"""A person's language sticks: chosen once, it is kept across sign-in and sign-out, stored on the user, applied
in any browser they sign in from, and every email or SMS goes to them in it."""

from __future__ import annotations

from mgd.extensions import limiter
from tests.accounts import add_member, create_company, load_user, update_user, user_id_of
from tests.factories import PASSWORD
from tests.kit import browser, csrf_token, last_code, outbox, post, sign_in, signed_in_client, text

SPANISH_PAGE = '<html lang="es">'
ENGLISH_PAGE = '<html lang="en">'


def spanish_browser(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    return client


def choose(client, locale):
    response = client.post(
        "/language", data={"locale": locale, "next": "/", "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302


def test_a_language_chosen_before_signing_in_is_kept_and_becomes_the_users(app, member):
    client = spanish_browser(app)
    choose(client, "en")
    assert sign_in(app, client).status_code == 302
    assert ENGLISH_PAGE in text(client.get("/mi-area/bienvenida", follow_redirects=True))
    assert load_user(app, member).locale == "en"


def test_signing_out_keeps_the_language(app, member):
    client = spanish_browser(app)
    choose(client, "en")
    sign_in(app, client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/condiciones-de-uso")})
    page = text(client.get("/"))
    assert ENGLISH_PAGE in page and "Sign in" in page


def test_the_stored_language_applies_in_a_new_browser(app, member):
    update_user(app, member, locale="en")
    client = spanish_browser(app)
    assert SPANISH_PAGE in text(client.get("/login"))
    sign_in(app, client)
    assert ENGLISH_PAGE in text(client.get("/condiciones-de-uso"))


def test_a_user_who_never_chose_keeps_the_language_they_signed_in_with(app, member):
    assert load_user(app, member).locale is None
    sign_in(app, spanish_browser(app))
    assert load_user(app, member).locale == "es"


def test_changing_the_language_when_signed_in_stores_it(app, member):
    client = browser(app)
    sign_in(app, client)
    choose(client, "es")
    assert load_user(app, member).locale == "es"
    assert SPANISH_PAGE in text(client.get("/condiciones-de-uso"))


def test_an_unknown_language_is_refused_and_nothing_is_stored(app, member):
    client = browser(app)
    sign_in(app, client)
    stored = load_user(app, member).locale
    response = client.post("/language", data={"locale": "fr", "csrf_token": csrf_token(client)})
    assert response.status_code == 400 and load_user(app, member).locale == stored


def test_the_sign_in_code_goes_in_the_users_language_not_the_browsers(app, member):
    update_user(app, member, locale="es")
    client = browser(app)  # English
    post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    post(client, "/login/channel", {"channel": "sms"})
    sms = [m for m in outbox(app) if m.recipient == "+34612000001"][-1]
    assert "código" in sms.body_text and "sign-in code" not in sms.body_text
    post(client, "/login/code", {"code": last_code(app, "+34612000001")})


def test_an_email_code_has_its_subject_in_the_users_language(app, member):
    update_user(app, member, locale="en")
    client = spanish_browser(app)
    post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    post(client, "/login/channel", {"channel": "email"})
    mail = [m for m in outbox(app) if m.recipient == "ana@example.es"][-1]
    assert mail.subject == "Your MGD sign-in code" and "sign-in code" in mail.body_text


def test_an_invitation_to_someone_with_an_account_goes_in_their_language(app, bound):
    limiter.reset()
    acme, beta = create_company(app, "Acme S.L."), create_company(app, "Beta S.A.")
    add_member(app, acme, "ana@acme.es", "admin")
    add_member(app, beta, "bob@beta.es", "viewer")
    update_user(app, user_id_of(app, "bob@beta.es"), locale="es")
    ana = signed_in_client(app, "ana@acme.es")  # English
    url = f"/empresa/{acme.ref}/usuarios/invitar"
    post(ana, url, {"email": "bob@beta.es", "name": "Bob", "role": "viewer"})
    post(ana, url, {"email": "eva@acme.es", "name": "Eva", "role": "viewer"})
    to_bob = [m for m in outbox(app) if m.recipient == "bob@beta.es"][-1]
    to_eva = [m for m in outbox(app) if m.recipient == "eva@acme.es"][-1]
    assert "te invita" in to_bob.subject and "invites you" in to_eva.subject

"""Mi Área onboarding after registration: terms, access data and a verified mobile come first."""

from sqlalchemy import select

from mgd.db import get_session
from mgd.security.models import User
from mgd.tenants.models import Company
from tests.factories import IBAN_F, IBAN_M
from tests.kit import audit, csrf_token, last_code, post, text


def register(app, client, fiscal_id, email, phone, **ibans):
    post(client, "/register", {"fiscal_id": fiscal_id, "email": email})
    post(client, "/register/phone", {"phone": phone})
    post(client, "/register/bank", ibans)
    destination = f"+34{phone}" if phone.startswith("6") else email
    assert post(client, "/register/code", {"code": last_code(app, destination)}).status_code == 302


def user(app, email):
    with app.app_context():
        return get_session().scalar(select(User).where(User.email == email))


def test_every_page_leads_to_onboarding_until_it_is_done(app, client, companies):
    register(app, client, "12345678Z", "movil@example.es", "611111111", mobile_iban=IBAN_M)
    for path in ("/", "/mi-area", "/register"):
        assert client.get(path).headers["Location"] == "/mi-area/bienvenida", path
    assert client.get("/condiciones-de-uso").status_code == 200
    page = text(client.get("/mi-area/bienvenida"))
    assert "movil@example.es" in page and 'value="611 11 11 11"' in page and 'value="Lucía Gómez"' in page


def test_terms_must_be_accepted(app, client, companies):
    register(app, client, "12345678Z", "movil@example.es", "611111111", mobile_iban=IBAN_M)
    response = post(client, "/mi-area/bienvenida", {"name": "Lucía Gómez", "mobile": "611111111"})
    assert response.status_code == 422 and "You must accept the terms of use" in text(response)
    assert user(app, "movil@example.es").terms_version is None


def test_the_verified_mobile_needs_no_new_code(app, client, companies):
    register(app, client, "12345678Z", "movil@example.es", "611111111", mobile_iban=IBAN_M)
    response = post(
        client,
        "/mi-area/bienvenida",
        {"name": "Lucía Gómez Ruiz", "mobile": "611 11 11 11", "accept_terms": "y"},
    )
    company_page = client.get(response.headers["Location"], follow_redirects=True)
    assert "Empresa 12345678Z" in text(company_page)
    saved = user(app, "movil@example.es")
    assert (saved.name, saved.terms_version, saved.mobile) == (
        "Lucía Gómez Ruiz",
        app.config["TERMS_VERSION"],
        "+34611111111",
    )
    assert audit(app, "terms.accepted")[0].detail == {"version": app.config["TERMS_VERSION"]}


def test_a_new_mobile_is_theirs_only_once_verified(app, client, companies):
    register(app, client, "12345678Z", "movil@example.es", "611111111", mobile_iban=IBAN_M)
    response = post(
        client, "/mi-area/bienvenida", {"name": "Lucía", "mobile": "655 00 00 01", "accept_terms": "y"}
    )
    assert response.headers["Location"] == "/mi-area/verificar-movil"
    assert user(app, "movil@example.es").mobile == "+34611111111"
    page = text(client.get("/mi-area/verificar-movil"))
    assert "to your new mobile ••• ••• 001" in page and "Give the number again" in page
    assert post(client, "/mi-area/verificar-movil", {"code": "000000"}).status_code == 422
    assert (
        post(client, "/mi-area/verificar-movil", {"code": last_code(app, "+34655000001")}).status_code == 302
    )
    assert user(app, "movil@example.es").mobile == "+34655000001"


def test_a_fixed_only_company_must_give_and_verify_a_mobile(app, client, companies):
    register(app, client, "B12345674", "fijo@example.es", "911111111", fixed_iban=IBAN_F)
    response = post(
        client, "/mi-area/bienvenida", {"name": "Lucía", "mobile": "911111111", "accept_terms": "y"}
    )
    assert response.status_code == 422 and "This is a fixed number" in text(response)
    response = post(client, "/mi-area/bienvenida", {"name": "Lucía", "mobile": "", "accept_terms": "y"})
    assert response.status_code == 422 and "This field is required" in text(response)
    post(client, "/mi-area/bienvenida", {"name": "Lucía", "mobile": "699 00 00 01", "accept_terms": "y"})
    assert client.get("/mi-area").headers["Location"] == "/mi-area/bienvenida"  # no verified mobile yet
    post(client, "/mi-area/verificar-movil", {"code": last_code(app, "+34699000001")})
    assert client.get("/mi-area").headers["Location"].startswith("/empresa/")


def test_a_new_terms_version_asks_again(app, client, companies, monkeypatch):
    register(app, client, "12345678Z", "movil@example.es", "611111111", mobile_iban=IBAN_M)
    post(client, "/mi-area/bienvenida", {"name": "Lucía", "mobile": "611111111", "accept_terms": "y"})
    assert client.get("/mi-area").status_code == 302
    monkeypatch.setitem(app.config, "TERMS_VERSION", "2027-01")
    assert client.get("/mi-area").headers["Location"] == "/mi-area/bienvenida"


def test_a_member_sees_their_company_and_nobody_elses(app, client, companies):
    register(app, client, "12345678Z", "movil@example.es", "611111111", mobile_iban=IBAN_M)
    post(client, "/mi-area/bienvenida", {"name": "Lucía", "mobile": "611111111", "accept_terms": "y"})
    own = client.get("/mi-area").headers["Location"]
    page = text(client.get(own))
    assert "Mobile lines" in page or "Líneas móviles" in page
    with app.app_context():
        others = [
            c.public_ref for c in get_session().scalars(select(Company)) if f"/empresa/{c.public_ref}" != own
        ]
    for ref in others:
        assert client.get(f"/empresa/{ref}").status_code == 404
    assert client.get("/empresa/no-such-company").status_code == 404


def test_members_pages_need_a_signed_in_user(client, companies):
    for path in ("/mi-area", "/mi-area/bienvenida", "/empresa/x"):
        response = client.get(path)
        assert response.status_code == 401 and "You need to sign in" in text(
            client.get(path, headers={"Accept-Language": "en"})
        )


def test_sign_out(app, client, companies):
    register(app, client, "12345678Z", "movil@example.es", "611111111", mobile_iban=IBAN_M)
    assert post(client, "/mi-area/bienvenida", {}).status_code == 422  # still signed in, on the form
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/mi-area/bienvenida")})
    assert response.headers["Location"] == "/"
    assert client.get("/mi-area").status_code == 401


def test_a_name_on_more_than_one_line_is_refused(app, client, companies):
    """A Unicode line separator: the base form lets it through, the name's own validator does not."""
    register(app, client, "12345678Z", "movil@example.es", "611111111", mobile_iban=IBAN_M)
    response = post(
        client,
        "/mi-area/bienvenida",
        {"name": "Lucía\u2028Bcc: x@evil.example", "mobile": "611111111", "accept_terms": "y"},
    )
    assert response.status_code == 422
    assert "Use letters, digits and punctuation only, on one line." in text(response)
    assert user(app, "movil@example.es").name == "Lucía Gómez"

"""Rate limits on starting registrations: per fiscal ID and per IP."""

from mgd.config import parse_rate
from tests.factories import IBAN_M
from tests.kit import audit, outbox, post, text


def test_five_flows_per_fiscal_id_per_hour(app, client, companies):
    for _ in range(5):
        assert (
            post(client, "/register", {"fiscal_id": "12345678Z", "email": "nobody@example.es"}).status_code
            == 422
        )
    response = post(client, "/register", {"fiscal_id": "12345678-Z", "email": "movil@example.es"})
    assert response.status_code == 429 and "Too many attempts" in text(response)
    [event] = audit(app, "registration.rate_limited")
    assert (event.fiscal_id, event.ip, event.detail["limit"]) == ("12345678Z", "127.0.0.1", "5 per 1 hour")
    other = post(client, "/register", {"fiscal_id": "B12345674", "email": "fijo@example.es"})
    assert other.status_code == 302


def test_ten_flows_per_ip_per_hour(client, companies):
    ids = ["B12345674", "X1234567L", "A28000032"]
    for attempt in range(10):
        post(client, "/register", {"fiscal_id": ids[attempt % 3], "email": "nobody@example.es"})
    response = post(client, "/register", {"fiscal_id": "12345678Z", "email": "movil@example.es"})
    assert response.status_code == 429
    assert client.get("/register").status_code == 200  # reading the page is not limited


def test_other_spellings_of_a_fiscal_id_share_its_limit(app, client, companies):
    for spelling in ("12345678Z", "12.345.678-z", "１２３４５６７８Ｚ", "١٢٣٤٥٦٧٨z", "ES12345678Z"):
        post(client, "/register", {"fiscal_id": spelling, "email": "nobody@example.es"})
    response = post(client, "/register", {"fiscal_id": "１２３４５６７８Ｚ", "email": "movil@example.es"})
    assert response.status_code == 429
    assert {event.fiscal_id for event in audit(app, "registration.rate_limited")} == {"12345678Z"}


def test_registration_codes_count_against_their_destination(app, companies, monkeypatch):
    """Several registrations (or a registration and a signed-in user) cannot flood one mobile."""
    monkeypatch.setitem(app.config, "SEND_LIMIT_DESTINATION", parse_rate("2/15min"))
    statuses = []
    for _ in range(3):
        browser = app.test_client()
        browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        post(browser, "/register", {"fiscal_id": "12345678Z", "email": "movil@example.es"})
        post(browser, "/register/phone", {"phone": "611111111"})
        statuses.append(post(browser, "/register/bank", {"mobile_iban": IBAN_M}))
    assert [response.status_code for response in statuses] == [302, 302, 429]
    assert "Too many messages have been sent to this number or address" in text(statuses[2])
    assert [m.recipient for m in outbox(app)].count("+34611111111") == 2
    assert browser.get("/register/code").headers["Location"] == "/register/bank"  # still at the bank step

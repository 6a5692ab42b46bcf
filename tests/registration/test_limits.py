"""Rate limits on starting registrations: per fiscal ID and per IP."""

from tests.registration.conftest import audit, post, text


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

"""Links for emails and SMS: on the public URL, in requests and outside them (jobs, commands)."""

from mgd.web.links import external_url


def test_outside_a_request_links_are_built_on_the_public_url(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://empresas.example/portal")
    with app.app_context():
        assert (
            external_url("invitations.accept", token="abc")
            == "https://empresas.example/portal/invitacion/abc"
        )


def test_in_development_without_a_public_url_the_request_address_is_used(app):
    with app.test_request_context(base_url="http://127.0.0.1:5000"):
        assert external_url("invitations.accept", token="abc") == "http://127.0.0.1:5000/invitacion/abc"

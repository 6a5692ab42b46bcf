"""The web edge: trusted proxies only, static files without session work, private pages kept out of caches,
oversized bodies refused unread, and a branded 500 page while the database is down."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from flask import request
from sqlalchemy.engine import make_url

from mgd.extensions import limiter

STATIC = Path(__file__).parents[1] / "src" / "mgd" / "static"


def echo_app(make_app, hops: int):
    """An app behind ``hops`` proxies with a route that shows what it believes of the client, limited per IP."""
    app = make_app(PROXY_HOPS=hops)

    @app.get("/whoami")
    @limiter.limit("3 per minute")
    def whoami():
        return {"ip": request.remote_addr, "scheme": request.scheme, "host": request.host}

    limiter.reset()
    return app.test_client()


FORWARDED = {
    "X-Forwarded-For": "203.0.113.5",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "mgd.example",
}


def test_behind_one_trusted_proxy_the_client_ip_scheme_and_host_are_the_forwarded_ones(make_app):
    client = echo_app(make_app, hops=1)
    response = client.get("/whoami", headers=FORWARDED)
    assert response.json == {"ip": "203.0.113.5", "scheme": "https", "host": "mgd.example"}
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_with_no_trusted_proxy_forwarded_headers_change_nothing(make_app):
    client = echo_app(make_app, hops=0)
    response = client.get("/whoami", headers=FORWARDED)
    assert response.json == {"ip": "127.0.0.1", "scheme": "http", "host": "localhost"}
    assert "Strict-Transport-Security" not in response.headers


def test_only_the_trusted_hop_counts_a_spoofed_address_before_it_is_ignored(make_app):
    client = echo_app(make_app, hops=1)
    spoofed = {"X-Forwarded-For": "10.9.9.9, 203.0.113.5"}  # the client wrote the first, our proxy the last
    assert client.get("/whoami", headers=spoofed).json["ip"] == "203.0.113.5"


def test_behind_a_proxy_per_ip_limits_are_per_client_not_global(make_app):
    client = echo_app(make_app, hops=1)
    for _ in range(3):
        assert client.get("/whoami", headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 200
    assert client.get("/whoami", headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 429
    assert client.get("/whoami", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 200


def test_without_trusted_proxies_a_spoofed_address_does_not_escape_the_limit(make_app):
    client = echo_app(make_app, hops=0)
    for number in range(3):
        assert client.get("/whoami", headers={"X-Forwarded-For": f"10.0.0.{number}"}).status_code == 200
    assert client.get("/whoami", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 429


def test_the_compressed_static_files_are_current():
    for path in STATIC.rglob("*.*"):
        if path.suffix != ".gz":
            assert gzip.decompress(path.with_name(path.name + ".gz").read_bytes()) == path.read_bytes(), (
                f"{path} changed: run `make static`"
            )


class Unreadable(io.RawIOBase):
    """A body that fails the test if anything reads it (seekable only so that the test client can size it)."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, _offset: int, _whence: int = 0) -> int:
        return 0

    def readinto(self, _buffer):
        raise AssertionError("the oversized body was read")


def test_an_oversized_post_is_refused_with_413_before_it_is_read(client):
    response = client.post(
        "/login",
        input_stream=Unreadable(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "en"},
        environ_overrides={"CONTENT_LENGTH": str(100 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert "What you sent is too large" in response.get_data(as_text=True)


def test_a_post_within_the_limit_goes_on(client):
    assert client.post("/login", data={"email": "x"}).status_code == 400  # the CSRF check ran


def unreachable(app_database_url: str, tmp_path) -> str:
    if app_database_url.startswith("postgresql"):
        return make_url(app_database_url).set(port=1).render_as_string(hide_password=False)
    return f"sqlite:///{tmp_path / 'no-such-folder' / 'mgd.sqlite3'}"


@pytest.mark.parametrize(
    ("language", "title"),
    [("es", "Algo ha fallado por nuestra parte"), ("en", "Something went wrong on our side")],
)
def test_with_the_database_down_a_signed_in_user_gets_the_branded_500_page(
    make_app, app_database_url, tmp_path, language, title
):
    down = make_app(ENV="development", DATABASE_URL=unreachable(app_database_url, tmp_path))
    client = down.test_client()
    with client.session_transaction() as session:
        session.update(_user_id="1", sid="a-session-token")  # the user loader asks the database
    response = client.get("/mi-area", headers={"Accept-Language": language, "X-Request-ID": "probe-1234567"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert f'<html lang="{language}">' in page and title in page
    assert "probe-1234567" in page and response.headers["X-Request-ID"] == "probe-1234567"
    assert "Internal Server Error" not in page and "OperationalError" not in page

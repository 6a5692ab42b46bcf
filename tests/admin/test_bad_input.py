"""Each bad input that once gave a 500 on a company's pages, as a person (or a script) would send it."""

from __future__ import annotations

import codecs
import io

import pytest
from sqlalchemy import select

from mgd.db import get_session, operator_scope
from mgd.tenants.models import Company, Line
from tests.kit import signed_in_client, text, token


def upload(client, url: str, content: bytes, name: str = "file.csv"):
    data = {"file": (io.BytesIO(content), name), "csrf_token": token(client)}
    return client.post(url, data=data, content_type="multipart/form-data")


def line_alias(app, line_id: int) -> str | None:
    with app.app_context():
        session = get_session()
        with operator_scope(session, "test"):
            return session.scalar(select(Line.alias).where(Line.id == line_id))


@pytest.mark.parametrize("path", ["/lineas", "/usuarios", "/actividad"])
@pytest.mark.parametrize("page", ["²", "٣", "9" * 5000])
def test_a_page_number_that_is_not_ascii_digits_shows_the_first_page(app, acme, path, page):
    ana = signed_in_client(app, "ana@acme.es")
    assert ana.get(f"/empresa/{acme.ref}{path}", query_string={"page": page}).status_code == 200


@pytest.mark.parametrize("tariff", ["²", "٣", "9" * 5000, "99999999999999999999"])
def test_a_tariff_filter_that_is_not_ascii_digits_is_ignored(app, acme, tariff):
    carla = signed_in_client(app, "carla@acme.es")
    for path in ("/lineas", "/lineas/exportar.csv"):
        response = carla.get(f"/empresa/{acme.ref}{path}", query_string={"tariff": tariff})
        assert response.status_code == 200


@pytest.mark.parametrize("name", ["until", "since"])
@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "2024-13-01", "٢٠٢٤-٠١-٠١"])
def test_a_date_out_of_range_is_named_next_to_its_filter(app, acme, name, value):
    ana = signed_in_client(app, "ana@acme.es")
    response = ana.get(f"/empresa/{acme.ref}/actividad", query_string={name: value})
    page = text(response)
    assert response.status_code == 422
    assert f'<p class="error" id="{name}-error">This is not a date between the years 2000 and 2100.' in page
    assert f'aria-describedby="{name}-error"' in page
    export = ana.get(f"/empresa/{acme.ref}/actividad/exportar.csv", query_string={name: value})
    assert export.status_code == 400 and "This is not a date between the years 2000 and 2100." in text(export)


def test_the_last_day_of_the_range_still_filters(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    response = ana.get(f"/empresa/{acme.ref}/actividad", query_string={"until": "2100-12-31"})
    assert response.status_code == 200 and "Signed in (by email)" in text(response)


@pytest.mark.parametrize("value", ["a\x00b", "\x1b[31m", "line\r\nbreak"])
def test_a_query_parameter_with_control_characters_is_a_400_naming_it(app, acme, value):
    ana = signed_in_client(app, "ana@acme.es")
    response = ana.get(f"/empresa/{acme.ref}/lineas", query_string={"q": value})
    assert response.status_code == 400
    assert "The parameter “q” of the address has characters that cannot be used" in text(response)


def test_a_path_with_a_nul_is_not_found(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    assert ana.get("/empresa/%00/lineas").status_code == 404


def test_clearing_the_invitation_domains_removes_the_restriction(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    url = f"/empresa/{acme.ref}/usuarios/dominios"
    ana.post(url, data={"domains": "acme.es", "csrf_token": token(ana)})
    response = ana.post(url, data={"domains": "", "csrf_token": token(ana)})
    assert response.status_code == 302
    with app.app_context():
        assert get_session().get(Company, acme.id).invite_domains is None
    invited = ana.post(
        f"/empresa/{acme.ref}/usuarios/invitar",
        data={"email": "eva@other.es", "name": "Eva", "role": "viewer", "csrf_token": token(ana)},
    )
    assert invited.status_code == 302


def test_a_nul_in_the_domains_is_refused_naming_the_field(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    url = f"/empresa/{acme.ref}/usuarios/dominios"
    response = ana.post(url, data={"domains": "acme.es\x00", "csrf_token": token(ana)})
    assert "Email domains allowed for invitations" in text(ana.get(response.headers["Location"]))
    with app.app_context():
        assert get_session().get(Company, acme.id).invite_domains is None


# ---- the two CSV uploads --------------------------------------------------------------------------------

INVITE, ASSIGN = "/usuarios/invitar/csv", "/lineas/asignar"


def test_a_csv_value_over_the_csv_modules_field_limit_is_refused_naming_its_line(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    content = f'eva@acme.es,Eva,viewer\nfran@acme.es,"{"x" * 140_000}",viewer\n'.encode()
    response = upload(ana, f"/empresa/{acme.ref}{INVITE}", content, "people.csv")
    assert response.status_code == 422
    assert "people.csv: Line 2 cannot be read as CSV" in text(response)


def test_cr_only_line_endings_are_read(app, acme):
    bob = signed_in_client(app, "bob@acme.es")
    content = f"{acme.numbers[0]},Reception,,\r{acme.numbers[1]},Store,,\r".encode()
    response = upload(bob, f"/empresa/{acme.ref}{ASSIGN}", content)
    page = text(response)
    assert response.status_code == 200 and "Every row is correct" in page
    assert "Reception" in page and "Store" in page


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_its_bom_is_read(app, acme, encoding):
    bob = signed_in_client(app, "bob@acme.es")
    content = f"{acme.numbers[0]},Almacén,,\r\n".encode(encoding)
    if encoding != "utf-16":
        content = (codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE) + content
    response = upload(bob, f"/empresa/{acme.ref}{ASSIGN}", content)
    assert response.status_code == 200 and "Almacén" in text(response)


def test_utf16_without_its_bom_is_refused_clearly(app, acme):
    bob = signed_in_client(app, "bob@acme.es")
    content = f"{acme.numbers[0]},Almacén,,\r\n".encode("utf-16-le")
    response = upload(bob, f"/empresa/{acme.ref}{ASSIGN}", content, "lines.csv")
    assert response.status_code == 422
    assert "lines.csv: Line 1 has characters that are not text" in text(response)
    assert line_alias(app, acme.lines[0]) is None


@pytest.mark.parametrize("url", [INVITE, ASSIGN])
def test_a_binary_file_is_refused_naming_the_file(app, acme, url):
    ana = signed_in_client(app, "ana@acme.es")
    content = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    response = upload(ana, f"/empresa/{acme.ref}{url}", content, "photo.png")
    assert response.status_code == 422
    assert "photo.png: " in text(response) and "not text" in text(response)


def test_a_nul_carried_back_by_the_preview_is_refused_and_nothing_changes(app, acme):
    bob = signed_in_client(app, "bob@acme.es")
    content = f"{acme.numbers[0]},Recep\x00tion,,\n"
    response = bob.post(
        f"/empresa/{acme.ref}{ASSIGN}", data={"content": content, "apply": "yes", "csrf_token": token(bob)}
    )
    assert response.status_code == 422 and "Line 1 has characters that are not text" in text(response)
    assert line_alias(app, acme.lines[0]) is None

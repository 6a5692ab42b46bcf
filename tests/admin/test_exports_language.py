"""Exports in the reader's language: Spanish headers and values, ``;`` and a decimal comma (``?sep=comma`` for
``,``), English words with ``,``; times in Madrid time."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from flask_babel import force_locale

from mgd.web.exports import CsvFormat, _csv_chunks, csv_format
from tests.admin.test_lines import label
from tests.kit import csrf_token, signed_in_client, text


def spanish(client):
    client.post("/language", data={"locale": "es", "csrf_token": csrf_token(client)})
    return client


def read(response, delimiter):
    return list(csv.reader(io.StringIO(text(response).lstrip("\ufeff")), delimiter=delimiter))


def test_a_spanish_lines_export_has_spanish_words_and_semicolons(app, acme):
    label(app, acme, acme.lines[0], alias="Recepción")
    carla = spanish(signed_in_client(app, "carla@acme.es"))
    rows = read(carla.get(f"/empresa/{acme.ref}/lineas/exportar.csv", query_string={"q": "recep"}), ";")
    assert rows[0] == [
        "Número",
        "Tipo",
        "Producto",
        "Estado",
        "Tarifa",
        "Alias",
        "Centro de coste",
        "Email del usuario",
    ]
    assert rows[1][1:4] == ["Móvil", "Móvil", "Activa"] and rows[1][5] == "Recepción"


def test_the_comma_can_be_asked_for(app, acme):
    carla = spanish(signed_in_client(app, "carla@acme.es"))
    response = carla.get(f"/empresa/{acme.ref}/lineas/exportar.csv", query_string={"sep": "comma"})
    assert read(response, ",")[0][:2] == ["Número", "Tipo"]
    refused = carla.get(f"/empresa/{acme.ref}/lineas/exportar.csv", query_string={"sep": "tab"})
    assert refused.status_code == 400 and "sep=comma" in text(refused)


def test_an_english_lines_export_has_english_words_and_commas(app, acme):
    carla = signed_in_client(app, "carla@acme.es")
    rows = read(carla.get(f"/empresa/{acme.ref}/lineas/exportar.csv"), ",")
    assert rows[0][:4] == ["Number", "Kind", "Product", "Status"] and rows[1][3] == "Active"


def test_the_activity_export_is_in_madrid_time_with_sentences(app, acme):
    ana = spanish(signed_in_client(app, "ana@acme.es"))
    rows = read(ana.get(f"/empresa/{acme.ref}/actividad/exportar.csv"), ";")
    assert rows[0][0] == "Cuándo (hora de Madrid)" and rows[0][-1] == "Qué pasó"
    signed_in = [row for row in rows[1:] if row[1] == "login.succeeded"]
    assert signed_in and signed_in[0][-1] == "Inició sesión (por email)"
    written = datetime.strptime(signed_in[0][0] + " +0000", "%Y-%m-%d %H:%M:%S %z")  # Madrid's wall clock
    madrid_offset = written - datetime.now(UTC)
    assert 0.5 < madrid_offset.total_seconds() / 3600 < 2.5  # CET or CEST, not UTC


def test_decimals_follow_the_format(app):
    with app.test_request_context("/?x=1"):
        with force_locale("es_ES"):
            assert csv_format({}) == CsvFormat(";", ",")
            assert csv_format({"sep": "comma"}) == CsvFormat(",", ".")
        with force_locale("en_GB"):
            assert csv_format({}) == CsvFormat(",", ".")
        chunks = "".join(_csv_chunks(["a", "b"], [[Decimal("12.50"), 3.25]], CsvFormat(";", ",")))
        assert chunks == "\ufeffa;b\r\n12,50;3,25\r\n"

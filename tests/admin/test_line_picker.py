"""Limiting a member to lines with a picker: search the company's lines and tick them (a plain GET form and
checkboxes: no script needed); the chosen lines come back ticked, and what was typed survives an error."""

from __future__ import annotations

import re

from mgd.identifiers import format_phone
from tests.admin.test_lines import label
from tests.kit import confirm, signed_in_client, text, token


def picker(page: str) -> dict[str, bool]:
    """The picker's checkboxes: number -> ticked."""
    boxes = re.findall(
        r'<input type="checkbox" id="picked-\d+" name="picked" value="([^"]+)"( checked)?>', page
    )
    return {number: bool(ticked) for number, ticked in boxes}


def test_search_then_tick_limits_the_member(app, acme):
    label(app, acme, acme.lines[1], alias="Almacén")
    ana = signed_in_client(app, "ana@acme.es")
    member = f"/empresa/{acme.ref}/usuarios/{acme.members['carla@acme.es']}"
    assert picker(text(ana.get(member))) == {}
    found = text(ana.get(member, query_string={"lq": "almac"}))
    assert picker(found) == {acme.numbers[1]: False} and "Almacén" in found
    by_number = picker(text(ana.get(member, query_string={"lq": format_phone(acme.numbers[2])})))
    assert by_number == {acme.numbers[2]: False}
    assert confirm(ana, f"{member}/limit", {"picked": acme.numbers[1], "cost_centres": ""}).status_code == 302
    again = text(ana.get(member, query_string={"lq": format_phone(acme.numbers[2])}))
    assert picker(again) == {acme.numbers[1]: True, acme.numbers[2]: False}  # the chosen one stays listed
    carla = signed_in_client(app, "carla@acme.es")
    assert carla.get(f"/empresa/{acme.ref}/lineas/{acme.lines[1]}").status_code == 200
    assert carla.get(f"/empresa/{acme.ref}/lineas/{acme.lines[0]}").status_code == 404


def test_unticking_every_line_lifts_the_limit(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    member = f"/empresa/{acme.ref}/usuarios/{acme.members['carla@acme.es']}"
    confirm(ana, f"{member}/limit", {"picked": acme.numbers[0], "cost_centres": ""})
    assert picker(text(ana.get(member))) == {acme.numbers[0]: True}
    confirm(ana, f"{member}/limit", {"numbers": "", "cost_centres": ""})
    assert picker(text(ana.get(member))) == {}
    carla = signed_in_client(app, "carla@acme.es")
    assert carla.get(f"/empresa/{acme.ref}/lineas/{acme.lines[1]}").status_code == 200


def test_a_wrong_number_brings_back_what_was_typed_and_ticked(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    member = f"/empresa/{acme.ref}/usuarios/{acme.members['carla@acme.es']}"
    response = ana.post(
        f"{member}/limit",
        data={
            "picked": acme.numbers[0],
            "numbers": "hello",
            "cost_centres": "MAD-01",
            "csrf_token": token(ana),
        },
    )
    page = text(response)
    assert response.status_code == 422 and "not phone numbers: hello" in page
    assert picker(page) == {acme.numbers[0]: True}
    assert re.search(r">\s*hello</textarea>", page) and 'value="MAD-01"' in page


def test_a_search_that_finds_nothing_says_so(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    member = f"/empresa/{acme.ref}/usuarios/{acme.members['carla@acme.es']}"
    page = text(ana.get(member, query_string={"lq": "zzz"}))
    assert picker(page) == {} and "No other line matches “zzz”." in page

"""The consumption pages as members see them: who may open them, the records of the company and of a line
with their filters, keyset pages that skip and repeat nothing while records arrive, totals per type with not
billed apart from billed, the exports read back (openpyxl), allowance bars, the cycle's rankings as charts
with their tables, the company's home card, in Spanish and English."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.accounts import add_member
from tests.kit import signed_in_client, text
from tests.usage.kit import add_usage, record

NOW = datetime.now(UTC).replace(microsecond=0)


def base(company) -> str:
    return f"/empresa/{company.ref}/consumo"


def ago(**delta) -> datetime:
    return NOW - timedelta(**delta)


@pytest.fixture
def used(app, acme):
    """Acme's first line with calls, SMS, data (one session abroad) and a billed call; its second line with one
    call in; Bea, its billing person."""
    add_member(app, acme, "bea@acme.es", "billing")
    first, second = acme.lines[0], acme.lines[1]
    add_usage(
        app,
        acme,
        [
            record(first, ago(hours=1), "voice", duration_s=151, cost_cents=25),
            record(first, ago(hours=2), "sms", cost_cents=9),
            record(first, ago(hours=3), "data", bytes=2 * 10**9, cost_cents=0),
            record(
                first, ago(hours=4), "data", bytes=5 * 10**8, roaming_zone="eu", country="FR", cost_cents=0
            ),
            record(
                first, ago(hours=5), "voice", duration_s=30, billed=True, invoice_number="F-1", cost_cents=7
            ),
            record(second, ago(hours=6), "voice", direction="in", duration_s=45, cost_cents=0),
        ],
    )
    return acme


PAGES = ("", "/lineas/{line}", "/disponible", "/ranking", "/exportar.csv", "/exportar.xlsx")
PAGES += ("/lineas/{line}/exportar.csv", "/lineas/{line}/exportar.xlsx")


def test_every_role_sees_the_consumption_with_its_tab_and_home_card(app, used):
    for email in ("ana@acme.es", "bob@acme.es", "carla@acme.es", "bea@acme.es"):
        client = signed_in_client(app, email)
        for page in PAGES:
            response = client.get(base(used) + page.format(line=used.lines[0]))
            assert response.status_code == 200, (email, page, response.status_code)
        home = text(client.get(f"/empresa/{used.ref}"))
        assert 'id="usage-card"' in home and f'href="{base(used)}"' in home, email


def rows_of(page: str) -> list[str]:
    body = page.split('<h2 id="records-heading">', 1)[1]
    return re.findall(r"<tr data-record=\"\d+\">(.*?)</tr>", body, re.S)


def test_the_company_page_lists_not_billed_records_newest_first_and_billed_ones_apart(app, used):
    ana = signed_in_client(app, "ana@acme.es")
    page = text(ana.get(base(used)))
    rows = rows_of(page)
    assert len(rows) == 5
    assert "2 min 31 s" in rows[0] and "€0.25" in rows[0]
    assert "EU roaming" in rows[3] and "(FR)" in rows[3]
    assert "F-1" not in page
    billed = text(ana.get(base(used) + "?state=billed"))
    assert len(rows_of(billed)) == 1 and "F-1" in billed
    assert "Not billed yet" in page and "Billed" in page


def test_totals_add_up_each_type_with_billed_and_not_billed_apart(app, used):
    ana = signed_in_client(app, "ana@acme.es")
    page = text(ana.get(base(used) + "?kind=voice"))
    totals = page.split("Totals by type", 1)[1].split("</table>", 1)[0]
    voice = re.search(r"<th scope=\"row\">Calls</th>(.*?)</tr>", totals, re.S).group(1)
    cells = re.findall(r"<td class=\"amount\">(.*?)</td>", voice)
    assert cells == ["3", "3 min 46 s", "€0.25", "€0.07"]  # 151 + 30 + 45 s; received calls are free
    assert "SMS" not in totals
    data = text(ana.get(base(used) + "?kind=data&roaming=roaming"))
    assert "500.0 MB" in data.split("Totals by type", 1)[1].split("</table>", 1)[0]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=sms", 1),
        ("kind=data", 2),
        ("roaming=roaming", 1),
        ("roaming=home", 4),
        ("direction=in", 1),
        ("direction=out&kind=voice", 1),
        ("from=2020-01-01&to=2020-01-31", 0),
    ],
)
def test_filters_narrow_the_records(app, used, query, expected):
    ana = signed_in_client(app, "ana@acme.es")
    today = NOW.date()
    dated = "" if "from=" in query else f"&from={today - timedelta(days=3)}&to={today}"
    assert len(rows_of(text(ana.get(f"{base(used)}?{query}{dated}")))) == expected


def test_unreadable_filters_and_cursors_show_the_first_page(app, used):
    ana = signed_in_client(app, "ana@acme.es")
    for query in ("after=x", "after=1.", "after=-5.3", "from=2026-13-01", "kind=fax", "state=maybe", "to=²"):
        response = ana.get(f"{base(used)}?{query}")
        assert response.status_code == 200, query
        assert len(rows_of(text(response))) == 5, query


def next_link(page: str) -> str | None:
    found = re.search(r'<a href="([^"]*after=[^"]*)">Older records</a>', page)
    return found.group(1).replace("&amp;", "&") if found else None


def test_keyset_pages_skip_and_repeat_nothing_while_records_arrive(app, acme):
    line = acme.lines[0]
    # 120 records, ten of them sharing one start time across the first page's end.
    times = [ago(minutes=n) for n in range(110)] + [ago(minutes=45)] * 10
    originals = set(add_usage(app, acme, [record(line, when) for when in times]))
    ana = signed_in_client(app, "ana@acme.es")
    seen, url, pages = [], f"{base(acme)}/lineas/{line}", 0
    while url:
        page = text(ana.get(url))
        seen += re.findall(r"data-record=\"(\d+)\"", page)
        pages += 1
        if pages == 1:  # a newer record and a late one, older than this page, arrive meanwhile
            late = add_usage(
                app, acme, [record(line, ago(seconds=1)), record(line, ago(minutes=100, seconds=30))]
            )
        url = next_link(page)
    ids = [int(value) for value in seen]
    assert pages == 3
    assert len(ids) == len(set(ids)), "a record was shown twice"
    assert originals <= set(ids), "a record was skipped"
    assert late[1] in ids and late[0] not in ids  # the late one is found further on; the newest is not

"""The consumption pages as members see them: who may open them, the records of the company and of a line
with their filters, keyset pages that skip and repeat nothing while records arrive, totals per type with not
billed apart from billed, the exports read back (openpyxl), allowance bars, the cycle's rankings as charts
with their tables, the company's home card, in Spanish and English."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from mgd.db import get_session, operator_scope, set_tenant
from mgd.identifiers import format_phone
from mgd.tenants.models import Line, Tariff, UsagePool
from mgd.usage import allowances, queries
from mgd.usage.filters import MADRID
from mgd.usage.models import Bundle, LineBundle
from mgd.usage.services import cycle_for
from tests.accounts import add_member
from tests.kit import confirm, signed_in_client, speak, text
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
            response.close()  # a streamed export holds its request's context until it is read or closed
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


#: A value each filter cannot read, what the error page calls that filter, and what it says it accepts.
UNREADABLE = [
    ("from", "2026-13-01", "From", "is not a date between the years 2000 and 2100"),
    ("from", "0001-01-01", "From", "is not a date between the years 2000 and 2100"),
    ("to", "9999-12-31", "To", "is not a date between the years 2000 and 2100"),
    ("to", "²", "To", "is not a date between the years 2000 and 2100, written YYYY-MM-DD."),
    ("kind", "fax", "Type", "must be one of: voice, sms, mms, data, premium"),
    ("direction", "sideways", "Direction", "must be one of: out, in"),
    ("roaming", "yes", "Where", "must be one of: home, roaming"),
    ("state", "maybe", "Billed or not", "must be one of: unbilled, billed"),
    ("after", "x", "Older records", "is not a position in this list"),
    ("after", "1.", "Older records", "is not a position in this list"),
    ("after", "-5.3", "Older records", "is not a position in this list"),
]
FILTERED = ("", "/lineas/{line}", "/exportar.csv", "/exportar.xlsx", "/lineas/{line}/exportar.csv")


@pytest.mark.parametrize("case", UNREADABLE, ids=lambda case: f"{case[0]}={case[1]}")
def test_a_filter_it_cannot_read_is_a_400_that_names_it(app, used, case):
    name, value, label, why = case
    ana = signed_in_client(app, "ana@acme.es")
    pages = FILTERED if name != "after" else FILTERED[:2]  # (the exports have no pages)
    for page in pages:
        response = ana.get(f"{base(used)}{page.format(line=used.lines[0])}", query_string={name: value})
        body = text(response)
        assert response.status_code == 400, (page, name, value)
        assert f"The filter “{label}” ({name}=) {why}" in body, (page, name)


def test_the_filter_is_named_in_spanish_too(app, used):
    ana = signed_in_client(app, "ana@acme.es")
    speak(ana, "es")
    body = text(ana.get(f"{base(used)}?kind=fax"))
    assert "El filtro «Tipo» (kind=)" in body, body


def test_empty_filters_are_the_defaults(app, used):
    ana = signed_in_client(app, "ana@acme.es")
    response = ana.get(f"{base(used)}?from=&to=&kind=&direction=&roaming=&state=&after=")
    assert response.status_code == 200
    assert len(rows_of(text(response))) == 5


def test_allowance_pages_walk_every_line_once_by_number(app, used, monkeypatch):
    """The allowance page is a keyset page of lines by number: "Next" and "Previous" walk them, each line
    once; a position that is not one (a token made up) is the first page, never an error."""
    monkeypatch.setattr(allowances, "PAGE_SIZE", 2)
    ana = signed_in_client(app, "ana@acme.es")
    url, seen, pages = f"{base(used)}/disponible", [], []
    while url:
        page = text(ana.get(url))
        pages.append(page)
        seen += [int(line) for line in re.findall(r'id="line-(\d+)-data-text"', page)]
        found = re.search(r'<a href="([^"]*after=[^"]*)" rel="next">', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == list(used.lines) and len(pages) == 2  # (the fixture's lines are numbered in order)
    back = re.search(r'<a href="([^"]*before=[^"]*)" rel="prev">', pages[-1]).group(1).replace("&amp;", "&")
    assert re.findall(r'id="line-(\d+)-data-text"', text(ana.get(back))) == [str(n) for n in used.lines[:2]]
    for token in ("x", "[1]", '["+34"]', "%00"):
        response = ana.get(f"{base(used)}/disponible", query_string={"after": token})
        assert response.status_code == 200
        assert re.findall(r'id="line-(\d+)-data-text"', text(response))[:1] == [str(used.lines[0])]


def next_link(page: str) -> str | None:
    found = re.search(r'<a href="([^"]*after=[^"]*)">Older records</a>', page)
    return found.group(1).replace("&amp;", "&") if found else None


def test_keyset_pages_skip_and_repeat_nothing_while_records_arrive(app, acme):
    line = acme.lines[0]
    # 120 records, ten of them sharing one start time across the first page's end (25 records a line's page).
    times = [ago(minutes=n) for n in range(110)] + [ago(minutes=20)] * 10
    originals = set(add_usage(app, acme, [record(line, when) for when in times]))
    ana = signed_in_client(app, "ana@acme.es")
    seen, url, pages = [], f"{base(acme)}/lineas/{line}", 0
    while url:
        page = text(ana.get(url))
        seen += re.findall(r"data-record=\"(\d+)\"", page)
        pages += 1
        assert ("The totals are on the first page" in page) is (pages > 1)
        if pages == 1:  # a newer record and a late one, older than this page, arrive meanwhile
            late = add_usage(
                app, acme, [record(line, ago(seconds=1)), record(line, ago(minutes=100, seconds=30))]
            )
        url = next_link(page)
    ids = [int(value) for value in seen]
    assert pages == 5 and queries.LINE_PAGE_SIZE == 25
    assert len(ids) == len(set(ids)), "a record was shown twice"
    assert originals <= set(ids), "a record was skipped"
    assert late[1] in ids and late[0] not in ids  # the late one is found further on; the newest is not


def test_a_member_limited_to_a_line_sees_only_its_records_totals_and_rankings(app, used):
    ana = signed_in_client(app, "ana@acme.es")
    confirm(
        ana,
        f"/empresa/{used.ref}/usuarios/{used.members['carla@acme.es']}/limit",
        {"numbers": format_phone(used.numbers[0]), "cost_centres": ""},
    )
    carla = signed_in_client(app, "carla@acme.es")
    page = text(carla.get(base(used) + "?kind=voice&state=unbilled"))
    assert len(rows_of(page)) == 1 and format_phone(used.numbers[1]) not in page
    assert "3 min 46 s" not in page and "2 min 31 s" in page  # the second line's call is not in the totals
    assert carla.get(f"{base(used)}/lineas/{used.lines[1]}").status_code == 404
    assert carla.get(f"{base(used)}/lineas/{used.lines[1]}/exportar.csv").status_code == 404
    exported = text(carla.get(base(used) + "/exportar.csv"))
    assert format_phone(used.numbers[1]) not in exported and len(exported.splitlines()) == 6
    ranking = text(carla.get(base(used) + "/ranking"))
    assert format_phone(used.numbers[1]) not in ranking
    allowances = text(carla.get(base(used) + "/disponible"))
    assert format_phone(used.numbers[0]) in allowances and format_phone(used.numbers[1]) not in allowances


def test_the_excel_export_holds_every_record_with_real_dates_and_euros(app, used):
    ana = signed_in_client(app, "ana@acme.es")
    response = ana.get(f"{base(used)}/lineas/{used.lines[0]}/exportar.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active  # (read first: the stream ends its request)
    assert response.headers["Content-Disposition"].startswith('attachment; filename="consumo-')
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Date and time", "Line", "Type") and len(rows) == 6  # billed ones too
    first = rows[1]
    assert isinstance(first[0], datetime) and first[1] == used.numbers[0]
    assert first[2] == "Calls" and first[7] == 151 and first[10] == pytest.approx(0.25)
    assert {row[11] for row in rows[1:]} == {"Yes", "No"} and "F-1" in [row[12] for row in rows]


def test_the_csv_export_is_written_as_a_spanish_spreadsheet_reads_it(app, used):
    ana = speak(signed_in_client(app, "ana@acme.es"), "es")
    response = ana.get(f"{base(used)}/exportar.csv?kind=sms")
    rows = list(csv.reader(io.StringIO(text(response).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0] == "Fecha y hora" and len(rows) == 2
    assert rows[1][2] == "SMS" and rows[1][10] == "0,09"


def test_spanish_and_english_pages(app, used):
    ana = signed_in_client(app, "ana@acme.es")
    english = text(ana.get(base(used)))
    assert "Not billed yet" in english and "Older records" not in english
    speak(ana, "es")
    spanish = text(ana.get(base(used)))
    assert "<h1>Consumo</h1>" in spanish and "Sin facturar" in spanish
    assert "Datos" in text(ana.get(base(used) + "/disponible"))


def test_the_rankings_draw_svg_charts_with_the_same_figures_in_tables(app, used):
    ana = signed_in_client(app, "ana@acme.es")
    page = text(ana.get(base(used) + "/ranking"))
    assert page.count('<svg class="chart"') == 4 and "<script" not in page.split("<main", 1)[1]
    calls = page.split('id="top-calls"', 1)[1].split("</table>", 1)[0]
    assert calls.index(format_phone(used.numbers[0])) < calls.index(format_phone(used.numbers[1]))
    assert "3 min 01 s" in calls  # 151 + 30 s of the first line (billed or not), in the bar and the table
    spend = page.split('id="by-centre"', 1)[1]
    assert "No cost centre" in spend and "€0.41" in spend  # 25 + 9 + 7 cents


def test_allowance_bars_show_what_is_left_and_mark_lines_near_or_over(app, acme):
    with app.app_context():
        session = get_session()
        with operator_scope(session, "test"):
            for line_id, gb in zip(acme.lines, (Decimal(10), Decimal(1), None), strict=True):
                tariff = session.scalar(select(Line.tariff_id).where(Line.id == line_id))
                session.execute(
                    update(Tariff).where(Tariff.id == tariff).values(data_gb=gb, voice_minutes=100)
                )
        session.commit()
    with app.app_context():
        session = get_session()
        set_tenant(session, acme.id)
        bundle = Bundle(code="EXTRA1", name="Extra 1 GB", data_gb=Decimal(1), monthly_fee_eur=Decimal(5))
        session.add(bundle)
        session.flush()
        today = NOW.date()
        for starts, ends in (
            (today - timedelta(days=400), None),
            (today - timedelta(days=500), today - timedelta(days=300)),
        ):
            session.add(
                LineBundle(
                    tenant_id=acme.id,
                    line_id=acme.lines[2],
                    bundle_id=bundle.id,
                    starts_on=starts,
                    ends_on=ends,
                )
            )
        session.commit()
    first, second = acme.lines[0], acme.lines[1]
    add_usage(
        app,
        acme,
        [
            record(acme.lines[2], ago(minutes=5), "data", bytes=25 * 10**7),  # 0.25 of the bundle's 1 GB
            record(first, ago(minutes=5), "data", bytes=85 * 10**8),  # 8.5 of 10 GB: near
            record(second, ago(minutes=5), "data", bytes=15 * 10**8),  # 1.5 of 1 GB: over
        ],
    )
    ana = signed_in_client(app, "ana@acme.es")
    page = text(ana.get(base(acme) + "/disponible"))
    rows = re.findall(r"<tr( class=\"[^\"]*\")?>\s*<th scope=\"row\">(.*?)</tr>", page, re.S)
    assert [format_phone(n) in row[1] for n, row in zip(acme.numbers, rows, strict=True)] == [True] * 3
    assert rows[1][0] == ' class="allowance-over"' and "Over the allowance" in rows[1][1]  # by number
    assert rows[0][0] == ' class="allowance-near"' and "Near the allowance" in rows[0][1]
    assert "85%" in rows[0][1] and "1.50 GB left" in rows[0][1]
    assert not rows[2][0] and "allowance" not in rows[2][1].split("<td>", 1)[0]  # 25 %: not marked
    assert re.search(r'<meter [^>]*value="85" aria-labelledby="line-' + str(first), page)
    line = text(ana.get(f"{base(acme)}/lineas/{first}"))
    assert "Allowance left in this cycle" in line and "1.50 GB left" in line
    bundled = text(ana.get(f"{base(acme)}/lineas/{acme.lines[2]}"))  # only the bundle still active counts
    assert "250.0 MB used of 1.00 GB (25%)" in bundled
    lines = text(ana.get(f"/empresa/{acme.ref}/lineas"))
    marked = re.findall(r'class="badge badge-(\w+)">(.*?)</a>', lines)
    assert marked == [("near", "Near the allowance (85%)"), ("off", "Over the allowance (150%)")]


def test_a_pooled_line_shows_its_pools_allowance(app, acme):
    with app.app_context():
        session = get_session()
        set_tenant(session, acme.id)
        pool = UsagePool(tenant_id=acme.id, name="Ventas", data_gb=Decimal(2), voice_minutes=None)
        session.add(pool)
        session.flush()
        session.execute(update(Line).where(Line.id.in_(acme.lines[:2])).values(pool_id=pool.id))
        session.commit()
    add_usage(
        app,
        acme,
        [
            record(line, ago(minutes=5), "data", bytes=9 * 10**8) for line in acme.lines
        ],  # 1.8 of the pool's 2 GB
    )
    ana = signed_in_client(app, "ana@acme.es")
    line = text(ana.get(f"{base(acme)}/lineas/{acme.lines[0]}"))
    assert "shares the allowance of the pool Ventas" in line and "1.80 GB used of 2.00 GB (90%)" in line
    page = text(ana.get(f"{base(acme)}/disponible"))
    pools = page.split("Shared pools", 1)[1].split('id="lines-heading"', 1)[0]
    assert "Ventas" in pools and "2 lines" in pools and "200.0 MB left" in pools
    assert page.count("Near the allowance") == 2  # both lines of the pool, by the pool's share


def test_a_company_with_two_cycle_days_shows_each_line_in_its_own_cycle(app, acme):
    """Billing accounts that start their cycles on the 1st and on the 28th: each line's bar resets on its own
    account's day and its page defaults to its own cycle; the company's page holds both cycles."""
    today = datetime.now(MADRID).date()
    first, second = acme.lines[0], acme.lines[1]
    with app.app_context():
        session = get_session()
        set_tenant(session, acme.id)
        for line_id, day in ((first, 1), (second, 28)):
            line = session.get(Line, line_id)
            line.billing_account.cycle_day = day
        session.commit()
    add_usage(app, acme, [record(line, ago(minutes=5), "data", bytes=10**9) for line in (first, second)])
    cycles = {first: cycle_for(1, today), second: cycle_for(28, today)}
    ana = signed_in_client(app, "ana@acme.es")
    page = text(ana.get(base(acme) + "/disponible"))
    for line, cycle in cycles.items():  # (the portal's English writes days as 31/12/2026)
        row = page.split(f'id="line-{line}-data-text"', 1)[1].split("</tr>", 1)[0]
        assert f"<td>{cycle.resets_on:%d/%m/%Y}</td>" in row, (line, row)
    for line, cycle in cycles.items():
        own = text(ana.get(f"{base(acme)}/lineas/{line}"))
        assert f'name="from" type="date" value="{cycle.start}"' in own
        assert f'name="to" type="date" value="{cycle.end}"' in own
    company = text(ana.get(base(acme)))
    start, end = min(c.start for c in cycles.values()), max(c.end for c in cycles.values())
    assert f'name="from" type="date" value="{start}"' in company
    assert f'name="to" type="date" value="{end}"' in company
    assert len(rows_of(company)) == 2

"""The lines page: search, filters, sort, pages, labels and assignment, CSV bulk changes, exports, and members
limited to some lines, who see only those everywhere."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from urllib.parse import parse_qsl, unquote, urlsplit

from sqlalchemy import event

from mgd.db import database, get_session, set_tenant
from mgd.identifiers import format_phone
from mgd.tenants.models import Line
from tests.accounts import add_member
from tests.factories import make_line
from tests.kit import audit, confirm, signed_in_client, text, token


def label(app, company, line_id, **values):
    with app.app_context():
        session = get_session()
        set_tenant(session, company.id)
        line = session.get(Line, line_id)
        for name, value in values.items():
            setattr(line, name, value)
        session.commit()


def test_search_by_number_alias_user_or_cost_centre(app, acme):
    label(app, acme, acme.lines[0], alias="Reception", cost_centre="MAD-01")
    label(app, acme, acme.lines[1], alias="Warehouse", cost_centre="BCN-02")
    carla = signed_in_client(app, "carla@acme.es")
    url = f"/empresa/{acme.ref}/lineas"

    def shown(**query):
        page = text(carla.get(url, query_string=query))
        return [n for n in acme.numbers if format_phone(n) in page]

    assert shown() == acme.numbers
    assert shown(q="recep") == [acme.numbers[0]]
    assert shown(q="bcn") == [acme.numbers[1]]
    assert shown(q=format_phone(acme.numbers[2])) == [acme.numbers[2]]
    assert shown(q="nothing-like-this") == []


def test_filters_sort_and_pages(app, acme):
    with app.app_context():
        session = get_session()
        from mgd.tenants.models import Company  # noqa: PLC0415

        company = session.get(Company, acme.id)
        set_tenant(session, acme.id)
        for _ in range(60):
            make_line(session, company, kind="fixed")
        session.commit()
    carla = signed_in_client(app, "carla@acme.es")
    url = f"/empresa/{acme.ref}/lineas"
    first = text(carla.get(url, query_string={"kind": "fixed"}))
    assert "60 lines" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert not any(format_phone(n) in first for n in acme.numbers)  # those three are mobile
    mobile_sorted = text(carla.get(url, query_string={"kind": "mobile", "sort": "-number"}))
    positions = [mobile_sorted.index(format_phone(n)) for n in sorted(acme.numbers, reverse=True)]
    assert positions == sorted(positions)
    assert "No line matches" in text(carla.get(url, query_string={"status": "cancelled"}))
    assert carla.get(url, query_string={"sort": "drop table", "kind": "x", "page": "-3"}).status_code == 200
    for cursor in ('["x"', "[1]", '["+34600000000", 2, 3]', "[null]", '{"a": 1}', "9" * 2000):
        page = text(carla.get(url, query_string={"kind": "fixed", "after": cursor, "before": cursor}))
        assert "60 lines" in page and 'rel="prev"' not in page  # not a position: the first page


def test_pages_after_the_first_show_its_count_without_counting_again(app, acme):
    """The first page counts the list (up to the limit); its links carry that count, so that a deeper page
    reads only its own rows; a position typed without a count counts again."""
    with app.app_context():
        session = get_session()
        from mgd.tenants.models import Company  # noqa: PLC0415

        company = session.get(Company, acme.id)
        set_tenant(session, acme.id)
        for _ in range(120):
            make_line(session, company, kind="fixed")
        session.commit()
    carla = signed_in_client(app, "carla@acme.es")
    url = f"/empresa/{acme.ref}/lineas"
    engine, seen = database(app).engine, []

    def statement(_connection, _cursor, sql, *_args) -> None:
        seen.append(sql.lower())

    first = text(carla.get(url, query_string={"kind": "fixed"}))
    assert "120 lines" in first
    link = re.search(r'<a href="([^"]+)" rel="next">', first).group(1).replace("&amp;", "&")
    event.listen(engine, "before_cursor_execute", statement)
    try:
        second = text(carla.get(link))
        assert "120 lines" in second and 'rel="next"' in second and 'rel="prev"' in second
        assert not any("count(" in sql and "from lines" in sql for sql in seen), seen
        last = text(
            carla.get(re.search(r'<a href="([^"]+)" rel="next">', second).group(1).replace("&amp;", "&"))
        )
        assert "120 lines" in last and 'rel="next"' not in last
        back = re.search(r'<a href="([^"]+)" rel="prev">', last).group(1).replace("&amp;", "&")
        assert "120 lines" in text(carla.get(back))
        assert not any("count(" in sql and "from lines" in sql for sql in seen), seen
        position = json.loads(unquote(re.search(r"after=([^&]+)", link).group(1)))[:-1]
        assert "120 lines" in text(
            carla.get(url, query_string={"kind": "fixed", "after": json.dumps(position)})
        )
        assert any("count(" in sql and "from lines" in sql for sql in seen)  # no count carried: counted
    finally:
        event.remove(engine, "before_cursor_execute", statement)


def _walk(client, url: str, query: dict, links: list | None = None) -> list[list[str]]:
    """The line numbers of every page of a list, following its "next" links from the first page, then its
    "previous" links back, which must give the same pages; every link followed is added to ``links``."""
    pages, html, links = [], text(client.get(url, query_string=query)), [] if links is None else links
    while True:
        pages.append(re.findall(r'/lineas/\d+">([^<]+)</a>', html))
        found = re.search(r'<a href="([^"]+)" rel="next">', html)
        if not found:
            break
        links.append(found.group(1))
        html = text(client.get(found.group(1).replace("&amp;", "&")))
    back = [pages[-1]]
    while found := re.search(r'<a href="([^"]+)" rel="prev">', html):
        links.append(found.group(1))
        html = text(client.get(found.group(1).replace("&amp;", "&")))
        back.append(re.findall(r'/lineas/\d+">([^<]+)</a>', html))
    assert back[::-1] == pages
    return pages


def test_every_sort_walks_every_line_once_in_order_both_ways(app, acme):
    """Keyset pages: next and previous links by the sort's own key (empty labels first going up), whatever
    the sort, the direction and the filters; no line skipped or shown twice."""
    with app.app_context():
        session = get_session()
        from mgd.tenants.models import Company  # noqa: PLC0415

        company = session.get(Company, acme.id)
        set_tenant(session, acme.id)
        for n in range(110):
            line = make_line(session, company, kind="fixed")
            line.alias = None if n % 3 == 0 else f"alias {n % 7}"  # repeated values and empty ones
            line.cost_centre = None if n % 4 == 0 else f"cc-{n % 5}"
        session.commit()
        lines = {format_phone(line.number): line for line in session.query(Line).filter_by(kind="fixed")}
    carla = signed_in_client(app, "carla@acme.es")
    url = f"/empresa/{acme.ref}/lineas"
    for sort, key in (
        ("number", lambda line: (line.number,)),
        ("alias", lambda line: (line.alias or "", line.id)),
        ("cost_centre", lambda line: (line.cost_centre or "", line.id)),
        ("status", lambda line: (line.status, line.id)),
    ):
        for descending in (False, True):
            pages = _walk(carla, url, {"kind": "fixed", "sort": ("-" if descending else "") + sort})
            assert [len(page) for page in pages] == [50, 50, 10], sort
            shown = [number for page in pages for number in page]
            expected = sorted(lines, key=lambda number: key(lines[number]), reverse=descending)
            assert shown == expected, (sort, descending)


def test_every_filter_and_sort_keeps_its_filter_in_the_links_and_pages_on(app, acme):
    """Whatever the filter and the sort, a list longer than a page has a "next" link, and every "next" and
    "previous" link keeps the filter: the walk shows exactly the filtered lines, each once."""
    with app.app_context():
        session = get_session()
        from mgd.tenants.models import Company  # noqa: PLC0415

        company = session.get(Company, acme.id)
        set_tenant(session, acme.id)
        mobile = [make_line(session, company, kind="mobile") for _ in range(57)]
        fixed = [make_line(session, company, kind="fixed") for _ in range(55)]
        for n, line in enumerate(mobile + fixed):
            line.alias = None if n % 3 == 0 else f"Sede {n % 7}"
            line.cost_centre = None if n % 4 == 0 else f"cc-{n % 5}"
            line.tariff_id = mobile[0].tariff_id if line.kind == "mobile" else fixed[0].tariff_id
        fixed[0].status = "suspended"
        session.commit()
        everything = list(session.query(Line))
        tariff = mobile[0].tariff_id
    carla = signed_in_client(app, "carla@acme.es")
    url = f"/empresa/{acme.ref}/lineas"
    filters = {
        "kind=mobile": ({"kind": "mobile"}, lambda line: line.kind == "mobile"),
        "kind=fixed": ({"kind": "fixed"}, lambda line: line.kind == "fixed"),
        "product=mobile": ({"product": "mobile"}, lambda line: line.product == "mobile"),
        "status=active": ({"status": "active"}, lambda line: line.status == "active"),
        "tariff": ({"tariff": str(tariff)}, lambda line: line.tariff_id == tariff),
        "q=sede": ({"q": "sede"}, lambda line: line.alias is not None),
        "kind and status": (
            {"kind": "fixed", "status": "active"},
            lambda line: line.kind == "fixed" and line.status == "active",
        ),
    }
    for name, (query, keep) in filters.items():
        expected = sorted(format_phone(line.number) for line in everything if keep(line))
        assert len(expected) > 50, name
        for sort in ("number", "alias", "cost_centre", "kind", "status", "tariff"):
            for direction in ("", "-"):
                asked = {**query, "sort": direction + sort}
                first = text(carla.get(url, query_string=asked))
                links = re.findall(r'<a href="([^"]+)" rel="(?:next|prev)">', first)
                assert links, (name, asked)  # more lines than a page: a "next" link
                pages = _walk(carla, url, asked, links=links)
                assert sorted(n for page in pages for n in page) == expected, (name, asked)
                for link in links:
                    args = dict(parse_qsl(urlsplit(link.replace("&amp;", "&")).query))
                    assert {k: v for k, v in args.items() if k not in ("after", "before", "n")} == asked


def test_a_manager_labels_and_assigns_a_line_a_viewer_cannot(app, acme):
    line_url = f"/empresa/{acme.ref}/lineas/{acme.lines[0]}"
    carla = signed_in_client(app, "carla@acme.es")
    assert '<form method="post" novalidate>' not in text(carla.get(line_url))
    refused = carla.post(line_url, data={"alias": "Mine", "csrf_token": token(carla)})
    assert refused.status_code == 403
    bob = signed_in_client(app, "bob@acme.es")
    response = bob.post(
        line_url, data={"alias": "Sales", "cost_centre": "MAD-01", "user_id": "", "csrf_token": token(bob)}
    )
    assert response.status_code == 302
    assert "Sales" in text(bob.get(f"/empresa/{acme.ref}/lineas"))
    [event] = audit(app, "line.updated")
    assert event.detail == {"line": acme.numbers[0], "alias": "Sales", "cost_centre": "MAD-01"}
    too_long = bob.post(line_url, data={"alias": "x" * 61, "csrf_token": token(bob)})
    assert too_long.status_code == 422 and "60" in text(too_long)
    stranger = bob.post(line_url, data={"user_id": "999999", "csrf_token": token(bob)})
    assert stranger.status_code == 422


def test_a_limited_member_sees_only_their_lines_everywhere(app, acme):
    label(app, acme, acme.lines[2], cost_centre="BCN-02")
    ana = signed_in_client(app, "ana@acme.es")
    carla_id = acme.members["carla@acme.es"]
    confirm(
        ana,
        f"/empresa/{acme.ref}/usuarios/{carla_id}/limit",
        {"numbers": format_phone(acme.numbers[0]), "cost_centres": "BCN-02"},
    )
    carla = signed_in_client(app, "carla@acme.es")
    page = text(carla.get(f"/empresa/{acme.ref}/lineas"))
    assert format_phone(acme.numbers[0]) in page and format_phone(acme.numbers[2]) in page
    assert format_phone(acme.numbers[1]) not in page
    assert carla.get(f"/empresa/{acme.ref}/lineas/{acme.lines[1]}").status_code == 404
    assert carla.get(f"/empresa/{acme.ref}/lineas/{acme.lines[0]}").status_code == 200
    exported = text(carla.get(f"/empresa/{acme.ref}/lineas/exportar.csv"))
    assert format_phone(acme.numbers[1]) not in exported and format_phone(acme.numbers[0]) in exported
    summary = text(carla.get(f"/empresa/{acme.ref}"))
    assert "<dd>2</dd>" in summary  # two mobile lines out of three


def test_limits_name_numbers_that_are_not_the_companys(app, acme, beta):
    ana = signed_in_client(app, "ana@acme.es")
    url = f"/empresa/{acme.ref}/usuarios/{acme.members['carla@acme.es']}/limit"
    response = confirm(ana, url, {"numbers": format_phone(beta.numbers[0]), "cost_centres": ""})
    page = text(response)  # the page again, with what was typed: nothing to type twice
    assert response.status_code == 422 and "not lines of the company" in page
    assert re.search(rf">\s*{format_phone(beta.numbers[0])}</textarea>", page)
    not_a_number = ana.post(url, data={"numbers": "hello", "csrf_token": token(ana)})
    assert not_a_number.status_code == 422 and "not phone numbers: hello" in text(not_a_number)


def assign_upload(client, company, content):
    data = {"file": (io.BytesIO(content.encode()), "lines.csv"), "csrf_token": token(client)}
    return client.post(
        f"/empresa/{company.ref}/lineas/asignar", data=data, content_type="multipart/form-data"
    )


def test_bulk_assignment_previews_problems_then_applies_all_rows(app, acme, beta):
    bob = signed_in_client(app, "bob@acme.es")
    bad = (
        "number,alias,cost centre,user email\n"
        f"{acme.numbers[0]},Reception,MAD-01,carla@acme.es\n"
        f"{beta.numbers[0]},Theirs,,\n"
        "12,Short,,\n"
        f"{acme.numbers[1]},Nobody,,ghost@acme.es\n"
    )
    response = assign_upload(bob, acme, bad)
    page = text(response)
    assert response.status_code == 422
    assert "not one of the company&#39;s lines" in page or "not one of the company's lines" in page
    assert "not a phone number" in page and "active member" in page
    assert "Reception" not in text(bob.get(f"/empresa/{acme.ref}/lineas"))
    good = f"{acme.numbers[0]},Reception,MAD-01,carla@acme.es\n{acme.numbers[1]},Store,,\n"
    assert "Every row is correct" in text(assign_upload(bob, acme, good))
    response = bob.post(
        f"/empresa/{acme.ref}/lineas/asignar",
        data={"content": good, "apply": "yes", "csrf_token": token(bob)},
    )
    assert response.status_code == 302
    listing = text(bob.get(f"/empresa/{acme.ref}/lineas"))
    assert "Reception" in listing and "Store" in listing and "Carla Pérez" in listing
    assert [e.detail for e in audit(app, "lines.bulk_assigned")] == [{"lines": 2}]


def test_exports_follow_the_filters_as_csv_and_excel(app, acme):
    label(app, acme, acme.lines[0], alias="Reception")
    carla = signed_in_client(app, "carla@acme.es")
    response = carla.get(f"/empresa/{acme.ref}/lineas/exportar.csv", query_string={"q": "recep"})
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["Number", "Kind"]
    assert [row[0] for row in rows[1:]] == [format_phone(acme.numbers[0])]
    workbook = carla.get(f"/empresa/{acme.ref}/lineas/exportar.xlsx")
    assert workbook.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    with zipfile.ZipFile(io.BytesIO(workbook.get_data())) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
        strings = (
            archive.read("xl/sharedStrings.xml").decode()
            if "xl/sharedStrings.xml" in archive.namelist()
            else ""
        )
    assert all(format_phone(n) in sheet + strings for n in acme.numbers)


def test_roles_without_line_editing_cannot_bulk_assign(app, acme):
    add_member(app, acme, "fina@acme.es", "billing")
    fina = signed_in_client(app, "fina@acme.es")
    assert fina.get(f"/empresa/{acme.ref}/lineas").status_code == 200
    assert fina.get(f"/empresa/{acme.ref}/lineas/asignar").status_code == 403


def test_a_file_too_large_or_not_text_is_refused_whole(app, acme):
    bob = signed_in_client(app, "bob@acme.es")
    big = f"{acme.numbers[0]},{'x' * 50},,\n" * 9000  # over 500 KB: refused, not cut
    response = assign_upload(bob, acme, big)
    assert response.status_code == 422 and "larger than 500 KB" in text(response)
    data = {"file": (io.BytesIO(b"\x81\x8d\x8f\x90\x9d"), "lines.csv"), "csrf_token": token(bob)}
    response = bob.post(f"/empresa/{acme.ref}/lineas/asignar", data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and "not text" in text(response)


def test_a_spreadsheet_csv_in_windows_1252_is_read(app, acme):
    bob = signed_in_client(app, "bob@acme.es")
    content = f"{acme.numbers[0]},Almacén Logroño,,\n".encode("cp1252")
    data = {"file": (io.BytesIO(content), "lines.csv"), "csrf_token": token(bob)}
    response = bob.post(f"/empresa/{acme.ref}/lineas/asignar", data=data, content_type="multipart/form-data")
    assert response.status_code == 200 and "Almacén Logroño" in text(response)


def test_exports_never_hand_a_spreadsheet_a_formula(app, acme):
    label(app, acme, acme.lines[0], alias='=HYPERLINK("http://evil.example","x")')
    carla = signed_in_client(app, "carla@acme.es")
    rows = list(
        csv.reader(io.StringIO(text(carla.get(f"/empresa/{acme.ref}/lineas/exportar.csv")).lstrip("\ufeff")))
    )
    assert '\'=HYPERLINK("http://evil.example","x")' in [row[5] for row in rows]
    workbook = carla.get(f"/empresa/{acme.ref}/lineas/exportar.xlsx")
    with zipfile.ZipFile(io.BytesIO(workbook.get_data())) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # written as text, not as a formula


def test_numbers_typed_in_other_digits_search_the_same_lines(app, acme):
    carla = signed_in_client(app, "carla@acme.es")
    url = f"/empresa/{acme.ref}/lineas"
    wanted = acme.numbers[2]
    fullwidth = "".join(chr(ord("０") + int(d)) for d in wanted[3:])
    arabic = "".join(chr(ord("٠") + int(d)) for d in wanted[3:])
    for typed in (fullwidth, arabic):
        page = text(carla.get(url, query_string={"q": typed}))
        assert [n for n in acme.numbers if format_phone(n) in page] == [wanted], typed


def test_page_and_tariff_numbers_in_other_digits_are_ignored(app, acme):
    carla = signed_in_client(app, "carla@acme.es")
    for query in ({"page": "²"}, {"page": "٣"}, {"tariff": "²"}, {"tariff": "١"}):
        assert carla.get(f"/empresa/{acme.ref}/lineas", query_string=query).status_code == 200, query

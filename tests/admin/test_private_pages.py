"""Pages of a signed-in member: never kept by caches; the static files they use need no session or database."""

from __future__ import annotations

import gzip
import re

from sqlalchemy import event

from mgd.db import database
from tests.kit import signed_in_client
from tests.test_web import STATIC


def count_queries(app):
    statements = []
    event.listen(database(app).engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    return statements


def test_static_files_are_cached_compressed_and_need_no_session_or_database(app, acme):
    client = signed_in_client(app, "ana@acme.es")
    page = client.get(f"/empresa/{acme.ref}").get_data(as_text=True)
    css = re.search(r'href="(/static/css/mgd\.css\?v=[0-9a-f]{12})"', page).group(1)
    statements = count_queries(app)
    response = client.get(css, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and statements == []
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "max-age=31536000, public"
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert gzip.decompress(response.get_data()) == (STATIC / "css" / "mgd.css").read_bytes()


def test_signed_in_pages_and_downloads_are_not_cached_public_pages_may_be(app, acme):
    client = signed_in_client(app, "ana@acme.es")
    for path in (f"/empresa/{acme.ref}", f"/empresa/{acme.ref}/lineas", "/mi-area"):
        response = client.get(path)
        assert response.status_code in (200, 302), path
        assert response.headers["Cache-Control"] == "no-store", path
    for export in ("csv", "xlsx"):
        response = client.get(f"/empresa/{acme.ref}/lineas/exportar.{export}")
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["Cache-Control"] == "no-store"
        response.close()  # the export streams: closing it ends its request context
    anonymous = app.test_client()
    assert "no-store" not in anonymous.get("/").headers.get("Cache-Control", "")

"""The PUK lookup (a fresh password, audited, never cached nor sent) and the files attached to an enquiry
(PDF, PNG or JPEG up to 5 MB by their bytes, outside the web root, for the company's members who see orders
and for staff)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from mgd import attachments
from mgd.db import get_session, set_tenant
from mgd.orders.models import OrderAttachment
from mgd.tenants.models import Line
from tests.accounts import add_member, age_session, user_id_of
from tests.kit import audit, outbox, post, signed_in_client, stored_text, text, token
from tests.orders.kit import advisor, order_id, place

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PASSWORD = "correct horse battery staple"


def give_puk(app, company_id: int, line_id: int, puk: str = "12345678") -> None:
    with app.app_context():
        session = get_session()
        set_tenant(session, company_id)
        session.execute(update(Line).where(Line.id == line_id).values(puk=puk))
        session.commit()


def test_the_puk_is_shown_after_a_fresh_sign_in_audited_and_not_stored_by_the_browser(app, acme):
    give_puk(app, acme.id, acme.lines[0], "12345678")
    with app.app_context():
        raw = stored_text(app, "lines", acme.lines[0])
    assert "12345678" not in raw  # encrypted at rest
    ana = signed_in_client(app, "ana@acme.es")
    url = f"/empresa/{acme.ref}/pedidos/puk"
    assert ana.get(url).status_code == 200
    shown = ana.post(url, data={"line": acme.numbers[0], "csrf_token": token(ana)})
    assert shown.status_code == 200 and "12345678" in text(shown)
    assert shown.headers["Cache-Control"] == "no-store"
    events = audit(app, "line.puk_viewed")
    assert len(events) == 1 and events[0].detail["line"] == acme.numbers[0]
    assert events[0].user_id == user_id_of(app, "ana@acme.es") and events[0].tenant_id == acme.id
    assert "12345678" not in str(events[0].detail)
    assert not any("12345678" in (m.body_text or "") for m in outbox(app))


def test_a_stale_sign_in_confirms_the_password_before_the_puk(app, acme):
    give_puk(app, acme.id, acme.lines[0])
    ana = signed_in_client(app, "ana@acme.es")
    age_session(app, user_id_of(app, "ana@acme.es"), reauthenticated_at=timedelta(minutes=11))
    url = f"/empresa/{acme.ref}/pedidos/puk"
    asked = ana.post(url, data={"line": acme.numbers[0], "csrf_token": token(ana)})
    assert asked.status_code == 302 and asked.headers["Location"].startswith("/reautenticar")
    assert "12345678" not in text(asked) and audit(app, "line.puk_viewed") == []


def test_the_puk_refuses_a_bad_number_another_companys_line_and_members_who_do_not_order(app, acme, beta):
    ana = signed_in_client(app, "ana@acme.es")
    url = f"/empresa/{acme.ref}/pedidos/puk"
    bad = ana.post(url, data={"line": "12", "csrf_token": token(ana)})
    assert bad.status_code == 422 and "This is not a Spanish fixed or mobile number." in text(bad)
    assert ana.post(url, data={"line": beta.numbers[0], "csrf_token": token(ana)}).status_code == 404
    carla = signed_in_client(app, "carla@acme.es")  # a viewer
    assert carla.get(url).status_code == 403
    assert carla.post(url, data={"line": acme.numbers[0], "csrf_token": token(carla)}).status_code == 403
    assert audit(app, "line.puk_viewed") == []


def enquiry(app, acme, client) -> int:
    made = place(client, acme.ref, "consulta", {"subject": "Factura", "text": "Adjunto la factura"})
    return order_id(made)


def upload(client, url: str, content: bytes, name: str, mimetype: str = "application/pdf"):
    data = {"file": (io.BytesIO(content), name, mimetype), "csrf_token": token(client)}
    return client.post(url, data=data, content_type="multipart/form-data")


def test_a_pdf_is_attached_to_an_enquiry_and_downloaded_by_members_and_staff(app, acme):
    add_member(app, acme, "bea@acme.es", "billing")
    ana = signed_in_client(app, "ana@acme.es")
    number = enquiry(app, acme, ana)
    base = f"/empresa/{acme.ref}/pedidos/{number}"
    done = upload(ana, f"{base}/adjuntos", PDF, "../../factura marzo.PDF", "text/plain")
    assert done.status_code == 302
    page = text(ana.get(base))
    assert "factura marzo.pdf" in page
    with app.app_context():
        session = get_session()
        set_tenant(session, acme.id)
        row = session.scalar(select(OrderAttachment))
    assert row.content_type == "application/pdf" and row.size == len(PDF)
    with app.app_context():
        stored = attachments.path_of("orders", acme.id, row.storage_key)
    assert stored.read_bytes() == PDF and Path(app.instance_path) in stored.parents
    assert Path(app.static_folder) not in stored.parents
    got = ana.get(f"{base}/adjuntos/{row.id}")
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    bea = signed_in_client(app, "bea@acme.es")  # billing: sees orders
    assert bea.get(f"{base}/adjuntos/{row.id}").data == PDF
    assert upload(bea, f"{base}/adjuntos", PNG, "x.png").status_code == 403  # but does not order
    carla = signed_in_client(app, "carla@acme.es")  # a viewer sees no orders
    assert carla.get(f"{base}/adjuntos/{row.id}").status_code == 403
    desk = advisor(app)
    assert desk.get(f"/backoffice/pedidos/{number}/adjuntos/{row.id}").data == PDF
    assert "factura marzo.pdf" in text(desk.get(f"/backoffice/pedidos/{number}"))
    assert desk.get(f"/backoffice/pedidos/{number}/adjuntos/{row.id + 1}").status_code == 404


def test_files_are_refused_by_their_bytes_and_size_naming_the_field(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    number = enquiry(app, acme, ana)
    url = f"/empresa/{acme.ref}/pedidos/{number}/adjuntos"
    fake = upload(ana, url, b"MZ\x90\x00 not a pdf at all", "invoice.pdf", "application/pdf")
    assert fake.status_code == 422 and "Only PDF, PNG or JPEG files" in text(fake)
    assert "File (PDF, PNG or JPEG, up to 5 MB)" in text(fake)
    big = upload(ana, url, PDF + b"0" * attachments.MAX_BYTES, "big.pdf")
    assert big.status_code == 422 and "larger than 5 MB" in text(big)
    empty = upload(ana, url, b"", "empty.pdf")
    assert empty.status_code == 422
    none = ana.post(url, data={"csrf_token": token(ana)}, content_type="multipart/form-data")
    assert none.status_code == 422 and "Choose a file." in text(none)
    folder = Path(app.instance_path) / "attachments" / "orders" / str(acme.id)
    before = set(folder.iterdir()) if folder.exists() else set()
    for n in range(5):
        assert upload(ana, url, PNG, f"foto{n}.png", "image/png").status_code == 302
    assert upload(ana, url, PNG, "sexta.png", "image/png").status_code == 409
    with app.app_context():
        session = get_session()
        set_tenant(session, acme.id)
        assert len(session.scalars(select(OrderAttachment)).all()) == 5
    assert len(set(folder.iterdir()) - before) == 5  # the refused ones left nothing behind


def test_only_an_open_enquiry_takes_files(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    made = place(ana, acme.ref, "buzon-voz", {"line": acme.numbers[0]})
    url = f"/empresa/{acme.ref}/pedidos/{order_id(made)}/adjuntos"
    assert upload(ana, url, PDF, "a.pdf").status_code == 409
    number = enquiry(app, acme, ana)
    assert (
        post(ana, f"/empresa/{acme.ref}/pedidos/{number}/cancelar", {"confirmed": "yes"}).status_code == 302
    )
    assert upload(ana, f"/empresa/{acme.ref}/pedidos/{number}/adjuntos", PDF, "a.pdf").status_code == 409


def test_the_attachment_module_sniffs_and_names_safely():
    assert attachments.sniff(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert attachments.sniff(b"GIF89a") is None
    assert attachments.safe_filename('C:\\x\\<evil>"name.exe', "image/png") == "evilname.png"
    assert attachments.safe_filename("", "application/pdf") == "file.pdf"

"""Files in the help chat (``mgd.attachments``): the customer and the advisor send PDF, PNG or JPEG files up to
5 MB (their type told by their bytes) in an open conversation; at most ten per conversation (the table's slot
check and unique key, the conversation's row locked); downloaded by the company's members who may read the
transcript and by staff; another member's, or another company's, file is a 404."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from mgd import attachments
from mgd.chat import services
from mgd.chat.models import ChatAttachment, Conversation
from mgd.db import get_session, set_tenant, utcnow
from tests.chat.kit import conversation, open_chat
from tests.chat.test_flow import at_desk
from tests.kit import outbox, post, signed_in_client, speak, text, token

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def upload(
    client, url: str, content: bytes, name: str, mimetype: str = "application/pdf", *, prefix: str = ""
):
    data = {f"{prefix}file": (io.BytesIO(content), name, mimetype), "csrf_token": token(client)}
    return client.post(url, data=data, content_type="multipart/form-data")


def files(app, company_id: int) -> list[ChatAttachment]:
    with app.app_context():
        session = get_session()
        set_tenant(session, company_id)
        rows = list(session.scalars(select(ChatAttachment).order_by(ChatAttachment.id)))
        session.expunge_all()
        return rows


def test_customer_and_advisor_send_files_both_download_them(app, acme, chat_open):
    desk = at_desk(app)
    ana = signed_in_client(app, "ana@acme.es")
    number = open_chat(ana, acme.ref)
    base = f"/empresa/{acme.ref}/chat/{number}"
    page = text(ana.get(base))
    assert 'enctype="multipart/form-data"' in page and "File (PDF, PNG or JPEG, up to 5 MB)" in page
    sent = upload(ana, f"{base}/adjuntos", PDF, "../../factura marzo.PDF", "text/plain")
    assert sent.status_code == 302, text(sent)
    [row] = files(app, acme.id)
    assert (row.filename, row.content_type, row.size, row.slot) == (
        "factura marzo.pdf",
        "application/pdf",
        len(PDF),
        1,
    )
    with app.app_context():
        stored = attachments.path_of("chat", acme.id, row.storage_key)
    assert stored.read_bytes() == PDF and Path(app.instance_path) in stored.parents
    # the customer's page links it; the news carry its address
    assert f"{base}/adjuntos/{row.id}" in text(ana.get(base))
    news = ana.get(f"{base}/novedades?after=0").get_json()["messages"]
    assert news[-1]["file"] == f"{base}/adjuntos/{row.id}" and news[-1]["body"] == "factura marzo.pdf"
    got = ana.get(f"{base}/adjuntos/{row.id}")
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in got.headers["Cache-Control"]
    # the advisor: sees and downloads it, sends one back once the conversation is theirs
    staff = f"/backoffice/chat/{number}"
    assert desk.get(f"{staff}/adjuntos/{row.id}").data == PDF
    assert (
        upload(desk, f"{staff}/adjuntos", PNG, "pantalla.png", "image/png", prefix="file-").status_code == 409
    )
    assert desk.post(f"{staff}/take", data={"csrf_token": token(desk)}).status_code == 302
    assert f"{staff}/adjuntos/{row.id}" in text(desk.get(staff))
    back = upload(desk, f"{staff}/adjuntos", PNG, "pantalla.png", "image/png", prefix="file-")
    assert back.status_code == 302, text(back)
    theirs = files(app, acme.id)[-1]
    assert (theirs.filename, theirs.slot) == ("pantalla.png", 2)
    assert ana.get(f"{base}/adjuntos/{theirs.id}").data == PNG
    assert desk.get(f"{staff}/novedades?after=0").get_json()["messages"][-1]["file"] == (
        f"{staff}/adjuntos/{theirs.id}"
    )
    assert desk.get(f"{staff}/adjuntos/{theirs.id + 1}").status_code == 404
    assert ana.get(f"{base}/adjuntos/{theirs.id + 1}").status_code == 404


def test_who_downloads_a_conversations_file(app, acme, beta, chat_open):
    bob = signed_in_client(app, "bob@acme.es")
    number = open_chat(bob, acme.ref)
    url = f"/empresa/{acme.ref}/chat/{number}/adjuntos"
    assert upload(bob, url, PDF, "bob.pdf").status_code == 302
    [row] = files(app, acme.id)
    # the company's administrator reads the transcripts, so the files; another member does not (404)
    assert signed_in_client(app, "ana@acme.es").get(f"{url}/{row.id}").data == PDF
    carla = signed_in_client(app, "carla@acme.es")
    assert carla.get(f"{url}/{row.id}").status_code == 404
    assert upload(carla, url, PDF, "carla.pdf").status_code == 404
    # the administrator may read, not send, in Bob's conversation
    assert upload(signed_in_client(app, "ana@acme.es"), url, PDF, "ana.pdf").status_code == 403
    # another company: its member with Acme's ids, and with Beta's reference, is a 404
    dora = signed_in_client(app, "dora@beta.es")
    assert dora.get(f"/empresa/{beta.ref}/chat/{number}/adjuntos/{row.id}").status_code == 404
    assert dora.get(f"{url}/{row.id}").status_code in (403, 404)
    # signed out: no file
    assert app.test_client().get(f"{url}/{row.id}").status_code in (302, 401, 404)
    assert len(files(app, acme.id)) == 1


def test_files_are_refused_by_their_bytes_size_and_count_naming_the_field(app, acme, chat_open):
    ana = signed_in_client(app, "ana@acme.es")
    number = open_chat(ana, acme.ref)
    url = f"/empresa/{acme.ref}/chat/{number}/adjuntos"
    fake = upload(ana, url, b"MZ\x90\x00 not a pdf at all", "invoice.pdf")
    assert fake.status_code == 422 and "Only PDF, PNG or JPEG files" in text(fake)
    assert "File (PDF, PNG or JPEG, up to 5 MB)" in text(fake)
    big = upload(ana, url, PDF + b"0" * attachments.MAX_BYTES, "big.pdf")
    assert big.status_code == 422 and "larger than 5 MB" in text(big)
    none = ana.post(url, data={"csrf_token": token(ana)}, content_type="multipart/form-data")
    assert none.status_code == 422 and "Choose a file." in text(none)
    folder = Path(app.instance_path) / "attachments" / "chat" / str(acme.id)
    before = set(folder.iterdir()) if folder.exists() else set()
    for n in range(services.MAX_ATTACHMENTS):
        assert upload(ana, url, PNG, f"foto{n}.png", "image/png").status_code == 302
    over = upload(ana, url, PNG, "once.png", "image/png")
    assert over.status_code == 409 and "No more files can be sent in this conversation (10 at most)" in text(
        over
    )
    assert len(files(app, acme.id)) == services.MAX_ATTACHMENTS
    assert len(set(folder.iterdir()) - before) == services.MAX_ATTACHMENTS  # the refused one left nothing
    assert 'enctype="multipart/form-data"' not in text(ana.get(f"/empresa/{acme.ref}/chat/{number}"))


def test_the_database_refuses_an_eleventh_slot_or_a_repeated_one(app, acme, chat_open):
    ana = signed_in_client(app, "ana@acme.es")
    number = open_chat(ana, acme.ref)
    assert upload(ana, f"/empresa/{acme.ref}/chat/{number}/adjuntos", PDF, "a.pdf").status_code == 302
    [row] = files(app, acme.id)
    for slot in (1, 11):
        with app.app_context():
            session = get_session()
            set_tenant(session, acme.id)
            session.add(
                ChatAttachment(
                    tenant_id=acme.id,
                    conversation_id=number,
                    message_id=row.message_id,
                    slot=slot,
                    filename="x.pdf",
                    content_type="application/pdf",
                    size=1,
                    storage_key="k" * 30,
                )
            )
            with pytest.raises(IntegrityError):
                session.flush()
            session.rollback()


def test_a_closed_conversation_takes_no_file(app, acme, chat_open):
    ana = signed_in_client(app, "ana@acme.es")
    number = open_chat(ana, acme.ref)
    base = f"/empresa/{acme.ref}/chat/{number}"
    assert ana.post(f"{base}/cerrar", data={"csrf_token": token(ana), "confirmed": "yes"}).status_code == 302
    assert upload(ana, f"{base}/adjuntos", PDF, "late.pdf").status_code == 409
    assert files(app, acme.id) == []


def test_an_advisors_file_in_a_message_is_emailed_and_spanish_pages(app, acme, chat_closed):
    ana = speak(signed_in_client(app, "ana@acme.es"), "es")
    number = open_chat(ana, acme.ref)
    assert conversation(app, acme.id, number).mode == "message"
    page = text(ana.get(f"/empresa/{acme.ref}/chat/{number}"))
    assert "Fichero (PDF, PNG o JPEG, hasta 5 MB)" in page and "Enviar el fichero" in page
    refused = upload(ana, f"/empresa/{acme.ref}/chat/{number}/adjuntos", b"GIF89a", "x.gif", "image/gif")
    assert refused.status_code == 422 and "Solo se pueden adjuntar" in text(refused)
    desk = at_desk(app)
    staff = f"/backoffice/chat/{number}"
    assert desk.post(f"{staff}/take", data={"csrf_token": token(desk)}).status_code == 302
    before = len(outbox(app))
    assert upload(desk, f"{staff}/adjuntos", PDF, "presupuesto.pdf", prefix="file-").status_code == 302
    assert len(outbox(app)) == before + 1
    assert "Fichero: presupuesto.pdf" in text(ana.get(f"/empresa/{acme.ref}/chat/{number}"))


def test_the_retention_job_removes_the_files_bytes(app, acme, chat_open):
    from mgd.chat.tasks import purge_chats  # noqa: PLC0415

    ana = signed_in_client(app, "ana@acme.es")
    number = open_chat(ana, acme.ref)
    base = f"/empresa/{acme.ref}/chat/{number}"
    assert upload(ana, f"{base}/adjuntos", PDF, "a.pdf").status_code == 302
    [row] = files(app, acme.id)
    post(ana, f"{base}/cerrar", {"confirmed": "yes"})
    with app.app_context():
        session = get_session()
        set_tenant(session, acme.id)
        session.execute(
            update(Conversation)
            .where(Conversation.id == number)
            .values(closed_at=utcnow() - timedelta(days=800))
        )
        session.commit()
        path = attachments.path_of("chat", acme.id, row.storage_key)
        assert path.exists()
        purge_chats.fn()
        assert not path.exists()
    assert files(app, acme.id) == []

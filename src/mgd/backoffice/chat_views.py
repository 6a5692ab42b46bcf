"""The back office's chat desk under ``/backoffice/chat``: the queue of waiting conversations of every company
with their wait, the advisor's own conversations (several at once), one conversation with its company's
context (lines, open orders, recent registration refusals of its fiscal ID), where an advisor takes it,
answers (canned answers too), hands it on or closes it with a reason; the transcripts' search and the surveys'
results. Two advisors taking the same conversation: the first wins, the other is told (409). Each page the
desk opens marks the advisor online (``chat.services.mark_present``)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from mgd import attachments
from mgd.backoffice.access import staff_required
from mgd.chat import services, stream, visitors
from mgd.chat.forms import CloseForm, FileForm, ReplyForm, TransferForm
from mgd.chat.models import Conversation
from mgd.chat.words import id_arg, message_json, state_name, template_words
from mgd.db import get_session, utcnow
from mgd.security.models import User
from mgd.web.forms import ButtonForm

bp = Blueprint("backoffice_chat", __name__, url_prefix="/backoffice/chat")
ACTIONS = "any(take, reply, transfer, close)"
QUEUE = "queue"


@bp.context_processor
def _words() -> dict:
    return template_words() | {"now": utcnow()}


@bp.get("")
@staff_required
def desk() -> str:
    db = get_session()
    services.mark_present(db, current_user)
    return render_template(
        "backoffice/chat.html", desk=services.desk(db, current_user), visitors=visitors.desk(db, current_user)
    )


def _forms(db, conversation: Conversation) -> dict:
    transfer = TransferForm(prefix="transfer")
    transfer.to.choices = [SelectChoice(QUEUE, _("Back to the queue"))] + [
        SelectChoice(str(user.id), user.name) for user in services.advisors(db, current_user)
    ]
    return {
        "reply_form": ReplyForm(prefix="reply"),
        "transfer_form": transfer,
        "close_form": CloseForm(prefix="close"),
        "take_form": ButtonForm(),
        "file_form": FileForm(prefix="file", formdata=None),
    }


def _conversation_or_404(db, conversation_id: int) -> Conversation:
    conversation = services.staff_conversation(db, conversation_id)
    if conversation is None:
        abort(404)
    if (
        conversation.state == "waiting"
        and conversation.mode == "live"
        and services.left_waiting(db, conversation.id)
    ):
        db.refresh(conversation)  # left waiting too long, or the chat closed: now a message
    return conversation


def _page(db, conversation: Conversation, forms: dict, status: int = 200, message: str | None = None):
    files = services.conversation_files(db, conversation)
    return render_template(
        "backoffice/chat_conversation.html",
        conversation=conversation,
        messages=services.messages_after(db, conversation),
        files=files,
        can_attach=len(files) < services.MAX_ATTACHMENTS,
        context=services.company_context(db, conversation),
        message=message,
        **forms,
    ), status


@bp.get("/<int:conversation_id>")
@staff_required
def conversation(conversation_id: int) -> tuple[str, int]:
    db = get_session()
    services.mark_present(db, current_user)
    found = _conversation_or_404(db, conversation_id)
    return _page(db, found, _forms(db, found))


def _news(db, conversation: Conversation, after: int) -> dict:
    messages = services.messages_after(db, conversation, after)
    files = services.conversation_files(db, conversation) if messages else {}
    return {
        "state": conversation.state,
        "advisor": conversation.advisor.name if conversation.advisor else None,
        "messages": [message_json(m, conversation, _file_url(conversation, files, m.id)) for m in messages],
    }


@bp.get("/<int:conversation_id>/novedades")
@staff_required
def news(conversation_id: int) -> Response:
    db = get_session()
    services.mark_present(db, current_user)
    return jsonify(_news(db, _conversation_or_404(db, conversation_id), id_arg("after") or 0))


@bp.get("/<int:conversation_id>/espera")
@staff_required
def wait(conversation_id: int) -> Response:
    """The same news held until there is some (long poll, the stream process only: ``chat.stream``)."""
    db = get_session()
    services.mark_present(db, current_user)
    found = _conversation_or_404(db, conversation_id)
    after = id_arg("after") or 0
    reads = []

    def read() -> dict:
        if reads:
            db.expire(found)  # its state and advisor as committed since
        reads.append(1)
        return _news(db, found, after)

    news = stream.wait_for_news(
        stream.key(found.tenant_id, found.id),
        read,
        current_app.config["CHAT_WAIT_SECONDS"],
        release=db.commit,  # the presence mark; no connection held while waiting
    )
    return jsonify(news)


def _file_url(conversation: Conversation, files: dict, message_id: int) -> str | None:
    found = files.get(message_id)
    if found is None:
        return None
    return url_for("backoffice_chat.attachment", conversation_id=conversation.id, attachment_id=found.id)


@bp.post("/<int:conversation_id>/adjuntos")
@staff_required
def attach(conversation_id: int) -> Response | tuple[str, int]:
    """The advisor who has the conversation sends a file in it (emailed like an answer to a message)."""
    db = get_session()
    services.mark_present(db, current_user)
    found = _conversation_or_404(db, conversation_id)
    forms = _forms(db, found)
    form = forms["file_form"] = FileForm(prefix="file")
    if not form.validate_on_submit():
        return _page(db, found, forms, 422)
    if found.advisor_id != current_user.id or found.state != "active":
        text = _(
            "Someone else changed this conversation meanwhile: it is now %(state)s%(who)s. Nothing was done.",
            state=state_name(found.state),
            who=f" ({found.advisor.name})" if found.advisor else "",
        )
        return _page(db, found, forms, 409, text)
    where = {"area": services.ATTACHMENT_AREA, "tenant_id": found.tenant_id}
    stored = attachments.store_field(form.file, **where)
    if stored is None:
        return _page(db, found, forms, 422)
    try:
        with attachments.removed_on_error(stored, **where):
            services.attach_file(db, found, "advisor", current_user, stored)
    except services.Refused as refused:
        return _page(db, found, forms, 409, str(refused.reason))
    return redirect(url_for("backoffice_chat.conversation", conversation_id=found.id, _anchor="last"))


@bp.get("/<int:conversation_id>/adjuntos/<int:attachment_id>")
@staff_required
def attachment(conversation_id: int, attachment_id: int) -> Response:
    db = get_session()
    found = _conversation_or_404(db, conversation_id)
    row = services.find_file(db, found, attachment_id)
    if row is None:
        abort(404)
    return attachments.send(
        services.ATTACHMENT_AREA,
        found.tenant_id,
        row.storage_key,
        content_type=row.content_type,
        filename=row.filename,
    )


@bp.post("/<int:conversation_id>/<" + ACTIONS + ":action>")
@staff_required
def act(conversation_id: int, action: str) -> Response | tuple[str, int]:
    db = get_session()
    services.mark_present(db, current_user)
    found = _conversation_or_404(db, conversation_id)
    forms = _forms(db, found)
    form = forms[f"{action}_form"]
    if not form.validate_on_submit():
        return _page(db, found, forms, 422)
    try:
        if action == "take":
            services.take(db, found, current_user)
        elif action == "reply":
            if found.advisor_id != current_user.id:
                raise services.Stale(found.state)
            message = services.post_message(db, found, "advisor", current_user, form.text())
            if request.accept_mimetypes.best == "application/json":
                return jsonify(message_json(message, found))
        elif action == "transfer":
            to = None if form.to.data == QUEUE else db.get(User, int(form.to.data))
            services.transfer(db, found, current_user, to)
        else:
            services.close(
                db,
                found,
                current_user,
                by="advisor",
                reason=form.reason.data,
                note=(form.note.data or "").strip(),
            )
    except (services.Stale, services.Closed):
        text = _(
            "Someone else changed this conversation meanwhile: it is now %(state)s%(who)s. Nothing was done.",
            state=state_name(found.state),
            who=f" ({found.advisor.name})" if found.advisor else "",
        )
        return _page(db, found, _forms(db, found), 409, text)
    if action in ("transfer", "close"):
        flash(_("Conversation %(number)s updated.", number=found.id), "success")
        return redirect(url_for("backoffice_chat.desk"))
    return redirect(url_for("backoffice_chat.conversation", conversation_id=found.id, _anchor="last"))


@bp.get("/transcripciones")
@staff_required
def transcripts() -> str:
    words = (request.args.get("q") or "").strip()[:100]
    found = services.search_transcripts(get_session(), words) if len(words) >= 3 else []
    return render_template("backoffice/chat_transcripts.html", words=words, found=found)


@bp.get("/encuestas")
@staff_required
def surveys() -> Response:
    """The chat's survey results are on the back office's survey page (chat and orders), filtered to chat."""
    return redirect(url_for("backoffice_surveys.index", tipo="chat"))

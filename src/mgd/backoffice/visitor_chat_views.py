"""The desk's conversations with visitors who are not signed in, under ``/backoffice/chat/visitantes``: one
conversation with its registration context (the step, the fiscal ID, that fiscal ID's registration refusals
in the last 90 days), where an advisor takes it (``UPDATE … WHERE state = 'waiting' RETURNING``: of two, one
wins, the other is told, 409), answers (emailed when it is a message and the visitor gave an email) and
closes it. The queue is on the desk's page (``backoffice/_visitor_queue.html``)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from mgd.backoffice.access import staff_required
from mgd.chat import services, visitors
from mgd.chat.forms import ReplyForm
from mgd.chat.visitor_models import VisitorChat
from mgd.chat.visitor_words import visitor_message_json, visitor_template_words
from mgd.chat.words import id_arg, state_name
from mgd.db import get_session
from mgd.web.forms import ButtonForm

bp = Blueprint("backoffice_visitor_chat", __name__, url_prefix="/backoffice/chat/visitantes")


@bp.context_processor
def _words() -> dict:
    return visitor_template_words()


def _chat_or_404(db, chat_id: int) -> VisitorChat:
    chat = visitors.staff_chat(db, chat_id)
    if chat is None:
        abort(404)
    if chat.state == "waiting" and chat.mode == "live" and visitors.left_waiting(db, chat.id):
        db.refresh(chat)
    return chat


def _page(
    db, chat: VisitorChat, reply: ReplyForm | None = None, status: int = 200, message: str | None = None
):
    return render_template(
        "backoffice/visitor_chat.html",
        chat=chat,
        messages=visitors.messages_after(db, chat),
        refusals=visitors.registration_refusals(db, chat.fiscal_id),
        reply_form=reply or ReplyForm(prefix="reply", formdata=None),
        button=ButtonForm(),
        message=message,
    ), status


@bp.get("/<int:chat_id>")
@staff_required
def conversation(chat_id: int) -> tuple[str, int]:
    db = get_session()
    services.mark_present(db, current_user)
    return _page(db, _chat_or_404(db, chat_id))


@bp.get("/<int:chat_id>/novedades")
@staff_required
def news(chat_id: int) -> Response:
    db = get_session()
    services.mark_present(db, current_user)
    chat = _chat_or_404(db, chat_id)
    found = visitors.messages_after(db, chat, id_arg("after") or 0)
    return jsonify(
        state=chat.state,
        advisor=chat.advisor.name if chat.advisor else None,
        messages=[visitor_message_json(m, chat) for m in found],
    )


@bp.post("/<int:chat_id>/<any(take, reply, close):action>")
@staff_required
def act(chat_id: int, action: str) -> Response | tuple[str, int]:
    db = get_session()
    services.mark_present(db, current_user)
    chat = _chat_or_404(db, chat_id)
    form = ReplyForm(prefix="reply") if action == "reply" else ButtonForm()
    if not form.validate_on_submit():
        if action != "reply":
            abort(400)
        return _page(db, chat, form, 422)
    try:
        if action == "take":
            visitors.take(db, chat, current_user)
        elif action == "reply":
            posted = visitors.answer(db, chat, current_user, form.text())
            if request.accept_mimetypes.best == "application/json":
                return jsonify(visitor_message_json(posted, chat))
        else:
            visitors.close_by_advisor(db, chat, current_user)
    except services.Stale:
        text = _(
            "Someone else changed this conversation meanwhile: it is now %(state)s%(who)s. Nothing was done.",
            state=state_name(chat.state),
            who=f" ({chat.advisor.name})" if chat.advisor else "",
        )
        return _page(db, chat, status=409, message=text)
    if action == "close":
        flash(_("Conversation %(number)s updated.", number=chat.id), "success")
        return redirect(url_for("backoffice_chat.desk"))
    return redirect(url_for("backoffice_visitor_chat.conversation", chat_id=chat.id, _anchor="last"))

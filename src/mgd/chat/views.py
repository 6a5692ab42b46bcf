"""The chat from the customer's side under ``/empresa/<ref>/chat``: the company's conversations (an
administrator reads everyone's transcripts, a member their own), opening one from the help button with its
context (the page, the order concerned), a conversation's page, its news as JSON for the script that polls
(without JavaScript the page refreshes itself), closing it, and the survey after. Also the help button's
hours on every page (``help``)."""

from __future__ import annotations

from contextlib import suppress

from flask import (
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from mgd import attachments
from mgd.chat import services, stream
from mgd.chat.forms import CustomerCloseForm, FileForm, MessageForm, StartForm, SurveyForm
from mgd.chat.models import Conversation
from mgd.chat.words import MAX_ID, HelpStatus, id_arg, message_json, template_words
from mgd.db import get_session
from mgd.tenants.context import current_tenant, tenant_blueprint
from mgd.web.links import local_path
from mgd.web.paging import whole_number

bp = tenant_blueprint("chat", __name__, "/chat")


@bp.app_context_processor
def _help_button() -> dict:
    """The help button's hours on every page, and where its chat link leads (a company's page: that
    company's chat, with the page and the order it shows)."""
    hours = services.hours()
    start = None
    tenant = getattr(g, "tenant", None) if has_request_context() else None  # (a job's email: no request)
    if tenant is not None and request.blueprint != "chat":
        args = {"desde": request.path}
        if request.blueprint == "orders" and (request.view_args or {}).get("order_id"):
            args["pedido"] = request.view_args["order_id"]
        start = url_for("chat.start", **args)
    status = HelpStatus(
        phone=current_app.config["HELP_PHONE"],
        open_now=hours.is_open(),
        opens=hours.opens,
        closes=hours.closes,
        chat_url=start,
    )
    return {"help": status}


@bp.context_processor
def _words() -> dict:
    return template_words()


@bp.get("")
def index() -> str:
    page = services.company_conversations(
        get_session(), current_tenant(), after=request.args.get("after"), before=request.args.get("before")
    )
    return render_template("chat/index.html", page=page)


@bp.route("/nueva", methods=["GET", "POST"])
def start() -> Response | tuple[str, int]:
    db = get_session()
    tenant = current_tenant()
    if request.method == "GET":
        form = StartForm(
            data={
                "page": local_path(request.args.get("desde"), ""),
                "order": str(id_arg("pedido") or ""),
            }
        )
    else:
        form = StartForm()
    order_id = whole_number(form.order.data, 1, MAX_ID)
    if order_id is not None and services.order_of_company(db, tenant.company.id, order_id) is None:
        order_id = None  # another company's order or none: not shown, not kept
        form.order.data = ""
    if request.method == "POST" and form.validate():
        conversation = services.open_conversation(
            db,
            tenant,
            current_user,
            form.body.data,
            page=local_path(form.page.data, "") or None,
            order_id=order_id,
            locale=str(get_locale()),
        )
        return redirect(url_for("chat.conversation", conversation_id=conversation.id))
    status = 422 if request.method == "POST" else 200
    live = services.live_now(db)
    answer_by = None if live else services.hours().answer_by(current_app.config["CHAT_ANSWER_HOURS"])
    return render_template(
        "chat/start.html", form=form, order_id=order_id, live=live, answer_by=answer_by
    ), status


def _conversation_or_404(conversation_id: int) -> Conversation:
    db = get_session()
    found = services.find_conversation(db, current_tenant(), conversation_id)
    if found is None:
        abort(404)
    if found.state == "waiting" and found.mode == "live" and services.left_waiting(db, found.id):
        db.refresh(found)  # left waiting too long, or the chat closed: now a message (read time)
    return found


def _page(
    conversation: Conversation,
    form: MessageForm,
    status: int = 200,
    message: str | None = None,
    *,
    survey_form: SurveyForm | None = None,
    file_form: FileForm | None = None,
):
    db = get_session()
    messages = services.messages_after(db, conversation)
    files = services.conversation_files(db, conversation)
    survey = services.survey_of(db, conversation) if conversation.state == "closed" else None
    return render_template(
        "chat/conversation.html",
        conversation=conversation,
        messages=messages,
        form=form,
        close_form=CustomerCloseForm(),
        survey=survey,
        survey_form=survey_form or SurveyForm(formdata=None),
        message=message,
        mine=conversation.customer_id == current_user.id,
        files=files,
        file_form=file_form or FileForm(formdata=None),
        can_attach=len(files) < services.MAX_ATTACHMENTS,
    ), status


def _file_url(conversation: Conversation, files: dict, message_id: int) -> str | None:
    found = files.get(message_id)
    if found is None:
        return None
    return url_for("chat.attachment", conversation_id=conversation.id, attachment_id=found.id)


@bp.get("/<int:conversation_id>")
def conversation(conversation_id: int) -> tuple[str, int]:
    return _page(_conversation_or_404(conversation_id), MessageForm())


@bp.post("/<int:conversation_id>")
def write(conversation_id: int) -> Response | tuple[str, int]:
    conversation = _conversation_or_404(conversation_id)
    if conversation.customer_id != current_user.id:
        abort(403)
    form = MessageForm()
    if not form.validate_on_submit():
        return _page(conversation, form, 422)
    try:
        message = services.post_message(get_session(), conversation, "customer", current_user, form.body.data)
    except services.Closed as closed:
        return _page(conversation, form, 409, str(closed.reason))
    if request.accept_mimetypes.best == "application/json":
        return jsonify(message_json(message, conversation))
    return redirect(url_for("chat.conversation", conversation_id=conversation.id, _anchor="last"))


def _news(conversation: Conversation, after: int) -> dict:
    db = get_session()
    messages = services.messages_after(db, conversation, after)
    files = services.conversation_files(db, conversation) if messages else {}
    return {
        "state": conversation.state,
        "advisor": conversation.advisor.name if conversation.advisor else None,
        "messages": [message_json(m, conversation, _file_url(conversation, files, m.id)) for m in messages],
    }


@bp.get("/<int:conversation_id>/novedades")
def news(conversation_id: int) -> Response:
    """The messages after ``after`` (an id) and the conversation's state, for the page's script
    (every 2 s)."""
    return jsonify(_news(_conversation_or_404(conversation_id), id_arg("after") or 0))


@bp.get("/<int:conversation_id>/espera")
def wait(conversation_id: int) -> Response:
    """The same news, held until there is some or ``CHAT_WAIT_SECONDS`` pass (long poll): only in the
    stream process (``mgd serve-stream``); elsewhere it answers at once (``chat.stream``)."""
    conversation = _conversation_or_404(conversation_id)
    after = id_arg("after") or 0
    db = get_session()
    reads = []

    def read() -> dict:
        if reads:
            db.expire(conversation)  # its state and advisor as committed since
        reads.append(1)
        return _news(conversation, after)

    news = stream.wait_for_news(
        stream.key(conversation.tenant_id, conversation.id),
        read,
        current_app.config["CHAT_WAIT_SECONDS"],
        release=db.commit,  # what was read so far (left_waiting's move); no connection held while waiting
    )
    return jsonify(news)


@bp.post("/<int:conversation_id>/adjuntos")
def attach(conversation_id: int) -> Response | tuple[str, int]:
    """Send a file in one's own open conversation (PDF, PNG or JPEG up to 5 MB, its type told by its
    bytes)."""
    conversation = _conversation_or_404(conversation_id)
    if conversation.customer_id != current_user.id:
        abort(403)
    form = FileForm()
    blank = MessageForm(formdata=None)
    if not form.validate_on_submit():
        return _page(conversation, blank, 422, file_form=form)
    where = {"area": services.ATTACHMENT_AREA, "tenant_id": conversation.tenant_id}
    stored = attachments.store_field(form.file, **where)
    if stored is None:
        return _page(conversation, blank, 422, file_form=form)
    try:
        with attachments.removed_on_error(stored, **where):
            services.attach_file(get_session(), conversation, "customer", current_user, stored)
    except services.Refused as refused:
        return _page(conversation, blank, 409, str(refused.reason), file_form=form)
    return redirect(url_for("chat.conversation", conversation_id=conversation.id, _anchor="last"))


@bp.get("/<int:conversation_id>/adjuntos/<int:attachment_id>")
def attachment(conversation_id: int, attachment_id: int) -> Response:
    """A file of a conversation the member may read (their own; an administrator: the company's)."""
    conversation = _conversation_or_404(conversation_id)
    found = services.find_file(get_session(), conversation, attachment_id)
    if found is None:
        abort(404)
    return attachments.send(
        services.ATTACHMENT_AREA,
        conversation.tenant_id,
        found.storage_key,
        content_type=found.content_type,
        filename=found.filename,
    )


@bp.post("/<int:conversation_id>/cerrar")
def close(conversation_id: int) -> Response | tuple[str, int]:
    conversation = _conversation_or_404(conversation_id)
    if conversation.customer_id != current_user.id:
        abort(403)
    form = CustomerCloseForm()
    if not form.validate_on_submit():
        abort(400)
    if form.confirmed.data != "yes":
        return render_template("chat/close.html", conversation=conversation), 200
    with suppress(services.Stale):  # closed meanwhile by the advisor: the same result
        services.close(get_session(), conversation, current_user, by="customer")
    return redirect(url_for("chat.conversation", conversation_id=conversation.id, _anchor="survey"))


@bp.post("/<int:conversation_id>/encuesta")
def survey(conversation_id: int) -> Response | tuple[str, int]:
    conversation = _conversation_or_404(conversation_id)
    if conversation.customer_id != current_user.id or conversation.state != "closed":
        abort(403)
    form = SurveyForm()
    if not form.validate_on_submit():
        return _page(conversation, MessageForm(formdata=None), 422, survey_form=form)
    if not services.submit_survey(get_session(), conversation, int(form.score.data), form.comment.data):
        message = _("You have already rated this conversation.")
        return _page(conversation, MessageForm(formdata=None), 409, message)
    flash(_("Thank you for your answer."), "success")
    return redirect(url_for("chat.conversation", conversation_id=conversation.id))

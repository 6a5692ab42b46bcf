"""The chat for visitors who are not signed in, under ``/ayuda/chat``: the help button of the registration
pages (and the Grandes Clientes request) opens a conversation carrying the page, and the registration's step
and fiscal ID when one is in progress in the same session. Fewer rights than a member's chat: text only, no
company's data, bounded (``chat.visitors``) and rate limited like the registration's forms. The visitor
reaches only the conversations of the key in their session (never in an address): anyone else's is a 404.
Signed-in people use their company's chat instead."""

from __future__ import annotations

from contextlib import suppress

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from mgd.chat import services, visitors
from mgd.chat.visitor_forms import VisitorMessageForm, VisitorStartForm
from mgd.chat.visitor_models import MAX_OPEN, MAX_VISITOR_MESSAGES, VisitorChat
from mgd.chat.visitor_words import visitor_message_json, visitor_template_words
from mgd.chat.words import id_arg
from mgd.db import get_session
from mgd.extensions import limiter
from mgd.security.audit import Origin, record_event
from mgd.web.edge import keep_on_failure
from mgd.web.forms import ButtonForm
from mgd.web.links import local_path

bp = Blueprint("visitor_chat", __name__, url_prefix="/ayuda/chat")
KEY = "visitor_chat"  # the session's random key; its SHA-256 is in ``visitor_chats.session_hash``
#: Pages whose help button opens a visitor's conversation (nobody is signed in there).
HELPED = ("registration",)


@bp.app_context_processor
def _help_link() -> dict:
    """On the registration pages, the help button leads to the visitor chat with the page it is on."""
    if has_request_context() and request.blueprint in HELPED and not current_user.is_authenticated:
        return {"visitor_chat_url": url_for("visitor_chat.start", desde=request.path)}
    return {}


@bp.context_processor
def _words() -> dict:
    return visitor_template_words()


@bp.before_request
def _visitors_only() -> Response | None:
    if current_user.is_authenticated:
        flash(_("You are signed in: use the chat of your company's pages."), "info")
        return redirect(url_for("portal.home"))
    return None


def _registration() -> visitors.Registration:
    return visitors.registration_of(get_session(), session.get("registration"), session.get("large_account"))


def _audit_breach(limit) -> None:
    """A rate-limit refusal is a security event, as the registration's are: recorded after the refusal's
    rollback (``keep_on_failure``), with the fiscal ID of the registration in progress."""
    origin, endpoint = Origin.of_request(), request.endpoint
    fiscal_id = _registration().fiscal_id
    keep_on_failure(
        lambda db: record_event(
            db,
            "registration.chat_rate_limited",
            origin,
            fiscal_id=fiscal_id,
            page=endpoint,
            limit=str(limit.limit),
        )
    )


@bp.get("")
def index() -> str:
    key = session.get(KEY)
    found = visitors.visitor_chats(get_session(), key) if key else []
    return render_template("chat/visitor_index.html", chats=found)


@bp.route("/nueva", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"], on_breach=_audit_breach)
def start() -> Response | tuple[str, int]:
    db = get_session()
    if request.method == "GET":
        form = VisitorStartForm(data={"page": local_path(request.args.get("desde"), "")})
    else:
        form = VisitorStartForm()
    message, status = None, 200
    if request.method == "POST":
        status = 422
        if form.validate():
            key = session.get(KEY) or visitors.new_key()
            try:
                chat = visitors.open_visitor_chat(
                    db,
                    key,
                    name=form.name.data,
                    email=(form.email.data or "").strip() or None,
                    body=form.body.data,
                    page=local_path(form.page.data, "") or None,
                    registration=_registration(),
                    locale=str(get_locale()),
                    ip=request.remote_addr,
                )
            except visitors.NeedsEmail:
                form.email.errors.append(
                    _(
                        "No advisor can answer right now: give your email to get the answer, or call "
                        "%(phone)s.",
                        phone=current_app.config["HELP_PHONE"],
                    )
                )
            except visitors.TooManyOpen:
                message, status = (
                    _(
                        "You already have %(most)s conversations open: end one of them to open another.",
                        most=MAX_OPEN,
                    ),
                    409,
                )
            else:
                session[KEY] = key
                return redirect(url_for("visitor_chat.conversation", chat_id=chat.id))
    live = services.live_now(db)
    answer_by = None if live else services.hours().answer_by(current_app.config["CHAT_ANSWER_HOURS"])
    return render_template(
        "chat/visitor_start.html",
        form=form,
        live=live,
        answer_by=answer_by,
        message=message,
        registration=_registration(),
    ), status


def _chat_or_404(chat_id: int) -> VisitorChat:
    db = get_session()
    found = visitors.find_visitor_chat(db, session.get(KEY), chat_id)
    if found is None:
        abort(404)
    if found.state == "waiting" and found.mode == "live" and visitors.left_waiting(db, found.id):
        db.refresh(found)
    return found


def _page(chat: VisitorChat, form: VisitorMessageForm, status: int = 200, message: str | None = None):
    return render_template(
        "chat/visitor_conversation.html",
        chat=chat,
        messages=visitors.messages_after(get_session(), chat),
        form=form,
        message=message,
    ), status


@bp.route("/<int:chat_id>", methods=["GET", "POST"])
@limiter.limit("60 per hour", methods=["POST"], on_breach=_audit_breach)
def conversation(chat_id: int) -> Response | tuple[str, int]:
    chat = _chat_or_404(chat_id)
    form = VisitorMessageForm()
    if request.method == "GET":
        return _page(chat, VisitorMessageForm(formdata=None))
    if not form.validate():
        return _page(chat, form, 422)
    db = get_session()
    try:
        posted = visitors.post_visitor_message(db, chat, form.body.data, _registration())
    except services.Closed:
        return _page(chat, form, 409, _("This conversation is closed: open a new one to write again."))
    except visitors.TooManyMessages:
        form.body.errors.append(
            _(
                "You have written the most messages a conversation takes (%(most)s): wait for the advisor's "
                "answer, or call %(phone)s.",
                most=MAX_VISITOR_MESSAGES,
                phone=current_app.config["HELP_PHONE"],
            )
        )
        return _page(chat, form, 409)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(visitor_message_json(posted, chat))
    return redirect(url_for("visitor_chat.conversation", chat_id=chat.id, _anchor="last"))


@bp.get("/<int:chat_id>/novedades")
def news(chat_id: int) -> Response:
    chat = _chat_or_404(chat_id)
    found = visitors.messages_after(get_session(), chat, id_arg("after") or 0)
    return jsonify(
        state=chat.state,
        advisor=chat.advisor.name if chat.advisor else None,
        messages=[visitor_message_json(m, chat) for m in found],
    )


@bp.post("/<int:chat_id>/cerrar")
def close(chat_id: int) -> Response:
    chat = _chat_or_404(chat_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if chat.state != "closed":
        with suppress(services.Stale):  # closed meanwhile by the advisor: the page says so
            visitors.close_by_visitor(get_session(), chat)
    return redirect(url_for("visitor_chat.conversation", chat_id=chat.id))

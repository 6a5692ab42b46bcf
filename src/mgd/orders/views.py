"""A company's orders under ``/empresa/<ref>/pedidos``: the list, one order with its timeline, cancelling
one (after a confirmation) while nobody has taken it, and the new-order forms (each confirmed on a second
page that shows what will change and what it costs). Admins and managers order; billing only looks."""

from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from mgd import attachments
from mgd.db import get_session
from mgd.orders import services, sms
from mgd.orders.forms import (
    BULK_FORMS,
    FORMS,
    AttachmentForm,
    CancelForm,
    DeclineForm,
    NoticesForm,
    OrderForm,
    PukForm,
    SmsForm,
    SurveyForm,
    ThresholdForm,
    countries,
)
from mgd.orders.kinds import BY_SLUG, STATE_NAMES, Kind
from mgd.orders.models import Order
from mgd.orders.words import money, template_words
from mgd.security.audit import Origin
from mgd.security.login import fresh_login_required
from mgd.tenants.context import Tenant, current_tenant, requires, tenant_blueprint
from mgd.tenants.home import add_home_card
from mgd.tenants.models import Line
from mgd.web.forms import unusable_character
from mgd.web.uploads import file_text

bp = tenant_blueprint("orders", __name__, "/pedidos")
SLUGS = "any(" + ", ".join(f'"{slug}"' for slug in BY_SLUG) + ")"
BULK_SLUGS = "any(" + ", ".join(f'"{k.slug}"' for k in BY_SLUG.values() if k.code in BULK_FORMS) + ")"
FAMILIES = {"fixed": _l("fixed"), "mobile": _l("mobile"), "convergent": _l("convergent")}
#: The largest CSV file of numbers read (500 numbers with a few columns fit many times over).
FILE_LIMIT = 200_000


@bp.context_processor
def _words() -> dict:
    return template_words()


def _home_card(tenant: Tenant) -> Markup | None:
    if not tenant.can("view_orders"):
        return None
    return Markup(render_template("orders/_home_card.html"))  # noqa: S704


bp.record_once(lambda state: add_home_card(state.app, _home_card))


@bp.get("")
@requires("view_orders")
def index() -> str:
    page = services.company_orders(
        get_session(), current_tenant(), after=request.args.get("after"), before=request.args.get("before")
    )
    tenant = current_tenant()
    pending = services.pending_approval(get_session(), tenant) if tenant.can("approve_orders") else 0
    notices = NoticesForm(data={"sms": current_user.order_sms})
    return render_template(
        "orders/index.html", page=page, pending=pending, notices=notices, bulk_kinds=BULK_FORMS
    )


@bp.post("/avisos")
@requires("view_orders")
def notices() -> Response | tuple[str, int]:
    """The member's choice: their orders' steps by email only, or by SMS too (to their confirmed mobile)."""
    form = NoticesForm()
    if not form.validate_on_submit():
        abort(400)
    if form.sms.data and not current_user.mobile:
        flash(_("You have no confirmed mobile: add one in your profile first."), "error")
        return redirect(url_for("orders.index"))
    current_user.order_sms = bool(form.sms.data)
    flash(
        _("We will tell you of your orders by email and SMS.")
        if current_user.order_sms
        else _("We will tell you of your orders by email only."),
        "success",
    )
    return redirect(url_for("orders.index"))


@bp.route("/aprobacion", methods=["GET", "POST"])
@requires("approve_orders")
def threshold() -> Response | tuple[str, int]:
    """The monthly cost above which the company's orders wait for another administrator's approval."""
    tenant = current_tenant()
    current = tenant.company.order_approval_threshold_eur
    form = ThresholdForm(
        data={"threshold": "" if current is None else money(current).replace("€", "").strip()}
    )
    if form.validate_on_submit():
        services.set_approval_threshold(
            get_session(), tenant, form.threshold.amount, user=current_user, origin=Origin.of_request()
        )
        if form.threshold.amount is None:
            flash(_("Orders no longer need approval."), "success")
        else:
            flash(
                _(
                    "Orders that cost more than %(amount)s a month now need another administrator's "
                    "approval.",
                    amount=money(form.threshold.amount),
                ),
                "success",
            )
        return redirect(url_for("orders.index"))
    return render_template("orders/threshold.html", form=form), 422 if form.errors else 200


def _order_or_404(order_id: int) -> Order:
    found = services.find_order(get_session(), current_tenant(), order_id)
    if found is None:
        abort(404)
    return found


def _detail(order: Order, **extra) -> str:
    files = services.order_attachments(get_session(), order)
    extra.setdefault("attach", AttachmentForm())
    extra.setdefault("cancel", CancelForm())
    extra.setdefault("decline", DeclineForm())
    asked = order.state == "completed" and services.may_rate(order, current_tenant())
    if asked:
        extra.setdefault("survey_form", SurveyForm(formdata=None))
    return render_template(
        "orders/detail.html",
        order=order,
        files=files,
        can_attach=_can_attach(order, files),
        asked=asked,
        survey=services.survey_of(get_session(), order) if asked else None,
        **extra,
    )


def _can_attach(order: Order, files: list) -> bool:
    return (
        order.kind == "enquiry"
        and order.state in ("submitted", "in_progress")
        and len(files) < services.MAX_ATTACHMENTS
        and current_tenant().can("place_orders")
    )


@bp.get("/<int:order_id>")
@requires("view_orders")
def detail(order_id: int) -> str:
    return _detail(_order_or_404(order_id))


@bp.post("/<int:order_id>/adjuntos")
@requires("place_orders")
def attach(order_id: int) -> Response | tuple[str, int]:
    """Attach a file to an open enquiry (PDF, PNG or JPEG up to 5 MB, its type told by its bytes)."""
    order = _order_or_404(order_id)
    form = AttachmentForm()
    db = get_session()
    if not _can_attach(order, services.order_attachments(db, order)):
        return _detail(order, attach=form, message=_("No more files can be attached to this order.")), 409
    if not form.validate_on_submit():
        return _detail(order, attach=form), 422
    where = {"area": services.ATTACHMENT_AREA, "tenant_id": order.tenant_id}
    stored = attachments.store_field(form.file, **where)
    if stored is None:
        return _detail(order, attach=form), 422
    try:
        with attachments.removed_on_error(stored, **where):
            services.attach_file(db, order, stored, user=current_user)
    except services.TooManyAttachments:
        return _detail(order, attach=form, message=_("No more files can be attached to this order.")), 409
    flash(_("File %(name)s attached.", name=stored.filename), "success")
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.get("/<int:order_id>/adjuntos/<int:attachment_id>")
@requires("view_orders")
def attachment(order_id: int, attachment_id: int) -> Response:
    order = _order_or_404(order_id)
    found = services.find_attachment(get_session(), order, attachment_id)
    if found is None:
        abort(404)
    return attachments.send(
        services.ATTACHMENT_AREA,
        order.tenant_id,
        found.storage_key,
        content_type=found.content_type,
        filename=found.filename,
    )


@bp.post("/<int:order_id>/encuesta")
@requires("view_orders")
def survey(order_id: int) -> Response | tuple[str, int]:
    """The requester's (or an administrator's) 1-5 and comment on a completed order, once per order."""
    order = _order_or_404(order_id)
    form = SurveyForm()
    if not services.may_rate(order, current_tenant()):
        abort(403)
    if order.state != "completed":
        message = _(
            "An order can be rated once it is completed: it is %(state)s.", state=STATE_NAMES[order.state]
        )
        return _detail(order, message=message), 409
    if not form.validate_on_submit():
        return _detail(order, survey_form=form), 422
    if not services.submit_survey(get_session(), order, int(form.score.data), form.comment.data):
        return _detail(order, message=_("This order has already been rated: it is rated once.")), 409
    flash(_("Thank you for your answer."), "success")
    return redirect(url_for("orders.detail", order_id=order.id, _anchor="survey"))


def _puk_page() -> str:
    return url_for("orders.puk")


@bp.get("/puk")
@requires("place_orders")
def puk() -> tuple[str, int]:
    """The form that asks which line's PUK to show (shown after the member confirms their password)."""
    form = PukForm(data={"line": request.args.get("linea", "")})
    return _no_store(render_template("orders/puk.html", form=form, puk=None, line=None)), 200


@bp.post("/puk")
@requires("place_orders")
@fresh_login_required(back=_puk_page)
def show_puk() -> Response | tuple[str, int]:
    """A line's PUK, to a member who signed in or confirmed their password in the last minutes: kept in the
    security audit trail, never emailed, and the page is not stored by the browser (``no-store``)."""
    form = PukForm()
    if not form.validate_on_submit():
        return _no_store(render_template("orders/puk.html", form=form, puk=None, line=None)), 422
    line = services.visible_line(get_session(), current_tenant(), form.line.normalized.e164)
    if line is None:
        abort(404)
    value = services.reveal_puk(get_session(), current_tenant(), current_user, line, Origin.of_request())
    return _no_store(render_template("orders/puk.html", form=form, puk=value, line=line)), 200


def _no_store(body: str) -> Response:
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.post("/<int:order_id>/aprobar")
@requires("approve_orders")
def approve(order_id: int) -> Response | tuple[str, int]:
    """Another administrator approves an order awaiting approval: it goes to the operator."""
    return _decide(order_id, approved=True)


@bp.post("/<int:order_id>/declinar")
@requires("approve_orders")
def decline(order_id: int) -> Response | tuple[str, int]:
    """Another administrator declines an order awaiting approval, with a reason the requester reads."""
    return _decide(order_id, approved=False)


def _decide(order_id: int, *, approved: bool) -> Response | tuple[str, int]:
    order = _order_or_404(order_id)
    form = CancelForm() if approved else DeclineForm()
    if not form.validate_on_submit():
        if approved or set(form.errors) != {"reason"}:
            abort(400)
        return _detail(order, decline=form), 422
    try:
        services.decide_approval(
            get_session(),
            order,
            approved,
            user=current_user,
            note=None if approved else form.reason.data.strip(),
            origin=Origin.of_request(),
        )
    except services.OwnOrder:
        message = _("You asked for this order: another administrator of the company must approve it.")
        return _detail(order, message=message), 403
    except (services.StaleOrder, services.NotAllowed):
        message = _("This order no longer awaits approval: it is %(state)s.", state=STATE_NAMES[order.state])
        return _detail(order, message=message), 409
    if approved:
        flash(_("Order %(number)s approved: it goes to the operator.", number=order.id), "success")
    else:
        flash(_("Order %(number)s declined.", number=order.id), "success")
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.post("/<int:order_id>/cancelar")
@requires("place_orders")
def cancel(order_id: int) -> Response | tuple[str, int]:
    """Cancel an order nobody has taken yet: first a confirmation page, then (``confirmed=yes``) the move."""
    order = _order_or_404(order_id)
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    if form.confirmed.data != "yes":
        return render_template("orders/cancel.html", order=order, form=form), 200
    try:
        services.cancel_order(get_session(), order, user=current_user, origin=Origin.of_request())
    except (services.StaleOrder, services.NotAllowed):
        message = _("This order can no longer be cancelled: it is %(state)s.", state=STATE_NAMES[order.state])
        return _detail(order, cancel=form, message=message), 409
    flash(_("Order %(number)s cancelled.", number=order.id), "success")
    return redirect(url_for("orders.detail", order_id=order.id))


def _line_or_404(form: OrderForm) -> Line | None:
    """The line the form names, if the member may see it; a line of another company, or outside the
    member's limits, is a 404 (as its page would be)."""
    number = getattr(form.line, "normalized", None)
    if number is None:
        return None
    line = services.visible_line(get_session(), current_tenant(), number.e164)
    if line is None:
        abort(404)
    return line


def _prepare(kind: Kind, form: OrderForm) -> Line | None:
    """Fill the choices that depend on the line (tariffs) or the reader (countries); the line if valid."""
    line = None
    if form.line.data:
        form.line.validate(form)  # (errors are shown by validate() again on a post)
        line = _line_or_404(form)
        form.line.errors = []
    if kind.code == "tariff_change":
        tariffs = services.compatible_tariffs(get_session(), line) if line else []
        form.tariff.choices = [
            SelectChoice(str(t.id), f"{t.name} — {money(t.monthly_fee_eur)}") for t in tariffs
        ]
    if kind.code == "roaming":
        form.country.choices = countries()
    if kind.code == "bundle":
        db = get_session()
        if line is None:
            bundles = []
        elif form.action.data == "remove":
            bundles = services.active_bundles(db, line)
        else:
            bundles = services.addable_bundles(db, line)
        form.bundle.choices = [
            SelectChoice(str(b.id), f"{b.name} — {money(b.monthly_fee_eur)}") for b in bundles
        ]
    return line


@bp.route(f"/nuevo/<{SLUGS}:kind_slug>", methods=["GET", "POST"])
@requires("place_orders")
def new(kind_slug: str) -> Response | tuple[str, int]:
    kind = BY_SLUG[kind_slug]
    form_class = FORMS[kind.code]
    if request.method == "GET":
        form = form_class(
            data={"line": request.args.get("linea", ""), "idempotency_key": services.new_idempotency_key()}
        )
    else:
        form = form_class()
        if not form.idempotency_key.data:  # (a form stripped of its key gets a fresh one)
            form.idempotency_key.data = services.new_idempotency_key()
    line = _prepare(kind, form)
    search = (request.args.get("lq") or "").strip()[:60]
    found = services.find_lines(get_session(), current_tenant(), search) if search else []
    status = 200
    if request.method == "POST":
        if form.validate():
            line = _line_or_404(form)
            problem = form.check_line(line) if line is not None else None
            if problem is not None:
                form.line.errors = [problem]
                return render_template(
                    "orders/new.html", kind=kind, form=form, line=line, search=search, found=found
                ), 422
            payload = services.order_payload(get_session(), kind.code, form.payload(), line)
            if form.confirmed.data == "yes":
                asked = services.Request(
                    kind.code,
                    line,
                    payload,
                    (form.customer_reference.data or "").strip() or None,
                    form.idempotency_key.data[:64],
                )
                replacement = form.shipping() if payload.get("replacement") else None
                order, sim, created = services.submit_with_replacement(
                    get_session(),
                    current_tenant(),
                    current_user,
                    asked,
                    replacement,
                    origin=Origin.of_request(),
                )
                if created and sim is not None:
                    flash(
                        _(
                            "Orders %(number)s (suspension) and %(sim)s (replacement SIM) received. We will "
                            "email you at each step.",
                            number=order.id,
                            sim=sim.id,
                        ),
                        "success",
                    )
                elif created:
                    flash(
                        _("Order %(number)s received. We will email you at each step.", number=order.id),
                        "success",
                    )
                return redirect(url_for("orders.detail", order_id=order.id))
            shipping = form.shipping() if hasattr(form, "shipping") and form.address_required() else None
            return render_template(
                "orders/confirm.html", kind=kind, form=form, line=line, payload=payload, shipping=shipping
            ), 200
        status = 422
    return render_template(
        "orders/new.html", kind=kind, form=form, line=line, search=search, found=found
    ), status


def _sms_page(form: SmsForm, status: int = 200, **extra) -> tuple[str, int]:
    db, tenant = get_session(), current_tenant()
    page = sms.company_batches(db, tenant, after=request.args.get("after"), before=request.args.get("before"))
    lines = db.scalars(sms.sender_lines(tenant).order_by(Line.number).limit(100)).all()
    left = sms.quota_left(db, tenant.company.id, current_app.config["SMS_DAILY_QUOTA"])
    return render_template(
        "orders/sms.html",
        form=form,
        page=page,
        lines=lines,
        left=left,
        max_recipients=sms.MAX_RECIPIENTS,
        **extra,
    ), status


def _sender_or_404(form: SmsForm) -> Line | None:
    """The sending line the form names if it is valid; another company's line, one outside the member's
    limits or not a mobile in service is a 404."""
    if not form.line.data:
        return None
    form.line.validate(form)
    number = getattr(form.line, "normalized", None)
    if form.line.errors or number is None:
        return None
    line = sms.sender_line(get_session(), current_tenant(), number.e164)
    if line is None:
        abort(404)
    return line


@bp.route("/sms", methods=["GET", "POST"])
@requires("place_orders")
def send_sms() -> Response | tuple[str, int]:
    """Send an SMS from one of the company's mobile lines to up to 100 numbers: the form, a confirmation
    that shows how many will go and how many the company has left today, then the send (and the company's
    sends so far, a page at a time)."""
    if request.method == "GET":
        return _sms_page(SmsForm(data={"line": request.args.get("linea", "")}))
    form = SmsForm()
    _sender_or_404(form)
    if not form.validate():
        return _sms_page(form, 422)
    line = _sender_or_404(form)
    numbers = form.recipients.parsed.numbers
    quota = current_app.config["SMS_DAILY_QUOTA"]
    db = get_session()
    left = sms.quota_left(db, current_tenant().company.id, quota)
    if len(numbers) > left:
        form.recipients.errors = [_quota_message(left, len(numbers))]
        return _sms_page(form, 422)
    if form.confirmed.data != "yes":
        return render_template(
            "orders/sms_confirm.html",
            form=form,
            line=line,
            numbers=numbers,
            duplicates=form.recipients.parsed.duplicates,
            left=left,
            parts=max(1, -(-len(form.text.data) // 160)),
        ), 200
    try:
        sms.send_batch(
            db,
            current_tenant(),
            current_user,
            line,
            numbers=numbers,
            text=form.text.data,
            quota=quota,
            origin=Origin.of_request(),
        )
    except sms.QuotaExceeded as refused:  # (nothing was written: the quota is taken first)
        form.recipients.errors = [_quota_message(refused.left, len(numbers))]
        return _sms_page(form, 409)
    flash(_("SMS sent from %(line)s to %(count)s numbers.", line=line.number, count=len(numbers)), "success")
    return redirect(url_for("orders.send_sms"))


def _quota_message(left: int, count: int) -> str:
    return _(
        "The company can send %(left)s more SMS today and there are %(count)s numbers: take some out or send "
        "the rest tomorrow.",
        left=left,
        count=count,
    )


def _list_text(form: OrderForm) -> str:
    """The list of numbers: the text typed or pasted, the numbers ticked in a search, and a CSV file's rows
    (each appended, so the preview shows and carries one list); a file that cannot be read is a ValueError."""
    parts = [(form.numbers.data or "").strip("\r\n")]
    parts += [number for number in request.form.getlist("pick") if number.strip()]
    upload = form.file.data
    if upload is not None and getattr(upload, "filename", None):
        try:
            parts.append(file_text(upload.read(FILE_LIMIT + 1), FILE_LIMIT).strip("\r\n"))
        except ValueError as problem:
            form.file.errors = [f"{upload.filename}: {problem}"]
    return "\n".join(part for part in parts if part)


@bp.route(f"/nuevo/<{BULK_SLUGS}:kind_slug>/varias-lineas", methods=["GET", "POST"])
@requires("place_orders")
def bulk(kind_slug: str) -> Response | tuple[str, int]:
    """An order of several lines (up to ``services.MAX_LINES``): numbers typed, pasted, ticked in a search
    or read from a CSV file; a preview names each row's problems; only a list without any can be ordered."""
    kind, db, tenant = BY_SLUG[kind_slug], get_session(), current_tenant()
    form_class = BULK_FORMS[kind.code]
    if request.method == "GET":
        form = form_class(data={"idempotency_key": services.new_idempotency_key()})
    else:
        form = form_class()
        if not form.idempotency_key.data:
            form.idempotency_key.data = services.new_idempotency_key()
    if kind.code == "tariff_change":
        form.tariff.choices = [
            SelectChoice(str(t.id), f"{t.name} — {money(t.monthly_fee_eur)}")
            for t in services.all_tariffs(db)
        ]
    if kind.code == "roaming":
        form.country.choices = countries()
    search = (form.lq.data or "").strip()[:60]
    usable = search and not unusable_character(search)  # (a NUL is refused on the field, never searched)
    found = services.find_lines(db, tenant, search, limit=50) if usable else []
    page = {"kind": kind, "form": form, "search": search, "found": found, "rows": None}
    if request.method == "GET" or request.form.get("action") == "search":
        if request.method == "POST":
            form.numbers.data = _list_text(form)
        return render_template("orders/bulk.html", **page), 200
    text = _list_text(form)
    form.numbers.data = text
    valid = form.validate() and not form.file.errors
    payload = services.bulk_payload(db, kind.code, form.payload()) if valid else {}
    rows = None
    try:
        rows = services.read_line_list(db, tenant, kind.code if valid else "", payload, text)
    except services.TooManyLines as many:
        form.numbers.errors = [
            _(
                "At most %(max)s lines in one order: the list has %(count)s. Split it into several orders.",
                max=services.MAX_LINES,
                count=many.args[0],
            )
        ]
    except ValueError as problem:
        form.numbers.errors = [str(problem)]
    page["rows"] = rows
    ready = valid and rows is not None and not form.numbers.errors and not any(r.problems for r in rows)
    if not ready:
        return render_template("orders/bulk.html", **page), 422
    lines = tuple(row.found for row in rows)
    cost = services.monthly_cost(kind.code, payload, len(lines))
    if form.confirmed.data != "yes":
        held = services.needs_approval(tenant.company, cost)
        return render_template("orders/bulk_confirm.html", payload=payload, cost=cost, held=held, **page), 200
    order, created = services.submit_order(
        db,
        tenant,
        current_user,
        services.Request(
            kind.code,
            None,
            payload,
            (form.customer_reference.data or "").strip() or None,
            form.idempotency_key.data[:64],
            lines=lines,
        ),
        origin=Origin.of_request(),
    )
    if created:
        flash(
            _(
                "Order %(number)s for %(count)s lines received. We will tell you at each step.",
                number=order.id,
                count=len(lines),
            ),
            "success",
        )
    return redirect(url_for("orders.detail", order_id=order.id))

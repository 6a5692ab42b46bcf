"""The help centre's articles in the back office: supervisors list, write, change, publish and withdraw them
(advisors and everyone else get a 404). Every change is in the audit trail."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from mgd.backoffice.access import supervisor_required
from mgd.db import get_session
from mgd.helpcentre import services
from mgd.helpcentre.forms import CATEGORY_NAMES, ArticleForm
from mgd.helpcentre.models import HelpArticle
from mgd.security.audit import Origin
from mgd.web.forms import ButtonForm
from mgd.web.paging import page_number

bp = Blueprint("help_articles", __name__, url_prefix="/backoffice/ayuda")


def _slug_taken(form: ArticleForm) -> None:
    form.slug.errors.append(_("Another article already has this address: choose another."))


@bp.get("")
@supervisor_required
def index() -> str:
    page = services.all_articles(get_session(), page_number(request.args))
    return render_template("backoffice/help_articles.html", page=page, names=CATEGORY_NAMES)


@bp.route("/nuevo", methods=["GET", "POST"])
@supervisor_required
def new() -> Response | tuple[str, int]:
    form = ArticleForm()
    if form.validate_on_submit():
        try:
            row = services.create_article(
                get_session(), form.article_text(), current_user.id, Origin.of_request()
            )
        except services.SlugTaken:
            _slug_taken(form)
        else:
            flash(_("Article saved. It is not published yet."), "success")
            return redirect(url_for("help_articles.edit", article_id=row.id))
    return render_template(
        "backoffice/help_article.html", form=form, article=None
    ), 422 if form.errors else 200


def _article(article_id: int) -> HelpArticle:
    row = services.article(get_session(), article_id)
    if row is None:
        abort(404)
    return row


@bp.route("/<int:article_id>", methods=["GET", "POST"])
@supervisor_required
def edit(article_id: int) -> Response | tuple[str, int]:
    row = _article(article_id)
    # What is sent is what is saved: a field left out of a POST is empty, not the stored value.
    form = ArticleForm(obj=row if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            changed = services.update_article(
                get_session(), row, form.article_text(), current_user.id, Origin.of_request()
            )
        except services.SlugTaken:
            _slug_taken(form)
        else:
            flash(_("Article saved.") if changed else _("Nothing had changed."), "success")
            return redirect(url_for("help_articles.edit", article_id=row.id))
    return render_template(
        "backoffice/help_article.html", form=form, article=row, publish=ButtonForm()
    ), 422 if form.errors else 200


@bp.post("/<int:article_id>/publicar")
@supervisor_required
def publish(article_id: int) -> Response:
    return _set_published(article_id, True, _("Article published: everyone can read it."))


@bp.post("/<int:article_id>/retirar")
@supervisor_required
def withdraw(article_id: int) -> Response:
    return _set_published(article_id, False, _("Article withdrawn: only supervisors see it now."))


def _set_published(article_id: int, published: bool, done: str) -> Response:
    row = _article(article_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    services.set_published(get_session(), row, published, current_user.id, Origin.of_request())
    flash(done, "success")
    return redirect(url_for("help_articles.edit", article_id=row.id))

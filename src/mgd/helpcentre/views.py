"""The public help centre: the articles by category, a search, and each article."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _

from mgd.db import get_session
from mgd.helpcentre import services
from mgd.helpcentre.forms import CATEGORY_NAMES
from mgd.helpcentre.text import render
from mgd.web.paging import page_number
from mgd.web.shell import current_language

bp = Blueprint("helpcentre", __name__, url_prefix="/ayuda")


@bp.get("")
def index() -> tuple[str, int]:
    db, language = get_session(), current_language()
    query = request.args.get("q", "").strip()
    problem = None
    if len(query) > services.MAX_QUERY:
        problem = _("Search with at most %(count)s characters.", count=services.MAX_QUERY)
    results = None
    if query and problem is None:
        results = services.search(db, query, language, page_number(request.args))
    return render_template(
        "helpcentre/index.html",
        query=query,
        problem=problem,
        results=results,
        categories=None if query else services.published_by_category(db, language),
        names=CATEGORY_NAMES,
        language=language,
    ), 422 if problem else 200


@bp.get("/<slug>")
def article(slug: str) -> str:
    row = services.published_article(get_session(), slug)
    if row is None:
        abort(404)
    language = current_language()
    return render_template(
        "helpcentre/article.html",
        article=row,
        title=row.title(language),
        body=render(row.body(language)),
        category=CATEGORY_NAMES[row.category],
    )

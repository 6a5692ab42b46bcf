"""The back office's survey results under ``/backoffice/encuestas``: the chat's and the orders' 1-5 per month
and advisor (answers and mean), and the comments, newest first a page at a time; filtered by month (``mes``,
``YYYY-MM``) and kind (``tipo``: ``chat`` or ``order``). Anything else in the filters is ignored."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from mgd.backoffice import surveys
from mgd.backoffice.access import staff_required
from mgd.db import get_session

bp = Blueprint("backoffice_surveys", __name__, url_prefix="/backoffice/encuestas")


@bp.get("")
@staff_required
def index() -> str:
    kind = surveys.kind_arg(request.args.get("tipo"))
    month = surveys.month_arg(request.args.get("mes"))
    db = get_session()
    return render_template(
        "backoffice/surveys.html",
        kind=kind,
        month=month,
        results=surveys.results(db, kind=kind, month=month),
        comments=surveys.comments(
            db, kind=kind, month=month, after=request.args.get("after"), before=request.args.get("before")
        ),
        args={key: value for key, value in (("tipo", kind), ("mes", month)) if value},
    )

"""Who may open a back-office page: operator staff (``User.staff_role``), and for the help centre's articles
supervisors only. Anyone else gets a 404, as if the page did not exist."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

SUPERVISOR = "supervisor"


def _only(allowed):
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated or not allowed(current_user):
                abort(404)
            return view(*args, **kwargs)

        return wrapper

    return decorate


#: Any member of the operator's staff: advisors and supervisors.
staff_required = _only(lambda user: user.is_staff)
#: Supervisors only: they write the help centre's articles.
supervisor_required = _only(lambda user: user.staff_role == SUPERVISOR)

"""Who may open a back-office page: operator staff only; everyone else gets a 404, as if it did not exist."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user


def staff_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated or not current_user.is_staff:
            abort(404)
        return view(*args, **kwargs)

    return wrapper

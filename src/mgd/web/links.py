"""Links. Absolute ones, for emails and SMS, are built on ``MGD_PUBLIC_URL``, never on the Host header of the
request that caused the message (a forged Host would put an attacker's site in a real invitation); and the one
check that a redirect target stays on this site."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import current_app, url_for


def external_url(endpoint: str, **values: object) -> str:
    """The absolute URL of ``endpoint`` under ``MGD_PUBLIC_URL``; works in requests, jobs and commands.

    With no public URL (development only: production requires it) the current request's address is used.
    """
    public = current_app.config["PUBLIC_URL"]
    if not public:
        return url_for(endpoint, _external=True, **values)
    parts = urlsplit(public)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)


# C0 controls and DEL: browsers drop tabs and newlines inside a URL (``/\t/evil`` becomes ``//evil``) and
# a newline in a Location header would split the response.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def local_path(target: str | None, fallback: str) -> str:
    """``target`` if it is a path on this site, else ``fallback``: never a redirect to another site.

    Refused: control characters anywhere, backslashes (browsers read them as slashes), and anything
    that is not a single-slash path once parsed (``//host``, ``https://…``, ``javascript:…``).
    """
    if not target or _CONTROL.search(target) or "\\" in target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target

"""Absolute links for emails and SMS: built on ``MGD_PUBLIC_URL``, never on the Host header of the request
that caused the message (a forged Host would otherwise put an attacker's site in a real invitation)."""

from __future__ import annotations

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

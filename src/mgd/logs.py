"""Logging, set up once: JSON lines in production, readable text in development, each line carrying the id
of the request or job that wrote it. The portal writes one line per request (gunicorn's access log is off)."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO

from flask import Flask, Response, g, request

request_id: ContextVar[str] = ContextVar("mgd_request_id", default="-")

#: An incoming X-Request-ID (from the proxy) is kept only when it is a short token that is safe in logs.
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")
_HANDLER_NAME = "mgd"
#: Attributes every LogRecord has; anything else was passed with ``extra=`` and goes into the JSON object.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}

log = logging.getLogger("mgd.request")


def new_request_id(incoming: str | None = None) -> str:
    """``incoming`` when it is a safe token, else a fresh random id."""
    if incoming and _SAFE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class _WithRequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


def configure(log_format: str, stream: IO[str] | None = None) -> None:
    """Send the root logger's records to ``stream`` (stderr) as ``json`` or ``text``; calling it again
    replaces the portal's handler rather than adding a second one."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(_WithRequestId())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    # The portal logs each request itself; the development server's own access lines would double them.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin otherwise


def init_app(app: Flask) -> None:
    configure(app.config["LOG_FORMAT"])
    # Wired first by create_app, so that every later line of the request carries its id.
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_forget_request)


def _start_request() -> None:
    g.request_id = new_request_id(request.headers.get("X-Request-ID"))
    request_id.set(g.request_id)
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "-")
    elapsed_ms = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
    log.info(
        "%s %s %s %.1fms",
        request.method,
        request.path,
        response.status_code,
        elapsed_ms,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(elapsed_ms, 1),
            "endpoint": request.endpoint,
            "remote_addr": request.remote_addr,
        },
    )
    return response


def _forget_request(_exc: BaseException | None) -> None:
    request_id.set("-")  # the thread serves other requests next

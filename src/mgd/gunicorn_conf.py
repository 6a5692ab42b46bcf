"""gunicorn settings for ``mgd.wsgi:app``, used by ``mgd serve --production`` and by
``gunicorn -c python:mgd.gunicorn_conf --bind HOST:PORT mgd.wsgi:app`` (docs/deployment.md).

``WEB_CONCURRENCY`` overrides the number of worker processes; ``GUNICORN_CMD_ARGS`` any other setting.
"""

import multiprocessing
import os
import tempfile
from pathlib import Path

from mgd.config import parse_bool

bind = "127.0.0.1:8000"
# Processes for the CPU (a sign-in's password check is CPU work), threads for the waits on the database.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "gthread"
threads = 4
# The longest request is an Excel export of a large company's lines: well under a minute. A gthread worker's
# heartbeat does not wait for its requests, so this catches stuck processes; a restart lets exports finish.
timeout = 120
graceful_timeout = 120
keepalive = 5  # behind a proxy that keeps connections to the workers open
max_requests = 5000  # a fresh process now and then bounds any slow leak
max_requests_jitter = 500
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108 (heartbeats off the disk)

# The portal logs every request itself, with its request id (mgd.logs): gunicorn's access log would double it.
accesslog = None
errorlog = "-"
# Only the portal reads X-Forwarded-* (MGD_PROXY_HOPS, ProxyFix): gunicorn must not trust them on its own.
secure_scheme_headers: dict[str, str] = {}

# Metrics: each worker process writes its counters to files that /metrics adds up (prometheus_client's
# multiprocess mode). The folder must be known before a worker imports prometheus_client.
if parse_bool(os.environ.get("MGD_METRICS_ENABLED", "")) and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mgd-metrics-")


def on_starting(_server) -> None:
    """A previous run's files would add dead processes' values to this run's."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def child_exit(_server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # noqa: PLC0415 (after the folder is set)

        multiprocess.mark_process_dead(worker.pid)

"""gunicorn settings of the stream process (``mgd serve-stream``): few processes with many threads, since its
requests wait for chat news (up to ``MGD_CHAT_WAIT_SECONDS``) holding no database connection and almost no
CPU. Each thread holds one waiting request: ``STREAM_WORKERS`` × ``STREAM_THREADS`` is the most open
conversation pages it serves at once (both sides count). ``GUNICORN_CMD_ARGS`` overrides any setting."""

import os
from pathlib import Path

bind = "127.0.0.1:8001"
workers = int(os.environ.get("STREAM_WORKERS") or 2)
worker_class = "gthread"
threads = int(os.environ.get("STREAM_THREADS") or 500)
worker_connections = threads + 100
# A waiting request answers within MGD_CHAT_WAIT_SECONDS (25): this only catches stuck processes.
timeout = 120
graceful_timeout = 30  # the waits in flight answer "nothing new" early enough; the script asks again
keepalive = 75  # the proxy keeps its connections open between one wait and the next
max_requests = 0  # a restart would cut every waiting request of the process at once
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108

# As mgd.gunicorn_conf: the portal logs its requests; only the portal reads X-Forwarded-*.
accesslog = None
errorlog = "-"
secure_scheme_headers: dict[str, str] = {}

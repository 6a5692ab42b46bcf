"""The production topology on one machine, for the smoke test: nginx (TLS) in front of two gunicorn instances,
two ``mgd worker`` processes, PostgreSQL as the app role, Redis for the limiter and the broker, and the local
Twilio and SMTP peers. Every process runs in its own process group, in a temporary folder, on free ports."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy.engine import make_url

from mgd.crypto import new_key
from tests.live import TWILIO_SID, TWILIO_TOKEN, free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BROKER_DB, LIMITER_DB = 12, 13

NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log info;
events {{ worker_connections 256; }}
http {{
    log_format smoke '$msec $request_time $status "$upstream_addr" "$upstream_status" '
                     '$remote_addr "$http_x_smoke_id" "$request"';
    access_log {dir}/nginx-access.log smoke;
    client_body_temp_path {dir}/nginx-body;
    proxy_temp_path {dir}/nginx-proxy;
    fastcgi_temp_path {dir}/nginx-fastcgi;
    uwsgi_temp_path {dir}/nginx-uwsgi;
    scgi_temp_path {dir}/nginx-scgi;

    upstream portal {{
        server 127.0.0.1:{app_a} max_fails=1 fail_timeout=30s;
        server 127.0.0.1:{app_b} max_fails=1 fail_timeout=30s;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {dir}/tls.crt;
        ssl_certificate_key {dir}/tls.key;
        location / {{
            proxy_pass http://portal;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            # The next instance gets a request only when the first failed before it could act on it (no
            # connection) or when the method is idempotent; nginx never replays a POST an instance received.
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


def missing_services(database_url: str | None, redis_url: str | None) -> list[str]:
    """What this machine lacks to run the topology (empty: everything is there)."""
    missing = []
    if not (database_url or "").startswith("postgresql"):
        missing.append("PostgreSQL (MGD_TEST_DATABASE_URL)")
    if not redis_url:
        missing.append("Redis (a redis:// URL in MGD_TEST_BROKER_URL)")
    if nginx_binary() is None:
        missing.append("nginx (apt-get install nginx)")
    if shutil.which("openssl") is None:
        missing.append("openssl")
    return missing


def nginx_binary() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def wait_until(check, what: str, timeout: float = 60, every: float = 0.1):
    """Poll ``check`` until it returns something true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _group_alive(group: int) -> bool:
    """Whether a process of the process group still runs (zombies, which hold no socket, do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=10).ok
    except requests.RequestException:
        return False


@dataclass
class Stack:
    """Processes of the topology by name; ``stop`` ends every process group still running."""

    dir: Path
    env: dict[str, str]
    nginx_port: int = field(default_factory=free_port)
    app_ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def run(self, *argv: str) -> str:
        """Run an ``mgd`` command to its end with the deployment's settings (a failure shows its output)."""
        done = subprocess.run(  # noqa: S603 (our own command)
            [str(BIN / "mgd"), *argv],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"mgd {' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def spawn(self, name: str, *argv: str) -> subprocess.Popen:
        log = (self.dir / f"{name}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 (programs of the topology, fixed arguments)
            argv, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self, *, apps: tuple[str, ...], workers: tuple[str, ...], relay_every: int = 5) -> None:
        """gunicorn instances (with the repository's ``gunicorn.conf.py``, if there is one) and ``mgd worker``
        processes, booted side by side; returns once every one answers or consumes."""
        for name in apps:
            port = self.app_ports.setdefault(name, free_port())
            self.spawn(
                name, str(BIN / "gunicorn"), "mgd.wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "2"
            )
        for name in workers:
            self.spawn(name, str(BIN / "mgd"), "worker", "--threads", "2", "--relay-every", str(relay_every))
        for name in apps:
            url = f"http://127.0.0.1:{self.app_ports[name]}/"
            wait_until(lambda n=name, u=url: self._alive(n) and _answers(u), f"{name} answering")
        for name in workers:
            wait_until(lambda n=name: self._alive(n) and "worker:" in self.log(n), f"{name} consuming")

    @property
    def public_url(self) -> str:
        return f"https://127.0.0.1:{self.nginx_port}"

    def start_nginx(self) -> None:
        port = self.nginx_port
        certificate = [
            *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(self.dir / "tls.key"), "-out", str(self.dir / "tls.crt")),
        ]
        subprocess.run([shutil.which("openssl"), *certificate], check=True, capture_output=True)  # noqa: S603
        conf = self.dir / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                dir=self.dir, port=port, app_a=self.app_ports["app-a"], app_b=self.app_ports["app-b"]
            )
        )
        self.spawn("nginx", nginx_binary(), "-c", str(conf), "-p", str(self.dir))
        wait_until(lambda: self._alive("nginx") and _listening(port), "nginx listening")

    def _alive(self, name: str) -> bool:
        process = self.processes[name]
        assert process.poll() is None, f"{name} exited with {process.returncode}:\n{self.log(name)}"
        return True

    def kill(self, name: str) -> float:
        """SIGKILL a process and its children, as a crash or the out-of-memory killer would; returns the time
        when the last of them was gone (until then a listening socket still accepts connections)."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        wait_until(lambda: not _group_alive(process.pid), f"the processes of {name} to end", 10, every=0.01)
        return time.time()

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)


def production_env(
    *,
    dir: Path,
    app_url: str,
    owner_url: str,
    redis_url: str,
    twilio_port: int,
    smtp_port: int,
    public_url: str,
) -> dict[str, str]:
    """The settings of a production deployment (MGD_ENV=production), pointed at the local peers."""
    redis = make_url(redis_url)
    redis_base = f"redis://{redis.host or '127.0.0.1'}:{redis.port or 6379}"
    settings = {
        "ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ENCRYPTION_KEYS": new_key(),
        "DATABASE_URL": app_url,
        "DATABASE_OWNER_URL": owner_url,
        "INSTANCE_PATH": str(dir / "instance"),
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM": "+34600000000",
        "TWILIO_BASE_URL": f"http://127.0.0.1:{twilio_port}",
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_STARTTLS": "false",
        "RATELIMIT_STORAGE_URL": f"{redis_base}/{LIMITER_DB}",
        "BROKER_URL": f"{redis_base}/{BROKER_DB}",
        "SESSION_COOKIE_SECURE": "true",
        "PUBLIC_URL": public_url,
        "PROXY_HOPS": "1",
        "OUTBOX_LEASE_SECONDS": "8",
    }
    env = {key: value for key, value in os.environ.items() if not key.startswith("MGD_")}
    env.update({f"MGD_{name}": value for name, value in settings.items()})
    return env


def process_with_connection(processes: dict[str, subprocess.Popen], local_port: int) -> str:
    """The name of the process that holds the TCP connection from ``local_port`` (read from /proc)."""
    sockets = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == local_port:
            sockets.add(f"socket:[{fields[9]}]")
    for name, process in processes.items():
        if process.poll() is not None:
            continue
        for fd in Path(f"/proc/{process.pid}/fd").iterdir():
            try:
                if os.readlink(fd) in sockets:
                    return name
            except OSError:
                continue
    raise AssertionError(f"no process of the topology holds a connection from port {local_port}")

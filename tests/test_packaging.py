"""MGD installs like a package: its wheel, installed (not editable) into a fresh virtualenv and used from outside
the repository, migrates a new SQLite database and serves the sign-in page with its templates, translations and
static files. Offline: the wheel is built with this virtualenv's setuptools, and its dependencies are this one's."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from mgd.migrate import alembic_config

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "mgd"
#: Files of src/mgd that are for developers only: the catalogue sources (the compiled .mo ships).
NOT_SHIPPED = {".po", ".pot", ".pyc"}
PIP = (sys.executable, "-m", "pip")


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; its output, or a failure that shows it."""
    result = subprocess.run(  # noqa: S603 (our own interpreters and scripts)
        [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """A fresh virtualenv with MGD's wheel installed; returns (virtualenv, an empty folder outside the
    repository). The dependencies come from this virtualenv's site-packages, through a .pth file written only
    after the install, so that pip never sees (or touches) the editable MGD installed there."""
    base = tmp_path_factory.mktemp("package")
    source = base / "source"  # a clean copy: no stale build/ or egg-info of the repository gets in
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    offline = ("--quiet", "--no-deps", "--no-index")
    run(*PIP, "wheel", *offline, "--no-build-isolation", "--wheel-dir", base / "dist", source, cwd=base)
    [wheel] = (base / "dist").glob("mgd-*.whl")
    venv = base / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=base)
    python = venv / "bin" / "python"
    run(*PIP, "--python", python, "install", *offline, wheel, cwd=base)
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=base).strip()
    Path(purelib, "zz_mgd_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return venv, elsewhere


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any MGD setting or import path of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MGD_") and k != "PYTHONPATH"}
    return env | settings


def test_the_wheel_ships_every_file_the_portal_reads(installed):
    venv, elsewhere = installed
    where = run(venv / "bin" / "python", "-c", "import mgd; print(mgd.__file__)", cwd=elsewhere).strip()
    package = Path(where).parent
    assert package.is_relative_to(venv), f"imported {where}, not the installed package"
    wanted = {
        path.relative_to(SOURCE)
        for path in SOURCE.rglob("*")
        if path.is_file() and path.suffix not in NOT_SHIPPED and "__pycache__" not in path.parts
    }
    shipped = {path.relative_to(package) for path in package.rglob("*") if "__pycache__" not in path.parts}
    assert wanted - shipped == set()
    for needed in (
        "migrations/env.py",
        "migrations/script.py.mako",
        "security/common_passwords.txt",
        "templates/mail/sign_in.sms",
        "templates/mail/welcome.txt",
        "static/css/mgd.css.gz",
        "translations/es/LC_MESSAGES/messages.mo",
    ):
        assert Path(needed) in shipped, needed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, **headers: str):
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (a local http URL)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, dict(response.headers), response.read()


#: Run by the installed interpreter: where its revisions are, and the revision of the new database.
WHERE_MIGRATED = """
import json, sqlite3, mgd.migrate
database = sqlite3.connect("instance/mgd.sqlite3")
print(json.dumps([str(mgd.migrate.MIGRATIONS), database.execute("SELECT version_num FROM alembic_version").fetchall()]))
"""


def test_the_installed_package_migrates_a_new_database_and_serves_the_sign_in_page(installed):
    venv, elsewhere = installed
    env = clean_environment(MGD_INSTANCE_PATH=str(elsewhere / "instance"))
    run(venv / "bin" / "mgd", "db", "upgrade", cwd=elsewhere, env=env)
    migrated = json.loads(run(venv / "bin" / "python", "-c", WHERE_MIGRATED, cwd=elsewhere, env=env))
    assert Path(migrated[0]).is_relative_to(venv), "migrated with the repository's revisions"
    assert migrated[1] == [[ScriptDirectory.from_config(alembic_config(None)).get_current_head()]]

    port, log = free_port(), elsewhere / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(  # noqa: S603
            [venv / "bin" / "mgd", "serve", "--port", str(port)],
            cwd=elsewhere,
            env=env,
            stdout=output,
            stderr=output,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, body = get(f"http://127.0.0.1:{port}/login", **{"Accept-Language": "es"})
                break
            except OSError:
                assert server.poll() is None, f"mgd serve stopped:\n{log.read_text()}"
                assert time.monotonic() < deadline, "mgd serve did not answer within 30 s"
                time.sleep(0.2)
        page = body.decode()
        assert status == 200
        assert "¿Has olvidado tu contraseña?" in page  # the Spanish catalogue (.mo) shipped
        assert "/static/css/mgd.css" in page
        status, headers, css = get(
            f"http://127.0.0.1:{port}/static/css/mgd.css", **{"Accept-Encoding": "gzip"}
        )
        assert (status, headers.get("Content-Encoding")) == (200, "gzip")  # the gzipped copy shipped too
        assert css == (SOURCE / "static" / "css" / "mgd.css.gz").read_bytes()
    finally:
        server.terminate()
        server.wait(timeout=10)

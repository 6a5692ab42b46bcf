"""One test kit: fixtures come from the conftests pytest loads by itself, helpers from importable modules. No file
imports a conftest, and none imports a fixture to hand it on (an import only ruff's F401 waiver keeps)."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

TESTS = Path(__file__).parent
SOURCES = {
    str(path.relative_to(TESTS)): path.read_text(encoding="utf-8") for path in sorted(TESTS.rglob("*.py"))
}
WAIVES_F401 = re.compile(r"#\s*noqa\b(?!:)|#\s*noqa:[^#]*\bF401\b")


def imported_modules(source: str) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            modules += [module] if node.module else [module + alias.name for alias in node.names]
    return modules


def comments(source: str) -> list[str]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [token.string for token in tokens if token.type == tokenize.COMMENT]


def conftest_imports(source: str) -> list[str]:
    return [module for module in imported_modules(source) if module.rsplit(".", 1)[-1] == "conftest"]


def f401_waivers(source: str) -> list[str]:
    return [comment for comment in comments(source) if WAIVES_F401.search(comment)]


def test_no_file_imports_a_conftest():
    assert "conftest.py" in SOURCES and "admin/test_users.py" in SOURCES
    offenders = {
        name: conftest_imports(source) for name, source in SOURCES.items() if conftest_imports(source)
    }
    assert offenders == {}, "import helpers from tests/kit.py (or another module), never from a conftest"


def test_no_file_re_exports_fixtures_under_a_noqa():
    offenders = {name: f401_waivers(source) for name, source in SOURCES.items() if f401_waivers(source)}
    assert offenders == {}, "a fixture used by several directories belongs in tests/conftest.py"


def test_the_checks_catch_what_they_look_for():
    source = (
        "from tests.registration.conftest import post  # noqa: F401\n"
        "import tests.conftest\n"
        "from . import conftest\n"
        "from .conftest import acme  # noqa: E402, F401 (a fixture)\n"
        "from tests.kit import post  # noqa: F811\n"
        "text = '# noqa: F401'\n"
    )
    assert conftest_imports(source) == [
        "tests.registration.conftest",
        "tests.conftest",
        ".conftest",
        ".conftest",
    ]
    assert f401_waivers(source) == ["# noqa: F401", "# noqa: E402, F401 (a fixture)"]
    assert f401_waivers("import pytest  # noqa\n") == ["# noqa"]

"""The state diagram of registration, generated from the machine, for ``docs/registration.md``.

``python -m mgd.registration.diagram`` rewrites the diagram block of that page; a test fails when it is stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from statemachine.contrib.diagram import formatter

from mgd.registration.machine import RegistrationMachine

DOC = Path(__file__).resolve().parents[3] / "docs" / "registration.md"
BLOCK = re.compile(r"(<!-- diagram:start -->\n```mermaid\n)(.*?)(```\n<!-- diagram:end -->)", re.DOTALL)


def mermaid() -> str:
    return formatter.render(RegistrationMachine, "mermaid").rstrip() + "\n"


def with_current_diagram(text: str) -> str:
    if not BLOCK.search(text):
        raise ValueError("no diagram block (<!-- diagram:start --> … <!-- diagram:end -->) in the page")
    return BLOCK.sub(lambda match: match.group(1) + mermaid() + match.group(3), text)


if __name__ == "__main__":
    DOC.write_text(with_current_diagram(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    sys.stdout.write(f"updated {DOC}\n")

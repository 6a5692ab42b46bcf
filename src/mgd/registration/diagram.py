"""The state diagram of registration, generated from the machine, for ``docs/registration.md``.

``python -m mgd.registration.diagram`` rewrites the diagram block of that page; a test fails when it is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mgd import diagrams
from mgd.registration.machine import RegistrationMachine

DOC = Path(__file__).resolve().parents[3] / "docs" / "registration.md"


def mermaid() -> str:
    return diagrams.mermaid(RegistrationMachine)


def with_current_diagram(text: str) -> str:
    return diagrams.with_diagram(text, RegistrationMachine)


if __name__ == "__main__":
    DOC.write_text(with_current_diagram(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    sys.stdout.write(f"updated {DOC}\n")

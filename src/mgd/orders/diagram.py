"""The state diagram of orders, generated from the machine, for ``docs/orders.md``.

``python -m mgd.orders.diagram`` rewrites the diagram block of that page; a test fails when it is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mgd.diagrams import with_diagram
from mgd.orders.machine import OrderMachine

DOC = Path(__file__).resolve().parents[3] / "docs" / "orders.md"

if __name__ == "__main__":
    DOC.write_text(with_diagram(DOC.read_text(encoding="utf-8"), OrderMachine), encoding="utf-8")
    sys.stdout.write(f"updated {DOC}\n")

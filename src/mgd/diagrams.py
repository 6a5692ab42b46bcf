"""State diagrams in the docs, generated from the state machines (python-statemachine): a page's block
between ``<!-- diagram:start -->`` and ``<!-- diagram:end -->`` holds the machine as Mermaid; tests fail
when it is stale."""

from __future__ import annotations

import re

from statemachine import StateMachine
from statemachine.contrib.diagram import formatter

BLOCK = re.compile(r"(<!-- diagram:start -->\n```mermaid\n)(.*?)(```\n<!-- diagram:end -->)", re.DOTALL)


def mermaid(machine: type[StateMachine]) -> str:
    return formatter.render(machine, "mermaid").rstrip() + "\n"


def with_diagram(text: str, machine: type[StateMachine]) -> str:
    """``text`` (a docs page) with its diagram block replaced by ``machine``'s current diagram."""
    if not BLOCK.search(text):
        raise ValueError("no diagram block (<!-- diagram:start --> … <!-- diagram:end -->) in the page")
    return BLOCK.sub(lambda match: match.group(1) + mermaid(machine) + match.group(3), text)

from mgd.diagrams import with_diagram
from mgd.orders.diagram import DOC
from mgd.orders.machine import OrderMachine


def test_the_documented_diagram_is_the_machine():
    text = DOC.read_text(encoding="utf-8")
    assert with_diagram(text, OrderMachine) == text, "run `python -m mgd.orders.diagram`"

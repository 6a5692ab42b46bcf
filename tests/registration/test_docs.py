from mgd.registration.diagram import DOC, mermaid, with_current_diagram


def test_the_documented_diagram_is_the_machine():
    text = DOC.read_text(encoding="utf-8")
    assert with_current_diagram(text) == text, "run `python -m mgd.registration.diagram`"
    assert "identify --> phone : Identified" in mermaid()

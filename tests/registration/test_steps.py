"""The registration steps are declared once (``steps.STEPS``): the machine, the stored values, the pages, the
progress bar and the diagram follow from that list, and nothing else in registration lists them."""

import ast
import re
from pathlib import Path

from mgd.registration.machine import RegistrationMachine
from mgd.registration.models import RegistrationFlow
from mgd.registration.steps import ACTIVE_STEPS, STEP_NAMES, STEP_PAGES, STEPS
from tests.kit import post, text

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "mgd" / "registration"
TEMPLATES = PACKAGE.parent / "templates" / "registration"
# The end page words each way a flow can end; that is wording, not the order of the flow.
WORDING = {("views.py", frozenset({"done", "locked", "expired"}))}


def test_the_machine_has_a_state_per_step_in_order():
    assert [state.id for state in RegistrationMachine.states] == list(STEP_NAMES)
    assert [state.name for state in RegistrationMachine.states] == [step.label for step in STEPS]
    assert [state.id for state in RegistrationMachine.states if state.initial] == [STEPS[0].name]
    finals = [state.id for state in RegistrationMachine.states if state.final]
    assert (
        finals == [step.name for step in STEPS if not step.active] == ["done", "refused", "locked", "expired"]
    )


def test_the_machine_moves_exactly_as_the_steps_declare():
    declared = {(step.name, event, target) for step in STEPS for event, target in step.events.items()}
    built = {
        (transition.source.id, str(event), transition.target.id)
        for state in RegistrationMachine.states
        for transition in state.transitions
        for event in transition.events
    }
    assert built == declared
    assert len(declared) == 19


def test_every_active_step_has_its_page_and_can_expire(app):
    assert ACTIVE_STEPS == ("identify", "phone", "mobile", "bank", "code")
    for step in STEPS:
        if step.active:
            assert step.page in app.view_functions, step.name
            assert step.stage is not None, step.name
            assert step.events.get("expire") == "expired", "an idle flow is expired from any active step"
        else:
            assert step.page is None and step.stage is None, step.name
    assert {step.name: f"registration.{step.name}" for step in STEPS if step.active} == STEP_PAGES


def test_the_stored_state_accepts_exactly_the_steps():
    assert RegistrationFlow.__table__.c.state.type.enums == list(STEP_NAMES)


def test_the_progress_bar_shows_the_stages_and_marks_the_current_one(client, companies):
    def progress(page):
        bar = re.search(r'<ol class="progress".*?</ol>', page, re.DOTALL).group(0)
        return re.findall(r"<li( aria-current=\"step\" class=\"current\")?>([^<]*)</li>", bar)

    first = progress(text(client.get("/register")))
    assert [label for _, label in first] == ["Company", "Phone", "Bank account", "Code"]
    assert [label for current, label in first if current] == ["Company"]
    post(client, "/register", {"fiscal_id": "X1234567L", "email": "ambos@example.es"})
    assert post(client, "/register/phone", {"phone": "922222222"}).headers["Location"] == "/register/mobile"
    marked = [label for current, label in progress(text(client.get("/register/mobile"))) if current]
    assert marked == ["Phone"], "the mobile step is shown as the phone stage"


def test_nothing_else_in_registration_lists_the_steps():
    found = set()
    for path in PACKAGE.glob("*.py"):
        if path.name == "steps.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                items = node.keys
            elif isinstance(node, ast.Tuple | ast.List | ast.Set):
                items = node.elts
            else:
                continue
            named = frozenset(i.value for i in items if isinstance(i, ast.Constant) and i.value in STEP_NAMES)
            if len(named) >= 2:
                found.add((path.name, named))
    assert found == WORDING
    quoted = re.compile("[\"']({})[\"']".format("|".join(STEP_NAMES)))
    for template in TEMPLATES.glob("*.html"):
        assert len(set(quoted.findall(template.read_text(encoding="utf-8")))) <= 1, template.name

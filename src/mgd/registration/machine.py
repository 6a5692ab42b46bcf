"""The registration flow as a declared state machine (python-statemachine), persisted in
``RegistrationFlow.state``. Services decide which event happened; the machine refuses any transition that the
flow's current step does not allow, so a replayed or out-of-order form can never move a flow sideways.
Its states and transitions are built from the step list (``steps.STEPS``)."""

from __future__ import annotations

import types

from statemachine import State, StateMachine
from statemachine.transition_list import TransitionList

from mgd.registration.models import RegistrationFlow
from mgd.registration.steps import STEPS


def _declare(namespace: dict) -> None:
    """Fill the machine's class body: a state per step (the first one initial, the ends final), an event per
    name, with every transition the steps declare for it."""
    states = {
        step.name: State(step.label, initial=index == 0, final=not step.active)
        for index, step in enumerate(STEPS)
    }
    events: dict[str, TransitionList] = {}
    for step in STEPS:
        for event, target in step.events.items():
            transition = states[step.name].to(states[target])
            events[event] = events[event] | transition if event in events else transition
    namespace.update(states)
    namespace.update(events)
    namespace["__module__"] = __name__


RegistrationMachine: type[StateMachine] = types.new_class(
    "RegistrationMachine", (StateMachine,), exec_body=_declare
)


def machine(flow: RegistrationFlow) -> StateMachine:
    """The machine of a stored flow: events move ``flow.state``."""
    return RegistrationMachine(model=flow, state_field="state")

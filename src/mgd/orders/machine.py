"""An order's life as a declared state machine (python-statemachine): which event may move it from which
state. Services check an event against it before the database's conditional UPDATE makes the move."""

from __future__ import annotations

from statemachine import State, StateMachine


class OrderMachine(StateMachine):
    """submitted → in progress → completed; rejected from either open state; cancelled by the customer
    while nobody has taken it. An order above the company's approval threshold is held when placed
    (``hold``, → awaiting approval): another administrator of the company approves it (→ submitted, the
    operator's queue) or declines it (→ rejected); its requester may cancel it meanwhile."""

    submitted = State("Submitted", initial=True)
    awaiting_approval = State("Awaiting approval")
    in_progress = State("In progress")
    completed = State("Completed", final=True)
    rejected = State("Rejected", final=True)
    cancelled = State("Cancelled", final=True)

    take = submitted.to(in_progress)
    complete = in_progress.to(completed)
    reject = submitted.to(rejected) | in_progress.to(rejected)
    cancel = submitted.to(cancelled) | awaiting_approval.to(cancelled)
    hold = submitted.to(awaiting_approval)
    approve = awaiting_approval.to(submitted)
    decline = awaiting_approval.to(rejected)


#: Events an advisor or the provisioning job may send (``cancel``, ``approve`` and ``decline`` are the
#: customer's).
STAFF_EVENTS = ("take", "complete", "reject")


def target_of(state: str, event: str) -> str | None:
    """The state ``event`` moves an order in ``state`` to, or None when the machine does not allow it."""
    for source in OrderMachine.states:
        if source.id == state:
            for transition in source.transitions:
                if event in transition.events:
                    return transition.target.id
    return None

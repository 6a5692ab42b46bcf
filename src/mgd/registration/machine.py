"""The registration flow as a declared state machine (python-statemachine), persisted in
``RegistrationFlow.state``. Services decide which event happened; the machine refuses any transition that the
flow's current step does not allow, so a replayed or out-of-order form can never move a flow sideways."""

from __future__ import annotations

from statemachine import State, StateMachine

from mgd.registration.models import RegistrationFlow


class RegistrationMachine(StateMachine):
    identify = State("Fiscal ID and email", initial=True)
    phone = State("A phone of the company")
    mobile = State("A mobile for the codes")
    bank = State("Bank accounts")
    code = State("One-time code")
    done = State("Registered", final=True)
    refused = State("Refused", final=True)
    locked = State("Locked", final=True)
    expired = State("Expired", final=True)

    identified = identify.to(phone)
    refuse = identify.to(refused) | code.to(refused)
    fixed_phone_given = phone.to(mobile)
    phone_accepted = phone.to(bank)
    mobile_accepted = mobile.to(bank)
    accounts_accepted = bank.to(code)
    code_accepted = code.to(done)
    lock = phone.to(locked) | mobile.to(locked) | bank.to(locked) | code.to(locked)
    expire = (
        identify.to(expired) | phone.to(expired) | mobile.to(expired) | bank.to(expired) | code.to(expired)
    )


def machine(flow: RegistrationFlow) -> RegistrationMachine:
    """The machine of a stored flow: events move ``flow.state``."""
    return RegistrationMachine(model=flow, state_field="state")

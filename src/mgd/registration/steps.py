"""The registration steps, declared once: the machine (``machine.py``), the stored ``state`` values, the step
pages, the progress bar and the diagram all derive from ``STEPS``. A new step: add it here, then its view."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString


@dataclass(frozen=True)
class Step:
    """One state of a registration flow, as stored in ``RegistrationFlow.state``.

    An active step has ``events`` (event → next step), a ``page`` (the endpoint where the visitor takes it)
    and a ``stage``, its item of the progress bar (steps shown as one item share a label). An end has none.
    """

    name: str
    label: str  # the state's name in the diagram
    page: str | None = None
    stage: LazyString | None = None
    events: Mapping[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.events)

    @property
    def back(self) -> str | None:
        """The step a visitor may return to from this one (its ``back`` event). None from the code step: its
        code is sent, and going back would send another outside the resend limits."""
        return self.events.get("back")


STEPS = (
    Step(
        "identify",
        "Fiscal ID and email",
        "registration.identify",
        _l("Company"),
        {"identified": "phone", "refuse": "refused", "expire": "expired"},
    ),
    Step(
        "phone",
        "A phone of the company",
        "registration.phone",
        _l("Phone"),
        {"fixed_phone_given": "mobile", "phone_accepted": "bank", "lock": "locked", "expire": "expired"},
    ),
    Step(
        "mobile",
        "A mobile for the codes",
        "registration.mobile",
        _l("Phone"),
        {"mobile_accepted": "bank", "back": "phone", "lock": "locked", "expire": "expired"},
    ),
    Step(
        "bank",
        "Bank accounts",
        "registration.bank",
        _l("Bank account"),
        {"accounts_accepted": "code", "back": "phone", "lock": "locked", "expire": "expired"},
    ),
    Step(
        "code",
        "One-time code",
        "registration.code",
        _l("Code"),
        {"refuse": "refused", "code_accepted": "done", "lock": "locked", "expire": "expired"},
    ),
    Step("done", "Registered"),
    Step("refused", "Refused"),
    Step("locked", "Locked"),
    Step("expired", "Expired"),
)

STEP_NAMES = tuple(step.name for step in STEPS)
ACTIVE_STEPS = tuple(step.name for step in STEPS if step.active)
STEP_PAGES = {step.name: step.page for step in STEPS if step.page}
BACK = {step.name: step.back for step in STEPS if step.back}


def progress() -> list[tuple[str, tuple[str, ...]]]:
    """The progress bar, in the current locale: each item's label and the steps it stands for."""
    items: list[tuple[str, tuple[str, ...]]] = []
    for step in STEPS:
        if step.stage is None:
            continue
        label = str(step.stage)
        if items and items[-1][0] == label:
            items[-1] = (label, (*items[-1][1], step.name))
        else:
            items.append((label, (step.name,)))
    return items

"""What each kind of order is called, how long the back office has for it (the SLA targets), which kinds
the provisioning job does on its own, and the sub-states an advisor can put an order in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext


@dataclass(frozen=True)
class Kind:
    code: str
    slug: str  # its part of the URL of the new-order form
    name: object  # a lazy string
    target: timedelta  # the SLA: how long an order may stay in ``submitted`` or ``in_progress``
    automatic: bool = False  # done by the provisioning job (``tasks.provision_order``)
    needs_line: bool = True


KINDS: dict[str, Kind] = {
    kind.code: kind
    for kind in (
        Kind("tariff_change", "cambio-tarifa", _l("Tariff change"), timedelta(hours=48)),
        Kind("voicemail_reset", "buzon-voz", _l("Voicemail reset"), timedelta(hours=4), automatic=True),
        Kind(
            "premium_block",
            "bloqueo-tarificacion",
            _l("Premium-rate blocking"),
            timedelta(hours=4),
            automatic=True,
        ),
        Kind("roaming", "roaming", _l("Roaming"), timedelta(hours=24)),
        Kind("enquiry", "consulta", _l("General enquiry"), timedelta(hours=72), needs_line=False),
    )
}
BY_SLUG = {kind.slug: kind for kind in KINDS.values()}

#: An order's state as the pages say it (in Spanish an order, "pedido", is masculine: a context of its own).
STATE_NAMES = {
    "submitted": lazy_pgettext("order", "Submitted"),
    "in_progress": lazy_pgettext("order", "In progress"),
    "completed": lazy_pgettext("order", "Completed"),
    "rejected": lazy_pgettext("order", "Rejected"),
    "cancelled": lazy_pgettext("order", "Cancelled"),
    "awaiting_approval": lazy_pgettext("order", "Awaiting approval"),
}

#: Where an order in progress stands, as an advisor moves it.
SUB_STATES = {
    "with_advisor": _l("With an advisor"),
    "waiting_customer": _l("Waiting for the customer"),
    "with_provisioning": _l("With the network team"),
}

"""What each kind of order is called, how long the back office has for it (the SLA targets), which kinds
the provisioning job does on its own, and the sub-states an advisor can put an order in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

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
        Kind("sim_duplicate", "duplicado-sim", _l("SIM duplicate"), timedelta(hours=72)),
        Kind(
            "suspension",
            "suspension-perdida-robo",
            _l("Suspend or restore a lost or stolen line"),
            timedelta(hours=1),
            automatic=True,
        ),
        Kind("bundle", "bonos", _l("Bundles and options"), timedelta(hours=4), automatic=True),
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

#: The steps of a SIM duplicate while in progress, in their only order: the advisor prepares the card,
#: ships it (carrier and tracking number, which the customer sees), marks it delivered, and completing the
#: order activates it (the new ICCID is recorded on the line).
SIM_STEPS = {
    "preparing": _l("Preparing the SIM"),
    "shipped": _l("SIM shipped"),
    "delivered": _l("SIM delivered"),
}
#: Where each step comes from (``services.sim_step``: one conditional UPDATE on the sub-state).
SIM_STEP_FROM = {"shipped": "preparing", "delivered": "shipped"}
#: A SIM duplicate's first sub-state once taken.
FIRST_SUB_STATE = {"sim_duplicate": "preparing"}
#: The carriers an advisor chooses from, and the page where a customer follows a parcel (``{}``: its number).
CARRIERS = {
    "correos": (
        "Correos",
        "https://www.correos.es/es/es/herramientas/localizador/envios/detalle?tracking-number={}",
    ),
    "seur": ("SEUR", "https://www.seur.com/livetracking/?segOnlineIdentificador={}"),
    "mrw": ("MRW", "https://www.mrw.es/seguimiento_envios/MRW_resultados_consultas.asp?num={}"),
    "other": (_l("Other carrier"), ""),
}
#: Why a line is suspended (``lines.suspension_reason``).
SUSPENSION_REASON_NAMES = {"lost": _l("Lost"), "stolen": _l("Stolen")}


def tracking_url(payload: dict) -> str | None:
    """The carrier's page where a shipped SIM is followed, when the carrier has one."""
    carrier = CARRIERS.get(payload.get("carrier") or "")
    if not carrier or not carrier[1] or not payload.get("tracking"):
        return None
    return carrier[1].format(quote(payload["tracking"], safe=""))


def carrier_name(code: str | None) -> str:
    return str(CARRIERS[code][0]) if code in CARRIERS else (code or "")

"""The orders' words for templates, shared by the customer's pages and the back office's: kind, state and
sub-state names, countries, days and euros in the reader's language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel import Locale
from flask_babel import format_currency, format_date, get_locale

from mgd.orders.kinds import (
    KINDS,
    SIM_STEPS,
    STATE_NAMES,
    SUB_STATES,
    SUSPENSION_REASON_NAMES,
    carrier_name,
    tracking_url,
)
from mgd.tenants.addresses import PROVINCES


def country_name(code: str | None) -> str:
    return Locale.parse(str(get_locale())).territories.get(code or "", code or "")


def day(iso: str | None) -> str:
    """A day the payload keeps as ISO text, as the reader writes days."""
    return format_date(date.fromisoformat(iso)) if iso else ""


def money(amount: Decimal | str) -> str:
    return format_currency(Decimal(amount), "EUR")


def template_words() -> dict:
    return {
        "kinds": KINDS,
        "state_names": STATE_NAMES,
        "sub_states": SUB_STATES | SIM_STEPS,
        "suspension_reasons": SUSPENSION_REASON_NAMES,
        "carrier_name": carrier_name,
        "tracking_link": tracking_url,
        "province_name": lambda code: PROVINCES.get(code or "", code or ""),
        "country_name": country_name,
        "day": day,
        "money": money,
    }

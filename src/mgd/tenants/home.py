"""The cards of a company's home page that features contribute (billing's balance, say): each is a function
of the tenant returning HTML, or None to show nothing. A feature registers its card when its blueprint is
registered; the home page renders them in that order without knowing the features."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app
from markupsafe import Markup

from mgd.tenants.context import Tenant

Card = Callable[[Tenant], Markup | None]
_KEY = "mgd.home_cards"


def add_home_card(app: Flask, card: Card) -> None:
    app.extensions.setdefault(_KEY, []).append(card)


def home_cards(tenant: Tenant) -> list[Markup]:
    """The registered cards for ``tenant``, in registration order; a card that shows nothing is left out."""
    return [shown for card in current_app.extensions.get(_KEY, ()) if (shown := card(tenant)) is not None]

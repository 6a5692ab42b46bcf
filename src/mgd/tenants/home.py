"""The cards of a company's home page that features contribute (billing's balance, say): each is a function
of the tenant returning HTML, or None to show nothing. A feature registers its card when its blueprint is
registered; the home page renders them in that order without knowing the features.

A card whose figures are a few sums may give them as a one-row query (``figures``) instead of reading them
itself: the home page reads them with its own statement (the page's statement budget, ``tests/test_edge.py``)
and the card gets the row (``card(tenant, row)``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import Flask, current_app
from markupsafe import Markup
from sqlalchemy import Select, select, true
from sqlalchemy.orm import Session

from mgd.tenants.context import Tenant

Card = Callable[..., Markup | None]  # (tenant) or, with figures, (tenant, row)
Figures = Callable[[Tenant], Select | None]  # a query of one row (aggregates, no GROUP BY), or None: no card
_KEY = "mgd.home_cards"


@dataclass(frozen=True)
class _Entry:
    card: Card
    figures: Figures | None


def add_home_card(app: Flask, card: Card, figures: Figures | None = None) -> None:
    app.extensions.setdefault(_KEY, []).append(_Entry(card, figures))


def home_page(session: Session, tenant: Tenant, own: Select) -> tuple[Sequence, list[Markup]]:
    """The row of the page's ``own`` one-row query and the registered cards for ``tenant``, in registration
    order (a card that shows nothing is left out): ``own`` and every card's figures in one statement."""
    entries = current_app.extensions.get(_KEY, ())
    queries = {index: entry.figures(tenant) for index, entry in enumerate(entries) if entry.figures}
    parts = [own.subquery(), *(query.subquery() for query in queries.values() if query is not None)]
    joined = parts[0]
    for part in parts[1:]:  # one row each: joined on nothing
        joined = joined.join(part, true())
    row = session.execute(select(*(column for part in parts for column in part.c)).select_from(joined)).one()
    width = len(parts[0].c)
    values, rows = row[:width], {}
    for index, query in queries.items():
        if query is not None:
            size = len(query.selected_columns)
            rows[index], width = row[width : width + size], width + size
    cards = []
    for index, entry in enumerate(entries):
        if entry.figures is None:
            shown = entry.card(tenant)
        else:
            shown = entry.card(tenant, rows[index]) if index in rows else None
        if shown is not None:
            cards.append(shown)
    return values, cards

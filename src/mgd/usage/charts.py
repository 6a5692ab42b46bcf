"""Rankings as charts drawn on the server: one horizontal SVG bar per item (a line, a cost centre), longest
first, its value written at its end. No script and no external file; the page shows the same figures in a
table beside it."""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup, escape

WIDTH = 640
LABEL = 190  # the left column with the names
BAR_H, GAP, TOP = 18, 8, 4
COLOUR = "#0072B2"  # the first Okabe–Ito colour, as billing's charts


def ranking_bars(
    chart_id: str,
    title: str,
    items: list[tuple[str, int]],
    shown: Callable[[int], str],
    *,
    description: str = "",
) -> Markup:
    """An accessible SVG (``role="img"`` with a title and a description) of ``items`` (name, value ≥ 0) as
    bars scaled to the largest; ``shown`` writes a value as the page does (euros, minutes, GB). ``chart_id``
    keeps the ids of two charts on one page apart."""
    top = max((value for _name, value in items), default=0) or 1
    height = TOP * 2 + len(items) * (BAR_H + GAP)
    room = WIDTH - LABEL - 96  # space left at the right of the longest bar for its value
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {max(height, BAR_H + GAP)}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for index, (name, value) in enumerate(items):
        y = TOP + index * (BAR_H + GAP)
        width = room * max(value, 0) / top
        text = escape(shown(value))
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + 13}" text-anchor="end" fill="#0b2739">{escape(name[:28])}</text>'
            f'<rect x="{LABEL}" y="{y}" width="{width:.1f}" height="{BAR_H}" fill="{COLOUR}">'
            f"<title>{escape(name)}: {text}</title></rect>"
            f'<text x="{LABEL + width + 6:.1f}" y="{y + 13}" fill="#0b2739">{text}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text in it went through escape above)

"""Spend as a chart drawn on the server: stacked SVG bars, one per billing period, a colour per series (cost
centres, say), with a legend. No script and no external file; the page shows the same figures in a table."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

#: Colours that stay apart for common colour blindness (Okabe–Ito), then a grey for "the rest".
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
REST = "#8a97a1"
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 12, 40


@dataclass(frozen=True)
class Series:
    name: str
    values: list[int]  # cents, one per period
    rest: bool = False  # the sum of the series left out: grey


def top_series(series: dict[str | None, list[int]], *, keep: int, unnamed: str, rest: str) -> list[Series]:
    """The ``keep`` series that spent most, by name, then one series adding up all the others (``rest``);
    the key None (no name) is shown as ``unnamed``."""
    ranked = sorted(series.items(), key=lambda item: (-sum(item[1]), item[0] or ""))
    chosen = [Series(unnamed if name is None else name, values) for name, values in ranked[:keep]]
    others = [values for _name, values in ranked[keep:]]
    if others:
        chosen.append(Series(rest, [sum(column) for column in zip(*others, strict=True)], rest=True))
    return chosen


def _nice_top(value: int) -> int:
    """A round number of cents at or above ``value`` for the top of the axis (1, 2 or 5 × 10ⁿ euros)."""
    step = 100
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def stacked_bars(
    title: str, labels: list[str], series: list[Series], money, *, description: str = ""
) -> Markup:
    """An accessible SVG (``role="img"`` with a title and a description) of ``series`` stacked over the
    periods named by ``labels``; ``money`` formats cents for the axis and the tooltips."""
    count = max(len(labels), 1)
    totals = [sum(s.values[index] for s in series if s.values[index] > 0) for index in range(len(labels))]
    top = _nice_top(max(totals, default=0) or 100)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / count
    bar = slot * 0.7
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 24 * ((len(series) + 2) // 3)}" role="img" '
        f'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="system-ui, sans-serif" font-size="11">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(description)}</desc>',
    ]
    for step in range(5):  # the axis: 0, ¼, ½, ¾ and the top
        value = top * step // 4
        y = TOP + plot_h - plot_h * step / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d5dbe0"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#51606b">'
            f"{escape(money(value))}</text>"
        )
    for index, label in enumerate(labels):
        x = LEFT + slot * index + (slot - bar) / 2
        base = TOP + plot_h
        for colour, item in zip(_colours(series), series, strict=True):
            value = item.values[index]
            if value <= 0:
                continue
            height = plot_h * value / top
            base -= height
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{height:.1f}" fill="{colour}">'
                f"<title>{escape(label)} · {escape(item.name)}: {escape(money(value))}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" '
            f'fill="#0b2739">{escape(label)}</text>'
        )
    for number, (colour, item) in enumerate(zip(_colours(series), series, strict=True)):
        x = LEFT + (number % 3) * (plot_w / 3)
        y = HEIGHT + 24 * (number // 3)
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 18:.1f}" y="{y}" fill="#0b2739">{escape(item.name[:28])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text in it went through escape above)


def _colours(series: list[Series]) -> list[str]:
    return [REST if item.rest else PALETTE[n % len(PALETTE)] for n, item in enumerate(series)]

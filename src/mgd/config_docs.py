"""The settings table of ``docs/configuration.md``, generated from ``mgd.config.SETTINGS``:
``python -m mgd.config_docs`` rewrites it, and a test fails when the page is stale."""

from __future__ import annotations

import re
from pathlib import Path

from mgd.config import PREFIX, SETTINGS, Setting, _parse_int, parse_bool, parse_clock, parse_dates, parse_rate

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
_TABLE = re.compile(r"(<!-- settings:start -->\n)(.*?)(<!-- settings:end -->)", re.DOTALL)
_TYPES = {
    _parse_int: "integer",
    parse_bool: "boolean",
    str: "text",
    parse_rate: "rate (`N/period`)",
    parse_clock: "time (`HH:MM`)",
    parse_dates: "days (`YYYY-MM-DD,…`)",
}


def _doc_default(setting: Setting) -> str:
    if setting.default == "":
        return "(empty)"
    if isinstance(setting.default, bool):
        return "`true`" if setting.default else "`false`"
    return f"`{setting.default}`"


def settings_table() -> str:
    """The Markdown table of every setting, generated from ``SETTINGS``."""
    rows = ["| variable | type | default | meaning |", "|---|---|---|---|"]
    for setting in SETTINGS:
        kind = _TYPES[setting.parse]
        if setting.choices:
            kind = "choice: " + " \\| ".join(f"`{choice}`" for choice in setting.choices)
        rows.append(f"| `{PREFIX}{setting.name}` | {kind} | {_doc_default(setting)} | {setting.help} |")
    return "\n".join(rows) + "\n"


def with_current_table(text: str) -> str:
    if not _TABLE.search(text):
        raise ValueError("no settings block (<!-- settings:start --> … <!-- settings:end -->) in the page")
    return _TABLE.sub(lambda match: match.group(1) + settings_table() + match.group(3), text)


if __name__ == "__main__":  # python -m mgd.config_docs rewrites the table of docs/configuration.md
    DOC.write_text(with_current_table(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated {DOC}")

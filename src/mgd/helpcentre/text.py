"""The text of help articles: folded for searching, and their limited Markdown rendered as safe HTML.

The Markdown is a small, predictable subset: paragraphs (blank line between them), ``## `` and ``### ``
headings, ``- `` lists, ``1. `` numbered lists, ``**bold**`` and links to the portal's own pages
(``[text](/path)``) or to ``https://`` addresses. Everything else is text: the body is escaped before any
of it is read, so no HTML an author types reaches the page.
"""

from __future__ import annotations

import re
import unicodedata

from markupsafe import Markup, escape


def fold(text: str) -> str:
    """``text`` in lower case without accents or other marks (``Facturación`` → ``facturacion``), and its
    spaces collapsed: the form both the stored search text and the words searched for take."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


_BOLD = re.compile(r"\*\*(.+?)\*\*")
# After escaping: the text has no quote or angle bracket left, so an address cannot leave its attribute.
_LINK = re.compile(r"\[([^\]\n]+)\]\(((?:/(?!/)|https://)[^\s()]*)\)")
_BULLET = re.compile(r"[-*] +(.*)")
_NUMBERED = re.compile(r"\d{1,3}[.)] +(.*)")
_HEADING = re.compile(r"(#{2,3}) +(.*)")


def _inline(line: str) -> str:
    html = str(escape(line))
    html = _LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', html)
    return _BOLD.sub(r"<strong>\1</strong>", html)


def _list(lines: list[str], pattern: re.Pattern) -> list[str] | None:
    matches = [pattern.fullmatch(line) for line in lines]
    return [m.group(1) for m in matches] if all(matches) else None


def _block(block: str) -> str:
    lines = [line.strip() for line in block.split("\n")]
    heading = _HEADING.fullmatch(lines[0]) if len(lines) == 1 else None
    if heading:
        level = len(heading.group(1))
        return f"<h{level}>{_inline(heading.group(2))}</h{level}>"
    for pattern, tag in ((_BULLET, "ul"), (_NUMBERED, "ol")):
        items = _list(lines, pattern)
        if items is not None:
            return f"<{tag}>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + f"</{tag}>"
    return "<p>" + "<br>".join(_inline(line) for line in lines) + "</p>"


def render(body: str) -> Markup:
    """The article's body as HTML: only the tags of the subset above, every character of the text escaped."""
    normalised = body.replace("\r\n", "\n").replace("\r", "\n")
    blocks = [block.strip() for block in re.split(r"\n\s*\n", normalised)]
    return Markup("\n".join(_block(block) for block in blocks if block))  # noqa: S704 (escaped in _inline)

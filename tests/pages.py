"""Every page of the portal, found in the app's URL map, and the forms on it: the error-summary test and the
browser audits walk them, so a new page is checked without being listed anywhere."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

#: Endpoints that are not pages a person reads: files, operations, downloads, and POST-only actions.
NOT_PAGES = re.compile(
    r"^(static|ops\..*|.*export.*|.*_pdf|.*_zip|.*\.attachment|.*\.news|.*\.wait)$"
)  # news and wait: JSON for the chat script


def page_urls(app, values: dict[str, object]) -> list[tuple[str, str]]:
    """(endpoint, URL) of every page of the app that answers GET, built with ``values`` for its variables (a
    variable without a value fails, naming the endpoint; an ``any`` takes its first choice)."""
    pages = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if "GET" not in rule.methods or NOT_PAGES.match(rule.endpoint):
            continue
        arguments = {}
        for name, converter in rule._converters.items():
            if name in values:
                arguments[name] = values[name]
            elif hasattr(converter, "items"):
                arguments[name] = sorted(converter.items)[0]
            else:
                raise AssertionError(
                    f"{rule.endpoint} ({rule.rule}): no value for <{name}>; add it to the walk"
                )
        pages.append((rule.endpoint, rule.build(arguments)[1]))
    return pages


@dataclass
class PageForm:
    """A form that posts, as a browser submits it with every field left empty."""

    action: str | None
    hidden: dict[str, str] = field(default_factory=dict)
    controls: list[str] = field(default_factory=list)  # fields a person fills in or chooses
    button: tuple[str, str] | None = None

    def empty_submission(self) -> dict[str, str]:
        return {**self.hidden, **dict([self.button] if self.button else [])}


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[PageForm] = []
        self.current: PageForm | None = None
        self.in_header = 0

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag == "header":
            self.in_header += 1
        elif tag == "form" and attrs.get("method", "get").lower() == "post" and not self.in_header:
            self.current = PageForm(attrs.get("action"))
            self.forms.append(self.current)
        elif self.current is None:
            return
        elif tag == "input" and attrs.get("type") == "hidden":
            self.current.hidden[attrs["name"]] = attrs.get("value", "")
        elif (tag == "input" and attrs.get("type") == "submit") or tag == "button":
            if self.current.button is None and attrs.get("name"):
                self.current.button = (attrs["name"], attrs.get("value", ""))
        elif tag in ("input", "select", "textarea"):
            self.current.controls.append(attrs.get("name", ""))

    def handle_endtag(self, tag):
        if tag == "header":
            self.in_header -= 1
        elif tag == "form":
            self.current = None


def post_forms(html: str) -> list[PageForm]:
    """The forms of a page that post and have fields to fill (not the header's language and sign-out forms, nor
    forms of a single button)."""
    parser = _Forms()
    parser.feed(html)
    return [form for form in parser.forms if form.controls]


def title(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()


def ids(html: str) -> set[str]:
    return set(re.findall(r'\sid="([^"]+)"', html))


def error_summary(html: str) -> str | None:
    """The error summary of a page, or None."""
    found = re.search(r'<div class="error-summary"[^>]*>.*?</div>', html, re.S)
    return found.group() if found else None


def field_errors(html: str) -> list[str]:
    """The ids of the fields (or fieldsets) that show an error next to them."""
    return re.findall(r'<p class="error" id="([^"]+)-error"', html)

"""Spanish is complete (every text of the code and templates is translated) and the compiled catalogue is current."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).parents[1]
CATALOGUE = ROOT / "src" / "mgd" / "translations" / "es" / "LC_MESSAGES"
METHODS = [("src/mgd/**.py", "python")] + [
    (f"src/mgd/templates/**.{ext}", "jinja2") for ext in ("html", "txt", "sms")
]


def source_messages() -> set[str]:
    found = extract_from_dir(
        str(ROOT),
        METHODS,
        keywords={
            "_": None,
            "gettext": None,
            "_l": None,
            "lazy_gettext": None,
            "lazy_pgettext": ((1, "c"), 2),
        },
    )
    return {message[0] if isinstance(message, tuple) else message for _f, _l, message, _c, _x in found}


def _key(value):
    """Plural messages are tuples in one reader and lists in the other: compare them alike."""
    return tuple(value) if isinstance(value, list | tuple) else value


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, list | tuple) else [message.string]
    return bool(message.id) and all(strings) and not message.fuzzy


def test_every_text_has_a_spanish_translation():
    catalogue = read_po((CATALOGUE / "messages.po").open("rb"))
    translated = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalogue if _translated(m)}
    missing = sorted(source_messages() - translated)
    assert missing == [], "run `make translations` and translate these in messages.po"


def test_the_compiled_catalogue_matches_the_sources():
    catalogue = read_po((CATALOGUE / "messages.po").open("rb"))
    compiled = read_mo((CATALOGUE / "messages.mo").open("rb"))
    assert {(m.context, _key(m.id)): _key(m.string) for m in compiled if m.id} == {
        (m.context, _key(m.id)): _key(m.string) for m in catalogue if _translated(m)
    }

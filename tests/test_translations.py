"""Spanish is complete (every text of the code and templates is translated) and the compiled catalogue is current."""

from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).parents[1]
CATALOGUE = ROOT / "src" / "mgd" / "translations" / "es" / "LC_MESSAGES"
METHODS = [("src/mgd/**.py", "python"), ("src/mgd/templates/**.html", "jinja2")]


def source_messages() -> set[str]:
    found = extract_from_dir(
        str(ROOT), METHODS, keywords={"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    )
    return {message for _file, _line, message, _comments, _context in found if isinstance(message, str)}


def test_every_text_has_a_spanish_translation():
    catalogue = read_po((CATALOGUE / "messages.po").open("rb"))
    translated = {m.id: m.string for m in catalogue if m.id and m.string and not m.fuzzy}
    missing = sorted(source_messages() - translated.keys())
    assert missing == [], "run `make translations` and translate these in messages.po"


def test_the_compiled_catalogue_matches_the_sources():
    catalogue = read_po((CATALOGUE / "messages.po").open("rb"))
    compiled = read_mo((CATALOGUE / "messages.mo").open("rb"))
    assert {m.id: m.string for m in compiled if m.id} == {
        m.id: m.string for m in catalogue if m.id and not m.fuzzy
    }
    buffer = BytesIO()
    write_mo(buffer, catalogue)
    assert buffer.getvalue(), "catalogue compiles"

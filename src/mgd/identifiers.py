"""Spanish identifiers the operator's records use: fiscal IDs, bank accounts and phone numbers.

Each ``normalize_*`` returns the canonical stored form, always ASCII, or raises ``InvalidIdentifier`` with a
reason a person can act on. Fiscal IDs and IBANs are checked with python-stdnum, phone numbers with
phonenumbers' metadata, email addresses with email-validator.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum import iban as stdnum_iban
from stdnum.es import ccc, cif, nie, nif
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError


class InvalidIdentifier(ValueError):
    """The value is not a valid identifier of its kind; ``str()`` says why."""


def to_ascii(raw: str) -> str:
    """``raw`` with fullwidth and other compatibility forms folded (NFKC) and the decimal digits of every
    script made ASCII (``٦`` → ``6``); raises ``InvalidIdentifier`` if anything non-ASCII is left.

    Python's ``isdigit``, ``int`` and regular expressions accept such digits, so without this one number could
    be stored, counted or looked up under several spellings.
    """
    if raw.isascii():
        return raw
    folded = "".join(
        str(unicodedata.decimal(ch)) if unicodedata.decimal(ch, None) is not None else ch
        for ch in unicodedata.normalize("NFKC", raw)
    )
    if not folded.isascii():
        raise InvalidIdentifier("only Latin letters and digits are accepted")
    return folded


@dataclass(frozen=True)
class FiscalId:
    value: str
    kind: str  # "cif" | "nif" | "nie"


def _reason(exc: ValidationError, what: str) -> str:
    if isinstance(exc, InvalidChecksum):
        return f"the check digit of this {what} is wrong"
    if isinstance(exc, InvalidLength):
        return f"a {what} does not have this many characters"
    if isinstance(exc, InvalidFormat | InvalidComponent):
        return f"this is not the format of a {what}"
    return f"this is not a valid {what}"


def normalize_fiscal_id(raw: str) -> FiscalId:
    """A CIF, DNI-NIF or NIE (optional ``ES`` prefix, spaces, dots, dashes) in compact upper-case form."""
    compact = nif.compact(to_ascii(raw or "").replace(".", ""))
    if not compact:
        raise InvalidIdentifier("a fiscal ID (CIF, NIF or NIE) is required")
    first = compact[0]
    try:
        if first in "XYZ":
            return FiscalId(nie.validate(compact), "nie")
        if first.isdigit() or first in "KLM":
            return FiscalId(nif.validate(compact), "nif")
        return FiscalId(cif.validate(compact), "cif")
    except ValidationError as exc:
        kind = "NIE" if first in "XYZ" else "NIF" if first.isdigit() or first in "KLM" else "CIF"
        raise InvalidIdentifier(_reason(exc, kind)) from None


def normalize_iban(raw: str) -> str:
    """An IBAN, or a Spanish 20-digit CCC converted to its IBAN, in compact upper-case form."""
    compact = stdnum_iban.compact(to_ascii(raw or ""))
    if not compact:
        raise InvalidIdentifier("a bank account (IBAN) is required")
    if compact.isdigit():
        try:
            return stdnum_iban.compact(ccc.to_iban(ccc.validate(compact)))
        except ValidationError as exc:
            raise InvalidIdentifier(_reason(exc, "Spanish account number (CCC)")) from None
    try:
        if compact.startswith("ES"):
            # The same checks as stdnum's Spanish IBAN validation, at half its cost (imports read thousands).
            stdnum_iban.validate(compact, check_country=False)
            ccc.validate(compact[4:])
            return compact
        return stdnum_iban.validate(compact)
    except ValidationError as exc:
        raise InvalidIdentifier(_reason(exc, "IBAN")) from None


def format_iban(value: str) -> str:
    """Groups of four for people to read."""
    return stdnum_iban.format(value)


# ---- phone numbers -------------------------------------------------------------------------------------

FIXED = "fixed"
MOBILE = "mobile"

_ES = phonenumbers.PhoneMetadata.metadata_for_region("ES")
_ES_FIXED = re.compile(_ES.fixed_line.national_number_pattern)
_ES_MOBILE = re.compile(_ES.mobile.national_number_pattern)
_SEPARATORS = re.compile(r"[\s\-.()]")
_SPANISH_PREFIXED = re.compile(r"(?:\+34|0034)?([0-9]{9})")
_KIND_BY_TYPE = {
    phonenumbers.PhoneNumberType.FIXED_LINE: FIXED,
    phonenumbers.PhoneNumberType.VOIP: FIXED,
    phonenumbers.PhoneNumberType.UAN: FIXED,
    phonenumbers.PhoneNumberType.MOBILE: MOBILE,
}


@dataclass(frozen=True)
class Phone:
    e164: str
    kind: str  # "fixed" | "mobile"


def normalize_phone(raw: str) -> Phone:
    """A Spanish fixed or mobile number (national, ``+34`` or ``0034``), in E.164 with its kind.

    Plain nine-digit numbers are matched against phonenumbers' Spanish patterns directly: the import reads
    hundreds of thousands of them and a full parse is ten times slower. Anything else takes the full parse.
    """
    cleaned = _SEPARATORS.sub("", to_ascii(raw or ""))
    if not cleaned:
        raise InvalidIdentifier("a phone number is required")
    match = _SPANISH_PREFIXED.fullmatch(cleaned)
    if match:
        national = match.group(1)
        if _ES_MOBILE.fullmatch(national):
            return Phone(f"+34{national}", MOBILE)
        if _ES_FIXED.fullmatch(national):
            return Phone(f"+34{national}", FIXED)
    return _parse_phone(cleaned)


def _parse_phone(cleaned: str) -> Phone:
    try:
        parsed = phonenumbers.parse(cleaned, "ES")
    except phonenumbers.NumberParseException:
        raise InvalidIdentifier("this is not a phone number") from None
    if phonenumbers.region_code_for_number(parsed) != "ES":
        raise InvalidIdentifier("only Spanish numbers (+34) are accepted")
    kind = _KIND_BY_TYPE.get(phonenumbers.number_type(parsed))
    if kind is None:
        raise InvalidIdentifier("this is not a Spanish fixed or mobile number")
    return Phone(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), kind)


def normalize_email(raw: str) -> str:
    """One email address, without a display name, in the lower-case form users are stored and found by.

    Lists (``a@x, b@y``), names (``Ana <a@x>``), control characters and non-ASCII mailbox names are refused.
    """
    try:
        checked = validate_email(
            (raw or "").strip(), check_deliverability=False, allow_smtputf8=False, allow_display_name=False
        )
    except EmailNotValidError as exc:
        raise InvalidIdentifier(f"not a valid email address ({exc})") from None
    return (checked.ascii_email or checked.normalized).lower()


def _spanish_formats() -> list[tuple[re.Pattern | None, re.Pattern, str]]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("ES")
    return [
        (
            re.compile(f.leading_digits_pattern[-1]) if f.leading_digits_pattern else None,
            re.compile(f.pattern),
            f.format,
        )
        for f in metadata.number_format
    ]


#: phonenumbers' own national formats of Spain: (leading digits, pattern, format).
_ES_FORMATS = _spanish_formats()


def format_phone(e164: str) -> str:
    """The national format people read (``612 34 56 78``). A stored Spanish number (``+34`` and nine digits,
    as every line is) is formatted by phonenumbers' patterns for Spain directly, as ``format_number`` would
    choose and apply them, without a full parse (a tenth of the time: exports format every row); a test
    checks that both agree. Other numbers take the full parse."""
    national = e164[3:]
    if len(e164) == 12 and e164.startswith("+34") and national.isascii() and national.isdigit():
        for leading, pattern, template in _ES_FORMATS:
            if (leading is None or leading.match(national)) and pattern.fullmatch(national):
                return pattern.sub(template, national)
        return national
    parsed = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def masked_phone(e164: str | None) -> str:
    """Where a code went, without giving the number away: ``••• ••• 678``."""
    return "••• ••• " + e164[-3:] if e164 else ""


def masked_email(email: str | None) -> str:
    """``an•••@example.es``: enough for its owner to recognise it, not enough to copy it."""
    if not email or "@" not in email:
        return ""
    local, domain = email.split("@", 1)
    return f"{local[:2]}•••@{domain}"

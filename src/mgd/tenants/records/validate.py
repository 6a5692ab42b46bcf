"""Reading and checking an operator records document before anything is written.

``parse_document`` turns the JSON text into validated, normalised records, or raises ``RecordsInvalid`` with
every problem found, each naming its place (``companies[3].lines[12].number``), the value and the rule.
Checks that need the database (tariffs and billing accounts already stored, numbers owned by another company)
are made by the writer, with the same kind of error.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from mgd.identifiers import (
    InvalidIdentifier,
    normalize_email,
    normalize_fiscal_id,
    normalize_iban,
    normalize_phone,
)
from mgd.tenants.addresses import check_province, normalize_postcode
from mgd.tenants.models import INVOICE_DELIVERIES, LINE_KINDS, LINE_STATUSES, PRODUCTS, SEGMENTS
from mgd.web.forms import unusable_character

MAX_ERRORS = 200
# Longer integers are read as Decimal (then refused by range, with their place): ``int`` refuses over 4,300
# digits with an error that names no place.
MAX_INTEGER_DIGITS = 30
_INVISIBLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
# JSON refuses raw control characters but DEL: the others, and surrogates, can only come as \u escapes. A
# document without any (the usual one) skips the walk over its texts.
_MAY_HOLD_UNUSABLE = re.compile(r"\\u(?:00[01]|007[fF]|[dD][89a-fA-F])|\x7f")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_KINDS_OF_PRODUCT = {"fixed": {"fixed"}, "mobile": {"mobile"}, "convergent": {"fixed", "mobile"}}


@dataclass(frozen=True)
class RecordError:
    path: str
    value: Any
    rule: str

    def __str__(self) -> str:
        value = self.value
        if isinstance(value, Decimal):
            shown = str(value)
        elif isinstance(value, dict | list) and len(value) > 20:
            shown = "{…}" if isinstance(value, dict) else "[…]"
        else:
            try:
                shown = json.dumps(value, ensure_ascii=False, default=str)
            except RecursionError:
                shown = "[…]"
        if len(shown) > 60:
            shown = shown[:57] + "…"
        # Control characters and lone surrogates are shown as escapes: a terminal can print the line.
        return _INVISIBLE.sub(lambda m: ascii(m.group())[1:-1], f"{self.path}: {shown} — {self.rule}")


class RecordsInvalid(Exception):
    """The document breaks one or more rules; ``errors`` lists them (at most ``MAX_ERRORS``)."""

    def __init__(self, errors: list[RecordError], total: int | None = None) -> None:
        super().__init__(f"{total or len(errors)} error(s) in the records")
        self.errors = errors
        self.total = total or len(errors)


@dataclass(slots=True)
class TariffRecord:
    code: str
    name: str
    family: str
    monthly_fee_eur: Decimal
    data_gb: Decimal | None
    voice_minutes: int | None


@dataclass(slots=True)
class LineRecord:
    company: int  # the company's place in the document
    index: int  # the line's place among the company's
    number: str
    kind: str
    product: str
    tariff: str
    billing_account: str
    status: str

    @property
    def path(self) -> str:
        return line_path(self.company, self.index)


def line_path(company: int, index: int) -> str:
    return f"companies[{company}].lines[{index}]"


@dataclass(slots=True)
class CompanyRecord:
    path: str
    fiscal_id: str
    fiscal_id_kind: str
    name: str
    segment: str
    interlocutors: list[dict] = field(default_factory=list)  # name, email, phone
    # ref, kind, iban, and the billing details given (BillingAccount columns; see ``_account_details``)
    billing_accounts: list[dict] = field(default_factory=list)
    lines: list[LineRecord] = field(default_factory=list)
    # The company's ``invoices`` and ``payments`` as written, checked by the billing import (mgd.billing).
    billing: dict[str, list] = field(default_factory=dict)


@dataclass(slots=True)
class Records:
    tariffs: list[TariffRecord]
    companies: list[CompanyRecord]
    #: Lines handed to ``read_document``'s ``on_lines`` as they were read, so not in ``companies``.
    lines_handed: int = 0


#: ``on_lines(lines)``: a company's checked lines, as ``read_document`` reads them.
LineSink = Callable[[list[LineRecord]], None]


@dataclass(frozen=True)
class Fields:
    required: frozenset[str]
    allowed: frozenset[str]

    @classmethod
    def of(cls, required: str, optional: str = "") -> Fields:
        return cls(frozenset(required.split()), frozenset(required.split()) | frozenset(optional.split()))


DOCUMENT = Fields.of("", "tariffs companies")
TARIFF = Fields.of("code name family monthly_fee_eur", "data_gb voice_minutes")
COMPANY = Fields.of("fiscal_id name segment", "interlocutors billing_accounts lines invoices payments")
INTERLOCUTOR = Fields.of("name email", "phone")
BILLING_ACCOUNT = Fields.of("ref kind iban", "mandate billing_address invoice_delivery einvoice_emails")
MANDATE = Fields.of("reference signed_on")
ADDRESS = Fields.of("address postcode city", "province")
MAX_EINVOICE_EMAILS = 5
# The characters of a SEPA mandate reference.
_MANDATE_REFERENCE = re.compile(r"[A-Za-z0-9+?/:().,' -]{1,35}")
LINE = Fields.of("number kind product tariff billing_account", "status")


class _Checker:
    """Collects errors while reading; each ``field`` call returns the cleaned value or None."""

    def __init__(self) -> None:
        self.errors: list[RecordError] = []
        self.total = 0

    def error(self, path: str, value: Any, rule: str) -> None:
        self.total += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RecordError(path, value, rule))

    def obj(self, value: Any, path: str, fields: Fields) -> bool:
        """Whether ``value`` is an object; reports its missing and unknown fields."""
        if not isinstance(value, dict):
            self.error(path, value, "must be an object")
            return False
        keys = value.keys()
        if fields.required <= keys <= fields.allowed:
            return True
        for name in sorted(fields.required - keys):
            self.error(f"{path}.{name}", None, "is required")
        for name in sorted(keys - fields.allowed):
            self.error(f"{path}.{name}", value[name], "is not a known field")
        return True

    def items(self, container: dict, name: str, path: str) -> list:
        value = container.get(name, [])
        if not isinstance(value, list):
            self.error(f"{path}.{name}" if path else name, value, "must be a list")
            return []
        return value

    def text(self, record: dict, name: str, path: str, max_len: int, optional: bool = False) -> str | None:
        value = record.get(name)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            if name in record:
                self.error(f"{path}.{name}", value, "must be a non-empty text")
            return None
        value = " ".join(value.split())
        if len(value) > max_len:
            self.error(f"{path}.{name}", value, f"must be at most {max_len} characters")
            return None
        return value

    def choice(self, record: dict, name: str, path: str, choices: tuple[str, ...]) -> str | None:
        value = record.get(name)
        if value not in choices:
            if name in record:
                self.error(f"{path}.{name}", value, f"must be one of {', '.join(choices)}")
            return None
        return value

    def identifier(self, record: dict, name: str, path: str, normalize: Callable[[str], Any]) -> Any:
        value = record.get(name)
        if not isinstance(value, str):
            if name in record:
                self.error(f"{path}.{name}", value, "must be a text")
            return None
        try:
            return normalize(value)
        except InvalidIdentifier as exc:
            self.error(f"{path}.{name}", value, str(exc))
            return None

    def day(self, record: dict, name: str, path: str) -> date | None:
        """A date written YYYY-MM-DD."""
        value = record.get(name)
        try:
            if isinstance(value, str) and len(value) == 10:
                return date.fromisoformat(value)
        except ValueError:
            pass
        if name in record:
            self.error(f"{path}.{name}", value, "must be a date written YYYY-MM-DD")
        else:
            self.error(f"{path}.{name}", None, "is required")
        return None

    def number(self, record: dict, name: str, path: str, places: int, maximum: int) -> Decimal | None:
        value = record.get(name)
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            if name in record and value is not None:
                self.error(f"{path}.{name}", value, "must be a number")
            return None
        try:
            exact = Decimal(value)
            if exact < 0 or exact >= maximum:
                self.error(f"{path}.{name}", value, f"must be between 0 and {maximum}")
                return None
            if exact != exact.quantize(Decimal(1).scaleb(-places)):
                self.error(f"{path}.{name}", value, f"must have at most {places} decimals")
                return None
        except InvalidOperation:
            self.error(f"{path}.{name}", value, "must be a number")
            return None
        return exact


def _integer(digits: str) -> int | Decimal:
    return int(digits) if len(digits) <= MAX_INTEGER_DIGITS else Decimal(digits)


def parse_document(text: str) -> Records:
    """Validate a whole records document; raise ``RecordsInvalid`` listing every problem."""
    check = _Checker()
    try:
        document = json.loads(text, parse_float=Decimal, parse_int=_integer)
    except json.JSONDecodeError as exc:
        place = f"line {exc.lineno}, column {exc.colno}"
        raise RecordsInvalid([RecordError(place, None, f"not JSON: {exc.msg}")]) from None
    except RecursionError:
        raise RecordsInvalid([RecordError("document", None, "is nested too deeply")]) from None
    for path, value in _unusable_texts(document) if _MAY_HOLD_UNUSABLE.search(text) else ():
        check.error(path, value, "must not contain control characters (such as NUL) or lone surrogates")
    if check.total:  # the checks below would pass such text on to the database
        raise RecordsInvalid(check.errors, check.total)
    if not check.obj(document, "document", DOCUMENT):
        raise RecordsInvalid(check.errors)
    reader = _Reader(check)
    reader.tariffs(document)
    for index, raw in enumerate(check.items(document, "companies", "")):
        reader.company(index, raw)
    return reader.records()


def read_document(path: Path, on_lines: LineSink) -> Records:
    """As ``parse_document`` for the document in the file at ``path``, read as a stream: a company at a time,
    its checked lines handed to ``on_lines`` as long as no error has been found (the companies returned have
    none), so memory does not grow with the lines. A document the stream cannot follow (its companies before
    its tariffs, a JSON error, text that may hold control characters, …) is read whole by ``parse_document``,
    whose errors are the same; its lines are then in its companies, and ``lines_handed`` is 0: the caller
    forgets the lines it was handed."""
    try:
        with path.open("rb") as handle:
            return _read_stream(_JsonStream(handle), _Reader(_Checker(), on_lines))
    except _Unstreamable:
        return parse_document(path.read_text(encoding="utf-8"))


class _Reader:
    """Checks a document's tariffs, then its companies one at a time."""

    def __init__(self, check: _Checker, on_lines: LineSink | None = None) -> None:
        self.check, self.on_lines = check, on_lines
        self.tariff_records: list[TariffRecord] = []
        self.by_code: dict[str, TariffRecord] = {}
        self.companies: list[CompanyRecord] = []
        self.fiscal_ids: dict[str, str] = {}
        self.numbers: dict[int, int] = {}  # a number's digits: where it came first (see ``_lines``)
        self.handed = 0

    def tariffs(self, document: dict) -> None:
        self.tariff_records = _tariffs(self.check, self.check.items(document, "tariffs", ""))
        self.by_code = {t.code: t for t in self.tariff_records}

    def company(self, index: int, raw: Any) -> None:
        company = _company(
            self.check, index, raw, tariffs=self.by_code, fiscal_ids=self.fiscal_ids, numbers=self.numbers
        )
        if company is None:
            return
        if self.on_lines is not None:
            if not self.check.total:
                self.on_lines(company.lines)
                self.handed += len(company.lines)
            company.lines = []
        self.companies.append(company)

    def records(self) -> Records:
        if self.check.total:
            raise RecordsInvalid(self.check.errors, self.check.total)
        return Records(self.tariff_records, self.companies, self.handed)


class _Unstreamable(Exception):
    """The document is not one that ``_read_stream`` follows: read it whole."""


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=_integer)
_SPACE = re.compile(r"[ \t\n\r]*")
READ_BYTES = 1 << 20


class _JsonStream:
    """JSON values read one after another from a binary file, by the standard library's decoder."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.buffer, self.pos, self.ended = "", 0, False

    def _more(self) -> bool:
        """Read on (at least as much as is held: a long value is read in few steps); False at the end."""
        if self.ended:
            return False
        data = self.handle.read(max(READ_BYTES, len(self.buffer) - self.pos))
        self.ended = not data
        try:
            text = self.decoder.decode(data, final=self.ended)
        except UnicodeDecodeError:
            raise _Unstreamable from None
        # An escape that may stand for a control character, maybe across two reads: the whole reading checks
        # every text for it (rare).
        if _MAY_HOLD_UNUSABLE.search(self.buffer[-5:] + text):
            raise _Unstreamable
        self.buffer = self.buffer[self.pos :] + text
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not white space ('' at the end), not consumed."""
        while True:
            self.pos = _SPACE.match(self.buffer, self.pos).end()
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                return ""

    def take(self, expected: str) -> str:
        """Consume the next character, one of ``expected``."""
        found = self.peek()
        if not found or found not in expected:
            raise _Unstreamable
        self.pos += 1
        return found

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError:  # cut by the end of what is read, or not JSON
                if self._more():
                    continue
                raise _Unstreamable from None
            except RecursionError:
                raise _Unstreamable from None
            if end == len(self.buffer) and self._more():  # a number or word may go on
                continue
            self.pos = end
            return value


def _read_stream(stream: _JsonStream, reader: _Reader) -> Records:
    """The document ``{"tariffs": [...], "companies": [...]}`` (either optional, tariffs first), companies
    checked as they are read."""
    stream.take("{")
    seen: set[str] = set()
    while stream.peek() != "}":
        if seen:
            stream.take(",")
        key = stream.value()
        if key not in ("tariffs", "companies") or key in seen or "companies" in seen:
            raise _Unstreamable  # an unknown or repeated field, or tariffs after companies
        seen.add(key)
        stream.take(":")
        if key == "tariffs":
            reader.tariffs({"tariffs": stream.value()})
            continue
        stream.take("[")
        index = 0
        while stream.peek() != "]":
            if index:
                stream.take(",")
            reader.company(index, stream.value())
            index += 1
        stream.take("]")
    stream.take("}")
    if stream.peek():
        raise _Unstreamable  # more after the document
    return reader.records()


def _unusable_texts(document: Any) -> Iterator[tuple[str, str]]:
    """(place, text) of every key or text of the document holding a character no text field accepts; walked
    without recursion, so any depth that JSON could read is fine."""
    pending = [("", document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if unusable_character(value, multiline=True):
                yield path or "document", value
        elif isinstance(value, dict):
            for key, item in value.items():
                place = f"{path}.{key}" if path else key
                if unusable_character(key, multiline=True):
                    yield place, key
                pending.append((place, item))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))


def _tariffs(check: _Checker, items: list) -> list[TariffRecord]:
    seen: dict[str, str] = {}
    result = []
    for index, raw in enumerate(items):
        path = f"tariffs[{index}]"
        if not check.obj(raw, path, TARIFF):
            continue
        code = raw.get("code")
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            check.error(f"{path}.code", code, "must be 1-40 letters, digits, '.', '_' or '-'")
            code = None
        elif code in seen:
            check.error(f"{path}.code", code, f"repeats {seen[code]}.code")
            code = None
        else:
            seen[code] = path
        name = check.text(raw, "name", path, 120)
        family = check.choice(raw, "family", path, PRODUCTS)
        fee = check.number(raw, "monthly_fee_eur", path, 2, 10**8)
        data_gb = check.number(raw, "data_gb", path, 2, 10**6)
        minutes = check.number(raw, "voice_minutes", path, 0, 10**7)
        if None not in (code, name, family, fee):
            result.append(
                TariffRecord(code, name, family, fee, data_gb, None if minutes is None else int(minutes))
            )
    return result


def _company(
    check: _Checker,
    index: int,
    raw: Any,
    *,
    tariffs: dict[str, TariffRecord],
    fiscal_ids: dict[str, str],
    numbers: dict[int, int],
) -> CompanyRecord | None:
    path = f"companies[{index}]"
    if not check.obj(raw, path, COMPANY):
        return None
    fiscal = check.identifier(raw, "fiscal_id", path, normalize_fiscal_id)
    if fiscal is not None:
        if fiscal.value in fiscal_ids:
            check.error(
                f"{path}.fiscal_id", raw["fiscal_id"], f"repeats {fiscal_ids[fiscal.value]}.fiscal_id"
            )
        fiscal_ids.setdefault(fiscal.value, path)
    name = check.text(raw, "name", path, 200)
    segment = check.choice(raw, "segment", path, SEGMENTS)
    company = CompanyRecord(
        path, fiscal.value if fiscal else "", fiscal.kind if fiscal else "", name, segment
    )
    company.interlocutors = _interlocutors(check, check.items(raw, "interlocutors", path), path)
    company.billing_accounts = _billing_accounts(check, check.items(raw, "billing_accounts", path), path)
    company.billing = {name: check.items(raw, name, path) for name in ("invoices", "payments") if name in raw}
    kinds = {account["ref"]: account["kind"] for account in company.billing_accounts}
    company.lines = _lines(
        check,
        items=check.items(raw, "lines", path),
        company=index,
        tariffs=tariffs,
        account_kinds=kinds,
        numbers=numbers,
    )
    return company


def _interlocutors(check: _Checker, items: list, company_path: str) -> list[dict]:
    seen: dict[str, str] = {}
    result = []
    for index, raw in enumerate(items):
        path = f"{company_path}.interlocutors[{index}]"
        if not check.obj(raw, path, INTERLOCUTOR):
            continue
        name = check.text(raw, "name", path, 200)
        email = check.identifier(raw, "email", path, normalize_email)
        phone = (
            check.identifier(raw, "phone", path, normalize_phone) if raw.get("phone") is not None else None
        )
        if email in seen:
            check.error(f"{path}.email", raw["email"], f"repeats {seen[email]}.email")
            continue
        if email:
            seen[email] = path
        if name and email and (phone is not None or raw.get("phone") is None):
            result.append({"name": name, "email": email, "phone": phone.e164 if phone else None})
    return result


def _billing_accounts(check: _Checker, items: list, company_path: str) -> list[dict]:
    seen: dict[str, str] = {}
    result = []
    for index, raw in enumerate(items):
        path = f"{company_path}.billing_accounts[{index}]"
        if not check.obj(raw, path, BILLING_ACCOUNT):
            continue
        ref = check.text(raw, "ref", path, 40)
        kind = check.choice(raw, "kind", path, LINE_KINDS)
        iban = check.identifier(raw, "iban", path, normalize_iban)
        details = _account_details(check, raw, path)
        if ref in seen:
            check.error(f"{path}.ref", ref, f"repeats {seen[ref]}.ref")
            continue
        if ref:
            seen[ref] = path
        if ref and kind and iban and details is not None:
            result.append({"ref": ref, "kind": kind, "iban": iban, **details})
    return result


def _account_details(check: _Checker, raw: dict, path: str) -> dict | None:
    """The billing details a billing account record gives, as BillingAccount columns (only those given: the
    others stay as stored); None if one is wrong."""
    before = check.total
    details: dict[str, Any] = {}
    mandate = raw.get("mandate")
    if mandate is not None and check.obj(mandate, f"{path}.mandate", MANDATE):
        reference = mandate.get("reference")
        if not isinstance(reference, str) or not _MANDATE_REFERENCE.fullmatch(reference):
            check.error(
                f"{path}.mandate.reference", reference, "must be 1-35 letters, digits, spaces or +?/-:().,'"
            )
        details["mandate_reference"] = reference
        details["mandate_signed_on"] = check.day(mandate, "signed_on", f"{path}.mandate")
    address = raw.get("billing_address")
    if address is not None and check.obj(address, f"{path}.billing_address", ADDRESS):
        place = f"{path}.billing_address"
        postcode = check.identifier(address, "postcode", place, normalize_postcode)
        province = None
        if postcode is not None:
            try:
                province = check_province(postcode, address.get("province"))
            except InvalidIdentifier as exc:
                check.error(f"{place}.province", address.get("province"), str(exc))
        details |= {
            "billing_address": check.text(address, "address", place, 200),
            "billing_postcode": postcode,
            "billing_city": check.text(address, "city", place, 100),
            "billing_province": province,
        }
    if "invoice_delivery" in raw or "einvoice_emails" in raw:
        delivery = check.choice(raw, "invoice_delivery", path, INVOICE_DELIVERIES)
        if "invoice_delivery" not in raw:
            check.error(f"{path}.invoice_delivery", None, "is required with einvoice_emails")
        emails = raw.get("einvoice_emails", [])
        if not isinstance(emails, list):
            check.error(f"{path}.einvoice_emails", emails, "must be a list")
            emails = []
        cleaned = [
            check.identifier({"email": email}, "email", f"{path}.einvoice_emails[{index}]", normalize_email)
            for index, email in enumerate(emails)
        ]
        if delivery == "email" and not emails:
            check.error(
                f"{path}.einvoice_emails", emails, "must list one address or more for invoices by email"
            )
        elif delivery == "paper" and emails:
            check.error(f"{path}.einvoice_emails", emails, "must be empty for invoices on paper")
        elif len(emails) > MAX_EINVOICE_EMAILS:
            check.error(
                f"{path}.einvoice_emails", emails, f"must list at most {MAX_EINVOICE_EMAILS} addresses"
            )
        details["invoice_delivery"] = delivery
        details["einvoice_emails"] = " ".join(dict.fromkeys(e for e in cleaned if e)) or None
    return details if check.total == before else None


def _lines(
    check: _Checker,
    *,
    items: list,
    company: int,
    tariffs: dict[str, TariffRecord],
    account_kinds: dict[str, str],
    numbers: dict[int, int],
) -> list[LineRecord]:
    """The company's checked lines. ``numbers``: each number of the document so far (its digits, an int)
    and the place of the line that had it first (company << 32 | line), small even for millions of lines."""
    result = []
    for index, raw in enumerate(items):
        path = line_path(company, index)
        if not check.obj(raw, path, LINE):
            continue
        phone = check.identifier(raw, "number", path, normalize_phone)
        # The common case, valid values, is tested inline; ``check.choice`` reports the others.
        kind = raw["kind"] if raw.get("kind") in LINE_KINDS else check.choice(raw, "kind", path, LINE_KINDS)
        product = (
            raw["product"] if raw.get("product") in PRODUCTS else check.choice(raw, "product", path, PRODUCTS)
        )
        status = raw.get("status", "active")
        if status not in LINE_STATUSES:
            status = check.choice(raw, "status", path, LINE_STATUSES)
        tariff = raw.get("tariff")
        account = raw.get("billing_account")
        ok = None not in (phone, kind, product, status)
        if phone is not None:
            here = company << 32 | index
            first = numbers.setdefault(int(phone.e164[1:]), here)
            if first != here:
                check.error(
                    f"{path}.number",
                    raw["number"],
                    f"repeats {line_path(first >> 32, first & 0xFFFFFFFF)}.number",
                )
                ok = False
            if kind and phone.kind != kind:
                check.error(f"{path}.kind", kind, f"{raw['number']} is a {phone.kind} number")
                ok = False
        if kind and product and kind not in _KINDS_OF_PRODUCT[product]:
            check.error(f"{path}.product", product, f"a {kind} line cannot belong to a {product} product")
            ok = False
        if not isinstance(tariff, str) or not tariff:
            check.error(f"{path}.tariff", tariff, "must be a tariff code")
            ok = False
        elif tariff in tariffs and product and tariffs[tariff].family != product:
            check.error(
                f"{path}.tariff", tariff, f"is a {tariffs[tariff].family} tariff, the line is {product}"
            )
            ok = False
        if not isinstance(account, str) or not account:
            check.error(
                f"{path}.billing_account", account, "must be the ref of one of the company's billing accounts"
            )
            ok = False
        elif account in account_kinds and kind and account_kinds[account] != kind:
            check.error(
                f"{path}.billing_account",
                account,
                f"is a {account_kinds[account]} account, the line is {kind}",
            )
            ok = False
        if ok:
            result.append(LineRecord(company, index, phone.e164, kind, product, tariff, account, status))
    return result

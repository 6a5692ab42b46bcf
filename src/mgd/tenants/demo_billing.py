"""Demo billing records: a company's monthly invoices per billing account with their charges (fees, usage,
one-off charges, discounts, a tax), and the payments of the paid ones; reproducible, totals that add up.

``billing_records`` yields flat records (the rows of the billing files, for benchmarks of any size);
``add_billing`` nests them into a records document's companies (``mgd demo``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from mgd.tenants.demo import TARIFFS

VAT_RATE = Decimal(21)
FEES = {t["code"]: int(Decimal(str(t["monthly_fee_eur"])) * 100) for t in TARIFFS}
USAGE = {
    "fixed": ("Llamadas a fijos nacionales", "Llamadas a móviles", "Llamadas internacionales"),
    "mobile": ("Llamadas nacionales", "Datos fuera de tarifa", "SMS", "Itinerancia (roaming)"),
}


def _vat(net: int) -> int:
    return int((Decimal(net) * VAT_RATE / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _charge(line: str | None, concept: str, description: str, net: int) -> dict:
    vat = _vat(net)
    return {
        "line": line,
        "concept": concept,
        "description": description,
        "net_cents": net,
        "vat_rate": "21.00",
        "vat_cents": vat,
        "total_cents": net + vat,
    }


def months_before(until: date, count: int) -> list[date]:
    """The first days of the ``count`` months before ``until``'s month, oldest first."""
    first = until.replace(day=1)
    result = []
    for _ in range(count):
        first = (first - timedelta(days=1)).replace(day=1)
        result.append(first)
    return result[::-1]


def billing_records(
    company: dict, index: int, *, months: int, until: date, seed: int = 1489, usage_per_line: int = 1
) -> Iterator[tuple[str, dict]]:
    """(kind, record) for the company of a records document: for each billing account and each of the
    ``months`` months before ``until``, an invoice issued on the 5th of the next month and its charges
    (then its payment, if paid). The last invoice is issued; of older ones a few companies have one overdue
    and every seventh company one disputed; the rest are paid by direct debit on their due date."""
    rng = random.Random(f"{seed}-{company['fiscal_id']}")  # noqa: S311 (demo data)
    periods = months_before(until, months)
    by_account: dict[str, list[dict]] = {}
    for line in company["lines"]:
        by_account.setdefault(line["billing_account"], []).append(line)
    overdue = len(periods) - 2 if index % 3 == 0 else None
    disputed = len(periods) - 4 if index % 7 == 0 else None
    for account, lines in sorted(by_account.items()):
        for month, start in enumerate(periods):
            end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            issued = end + timedelta(days=5)
            number = f"F{account.replace('-', '')}-{start:%Y%m}"
            charges = [_charge(None, "tax", "Tasa General de Telecomunicaciones", 35 + 5 * len(lines) // 10)]
            for line in lines:
                number_e164 = line["number"]
                charges.append(
                    _charge(number_e164, "fee", "Cuota mensual " + line["tariff"], FEES[line["tariff"]])
                )
                for _ in range(usage_per_line):
                    concept = rng.choice(USAGE[line["kind"]])
                    charges.append(_charge(number_e164, "usage", concept, rng.randrange(0, 2500)))
                if rng.random() < 0.03:
                    charges.append(_charge(number_e164, "one_off", "Cambio de tarjeta SIM", 500))
                if rng.random() < 0.1:
                    charges.append(
                        _charge(
                            number_e164, "discount", "Descuento por permanencia", -FEES[line["tariff"]] // 10
                        )
                    )
            net = sum(c["net_cents"] for c in charges)
            vat = sum(c["vat_cents"] for c in charges)
            status = _status(month, len(periods), overdue, disputed)
            due = issued + timedelta(days=20)
            yield (
                "invoices",
                {
                    "billing_account": account,
                    "number": number,
                    "period_start": start.isoformat(),
                    "period_end": end.isoformat(),
                    "issued_on": issued.isoformat(),
                    "due_on": due.isoformat(),
                    "net_cents": net,
                    "vat_cents": vat,
                    "total_cents": net + vat,
                    "status": status,
                },
            )
            for charge in charges:
                yield "charges", {"invoice": number, **charge}
            if status == "paid":
                yield (
                    "payments",
                    {
                        "billing_account": account,
                        "reference": f"P{number[1:]}",
                        "paid_on": due.isoformat(),
                        "amount_cents": net + vat,
                        "method": "direct_debit",
                    },
                )


ADDRESSES = (
    ("Calle Mayor 12", "28013", "Madrid"),
    ("Avinguda Diagonal 401", "08008", "Barcelona"),
    ("Calle Colón 22", "46004", "Valencia"),
    ("Avenida de la Constitución 8", "41004", "Sevilla"),
    ("Gran Vía 45", "48011", "Bilbao"),
    ("Calle Real 3", "15003", "A Coruña"),
    ("Paseo Independencia 10", "50004", "Zaragoza"),
    ("Calle Triana 60", "35002", "Las Palmas de Gran Canaria"),
)


def _status(month: int, months: int, overdue: int | None, disputed: int | None) -> str:
    if month == months - 1:
        return "issued"
    return {overdue: "overdue", disputed: "disputed"}.get(month, "paid")


def add_billing(document: dict, *, months: int, until: date, seed: int = 1489) -> dict:
    """``document`` with ``months`` months of invoices (charges nested) and payments in each company, and
    each billing account's address, delivery preference and direct-debit mandate."""
    for index, company in enumerate(document["companies"]):
        for number, account in enumerate(company["billing_accounts"]):
            address, postcode, city = ADDRESSES[(index + number) % len(ADDRESSES)]
            account["billing_address"] = {"address": address, "postcode": postcode, "city": city}
            account["mandate"] = {
                "reference": f"MGD-{account['ref']}",
                "signed_on": f"{2018 + index % 6}-03-01",
            }
            if index % 2 == 0:
                account["invoice_delivery"] = "email"
                account["einvoice_emails"] = [company["interlocutors"][0]["email"]]
        invoices, payments = [], []
        for kind, record in billing_records(company, index, months=months, until=until, seed=seed):
            if kind == "invoices":
                invoices.append({**record, "charges": []})
            elif kind == "charges":
                invoices[-1]["charges"].append({k: v for k, v in record.items() if k != "invoice"})
            else:
                payments.append(record)
        company["invoices"], company["payments"] = invoices, payments
    return document

"""A realistic, reproducible set of operator records for trying the portal and for benchmarks.

``demo_document`` builds a records document (the same format ``mgd records import`` reads): valid CIFs,
NIFs and NIEs, valid Spanish IBANs, plausible fixed and mobile numbers, every segment and product mix.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from stdnum.es import ccc, cif, dni, nie

from mgd.identifiers import FIXED, MOBILE, format_iban, format_phone, normalize_phone

TARIFFS = [
    {
        "code": "FIJO-BASICO",
        "name": "Fijo Básico Empresa",
        "family": "fixed",
        "monthly_fee_eur": 19.9,
        "voice_minutes": 1000,
    },
    {"code": "FIJO-ILIMITADO", "name": "Fijo Ilimitado Empresa", "family": "fixed", "monthly_fee_eur": 29.9},
    {
        "code": "MOVIL-10GB",
        "name": "Móvil Empresa 10 GB",
        "family": "mobile",
        "monthly_fee_eur": 12.5,
        "data_gb": 10,
        "voice_minutes": 500,
    },
    {
        "code": "MOVIL-50GB",
        "name": "Móvil Empresa 50 GB",
        "family": "mobile",
        "monthly_fee_eur": 22.0,
        "data_gb": 50,
    },
    {
        "code": "MOVIL-ILIMITADO",
        "name": "Móvil Empresa Ilimitado",
        "family": "mobile",
        "monthly_fee_eur": 35.0,
    },
    {
        "code": "FUSION-EMPRESA",
        "name": "Fusión Empresa",
        "family": "convergent",
        "monthly_fee_eur": 79.0,
        "data_gb": 100,
    },
    {"code": "FUSION-PRO", "name": "Fusión Empresa Pro", "family": "convergent", "monthly_fee_eur": 129.0},
]
TARIFFS_BY_FAMILY = {
    f: [t["code"] for t in TARIFFS if t["family"] == f] for f in ("fixed", "mobile", "convergent")
}

MIXES = ("only_fixed", "only_mobile", "fixed_and_mobile", "convergent")
SURNAMES = (
    "García",
    "Fernández",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Hernández",
    "Díaz",
    "Moreno",
    "Muñoz",
    "Álvarez",
    "Romero",
    "Alonso",
    "Navarro",
    "Torres",
    "Ortega",
)
FIRST_NAMES = (
    "María",
    "Carmen",
    "Lucía",
    "Ana",
    "Laura",
    "Javier",
    "David",
    "José",
    "Antonio",
    "Manuel",
    "Elena",
    "Pablo",
    "Marta",
    "Sergio",
    "Cristina",
    "Raúl",
    "Nuria",
    "Álvaro",
    "Irene",
    "Jorge",
)
ACTIVITIES = (
    "Talleres",
    "Construcciones",
    "Asesoría",
    "Distribuciones",
    "Transportes",
    "Clínica Dental",
    "Panadería",
    "Reformas",
    "Consultoría",
    "Hostelería",
    "Farmacia",
    "Logística",
    "Estudio",
)
BANKS = ("2100", "0049", "0182", "0081", "2085", "0128", "1465")
SEGMENT_WEIGHTS = (("pyme", 70), ("mediana", 20), ("grandes_clientes", 10))
FIXED_PREFIXES = ("91", "93", "95", "96", "94", "98", "976", "983", "971", "928")


@dataclass
class Example:
    mix: str
    segment: str
    fiscal_id: str
    email: str
    phone: str
    mobile: str | None
    ibans: dict[str, str]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


class _Numbers:
    """Unique, valid Spanish numbers of each kind."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used = rng, set()

    def take(self, kind: str) -> str:
        while True:
            if kind == MOBILE:
                candidate = f"6{self.rng.randrange(10**8):08d}"
            else:
                prefix = self.rng.choice(FIXED_PREFIXES)
                candidate = prefix + f"{self.rng.randrange(10 ** (9 - len(prefix))):0{9 - len(prefix)}d}"
            if candidate in self.used:
                continue
            try:
                phone = normalize_phone(candidate)
            except ValueError:
                continue
            if phone.kind == kind:
                self.used.add(candidate)
                return phone.e164


def _fiscal_id(rng: random.Random, index: int, kind: str) -> str:
    if kind == "nif":  # self-employed with a DNI
        digits = f"{(index * 7919) % 10**8:08d}"
        return digits + dni.calc_check_digit(digits)
    if kind == "nie":  # self-employed foreign resident
        digits = rng.choice("XYZ") + f"{index % 10**7:07d}"
        return digits + nie.calc_check_digit(digits)
    body = kind + f"{rng.randrange(1, 53):02d}" + f"{index:05d}"  # A: S.A., B: S.L.
    return body + cif.calc_check_digits(body)[0]


def _holder(rng: random.Random, index: int, segment: str) -> tuple[str, str, str]:
    """Fiscal ID, name and mail domain: SMEs are sometimes self-employed people, larger accounts companies."""
    surname = rng.choice(SURNAMES)
    roll = index % 10
    if segment == "pyme" and roll >= 7:
        first, second = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        name = f"{first} {surname} {second}"
        return _fiscal_id(rng, index, "nif" if roll < 9 else "nie"), name, f"{_ascii(surname)}{index}.es"
    activity = rng.choice(ACTIVITIES)
    legal = "S.L." if segment == "pyme" else "S.A."
    fiscal_id = _fiscal_id(rng, index, "B" if legal == "S.L." else "A")
    return (
        fiscal_id,
        f"{activity} {surname} {legal}",
        f"{_ascii(activity).replace(' ', '')}{_ascii(surname)}{index}.es",
    )


def _iban(rng: random.Random) -> str:
    bank, branch = rng.choice(BANKS), f"{rng.randrange(10**4):04d}"
    account = f"{rng.randrange(10**10):010d}"
    number = bank + branch + ccc.calc_check_digits(bank + branch + "00" + account) + account
    return ccc.to_iban(number).replace(" ", "")


def _line_counts(rng: random.Random, segment: str, mix: str, per_company: int | None) -> tuple[int, int]:
    """How many fixed and mobile lines a company of this segment and product mix has."""
    if per_company is not None:
        total = per_company
    else:
        total = {
            "pyme": rng.randint(2, 8),
            "mediana": rng.randint(10, 60),
            "grandes_clientes": rng.randint(60, 200),
        }[segment]
    if mix == "only_fixed":
        return total, 0
    if mix == "only_mobile":
        return 0, total
    fixed = max(1, total // 4)
    return fixed, total - fixed


def demo_document(companies: int = 60, seed: int = 1489, lines_per_company: int | None = None) -> dict:
    """A records document with ``companies`` companies; the same seed always gives the same document."""
    rng = random.Random(seed)  # noqa: S311 (demo data, not secrets)
    numbers = _Numbers(rng)
    segments = [s for s, weight in SEGMENT_WEIGHTS for _ in range(weight)]
    result = []
    for index in range(companies):
        segment = (
            segments[(index * 37) % len(segments)]
            if index >= len(MIXES) * 2
            else ("pyme", "mediana")[index // len(MIXES)]
        )
        mix = MIXES[index % len(MIXES)]
        fiscal_id, name, domain = _holder(rng, index, segment)
        people = []
        for _ in range(rng.randint(1, 2)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
            email = f"{_ascii(first)}.{_ascii(last)}@{domain}"
            if all(p["email"] != email for p in people):
                people.append({"name": f"{first} {last}", "email": email, "phone": numbers.take(MOBILE)})
        fixed_count, mobile_count = _line_counts(rng, segment, mix, lines_per_company)
        accounts = []
        if fixed_count:
            accounts.append({"ref": f"CF-{index:06d}", "kind": "fixed", "iban": _iban(rng)})
        if mobile_count:
            accounts.append({"ref": f"CM-{index:06d}", "kind": "mobile", "iban": _iban(rng)})
        lines = []
        for kind, count in ((FIXED, fixed_count), (MOBILE, mobile_count)):
            product = "convergent" if mix == "convergent" else kind
            for _ in range(count):
                lines.append(
                    {
                        "number": numbers.take(kind),
                        "kind": kind,
                        "product": product,
                        "tariff": rng.choice(TARIFFS_BY_FAMILY[product]),
                        "billing_account": f"C{'F' if kind == FIXED else 'M'}-{index:06d}",
                    }
                )
        result.append(
            {
                "fiscal_id": fiscal_id,
                "name": name,
                "segment": segment,
                "interlocutors": people,
                "billing_accounts": accounts,
                "lines": lines,
            }
        )
    return {"tariffs": TARIFFS, "companies": result}


def registration_examples(document: dict) -> list[Example]:
    """One ready-to-try company per product mix among the SMEs, and one Grandes Clientes account."""
    examples: list[Example] = []
    wanted = [("pyme", mix) for mix in MIXES] + [("grandes_clientes", None)]
    for company in document["companies"]:
        for segment, mix in wanted:
            if company["segment"] != segment or any(e.fiscal_id == company["fiscal_id"] for e in examples):
                continue
            company_mix = _mix_of(company)
            if mix is not None and company_mix != mix:
                continue
            examples.append(_example(company, company_mix))
            wanted.remove((segment, mix))
            break
    return examples


def _mix_of(company: dict) -> str:
    products = {line["product"] for line in company["lines"]}
    if "convergent" in products:
        return "convergent"
    if products == {"fixed"}:
        return "only_fixed"
    if products == {"mobile"}:
        return "only_mobile"
    return "fixed_and_mobile"


def _example(company: dict, mix: str) -> Example:
    fixed = [line["number"] for line in company["lines"] if line["kind"] == FIXED]
    mobile = [line["number"] for line in company["lines"] if line["kind"] == MOBILE]
    return Example(
        mix=mix,
        segment=company["segment"],
        fiscal_id=company["fiscal_id"],
        email=company["interlocutors"][0]["email"],
        phone=format_phone((fixed or mobile)[0]),
        mobile=format_phone(mobile[0]) if fixed and mobile else None,
        ibans={a["kind"]: format_iban(a["iban"]) for a in company["billing_accounts"]},
    )

"""Factories for operator records: each builds valid rows with the least the test has to say."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session
from stdnum.es import cif

from mgd.db import tenant_scope
from mgd.tenants.models import BillingAccount, Company, Interlocutor, Line, Tariff

_seq = itertools.count(1)


def valid_cif(n: int) -> str:
    body = f"B{n % 10**7:07d}"
    return body + cif.calc_check_digits(body)[0]


def valid_nif(number: int) -> str:
    """A Spanish NIF (8 digits and their check letter)."""
    return f"{number:08d}{'TRWAGMYFPDXBNJZSQVHLCKE'[number % 23]}"


def make_tariff(session: Session, family: str = "mobile", **values) -> Tariff:
    n = next(_seq)
    tariff = Tariff(
        code=f"T-{n}", name=f"Tariff {n}", family=family, monthly_fee_eur=Decimal("10.00"), **values
    )
    session.add(tariff)
    session.flush()
    return tariff


def make_company(session: Session, segment: str = "pyme", **values) -> Company:
    n = next(_seq)
    values.setdefault("fiscal_id", valid_cif(9_000_000 + n))
    values.setdefault("name", f"Company {n} S.L.")
    company = Company(fiscal_id_kind="cif", segment=segment, **values)
    session.add(company)
    session.flush()
    return company


def make_interlocutor(session: Session, company: Company, email: str | None = None) -> Interlocutor:
    n = next(_seq)
    person = Interlocutor(tenant_id=company.id, name=f"Person {n}", email=email or f"person{n}@example.es")
    with tenant_scope(session, company.id):
        session.add(person)
        session.flush()
    return person


def make_line(session: Session, company: Company, kind: str = "mobile", number: str | None = None) -> Line:
    n = next(_seq)
    tariff = make_tariff(session, family=kind)
    with tenant_scope(session, company.id):
        account = BillingAccount(
            tenant_id=company.id, ref=f"BA-{n}", kind=kind, iban="ES9121000418450200051332"
        )
        session.add(account)
        session.flush()
        line = Line(
            tenant_id=company.id,
            number=number or (f"+346{n:08d}" if kind == "mobile" else f"+3491{n:07d}"),
            kind=kind,
            product=kind,
            tariff_id=tariff.id,
            billing_account_id=account.id,
        )
        session.add(line)
        session.flush()
    return line


# ---- records documents (what `mgd records import` reads) -------------------------------------------------

TARIFFS = [
    {"code": "F", "name": "Fijo", "family": "fixed", "monthly_fee_eur": 20},
    {"code": "M", "name": "Móvil", "family": "mobile", "monthly_fee_eur": 10},
    {"code": "C", "name": "Fusión", "family": "convergent", "monthly_fee_eur": 80},
]
IBAN_F, IBAN_M = "ES9121000418450200051332", "ES7921000813610123456789"


def company_record(fiscal_id, email, lines, segment="pyme"):
    """A company of a records document: one interlocutor, its lines as (number, kind, product) and one billing
    account per kind of line (fixed ones paid from IBAN_F, mobile ones from IBAN_M)."""
    kinds = {line[1] for line in lines}
    accounts = [
        {"ref": f"C{k[0].upper()}", "kind": k, "iban": IBAN_F if k == "fixed" else IBAN_M} for k in kinds
    ]
    return {
        "fiscal_id": fiscal_id,
        "name": f"Empresa {fiscal_id}",
        "segment": segment,
        "interlocutors": [{"name": "Lucía Gómez", "email": email}],
        "billing_accounts": accounts,
        "lines": [
            {
                "number": n,
                "kind": k,
                "product": p,
                "tariff": {"fixed": "F", "mobile": "M", "convergent": "C"}[p],
                "billing_account": f"C{k[0].upper()}",
            }
            for n, k, p in lines
        ],
    }


@dataclass(frozen=True)
class Registrant:
    """Someone registering their company: even ones have a mobile line (code by SMS), odd ones only a fixed
    line (code by email, then a mobile to verify in Mi Área)."""

    n: int

    @property
    def fiscal_id(self) -> str:
        return valid_nif(10_000_000 + self.n)

    @property
    def email(self) -> str:
        return f"persona{self.n}@example.es"

    @property
    def has_mobile_line(self) -> bool:
        return self.n % 2 == 0

    @property
    def phone(self) -> str:
        return f"61{self.n:07d}" if self.has_mobile_line else f"91{self.n:07d}"

    @property
    def mobile(self) -> str:
        return self.phone if self.has_mobile_line else f"62{self.n:07d}"

    @property
    def source_ip(self) -> str:
        return f"127.0.{self.n // 250}.{10 + self.n % 250}"  # per-IP limits count each person on their own

    def record(self) -> dict:
        kind = "mobile" if self.has_mobile_line else "fixed"
        return company_record(self.fiscal_id, self.email, [(self.phone, kind, kind)])

"""Factories: each builds valid rows with the least the test has to say, in a session it flushes (never
commits); and the records documents that `mgd records import` reads."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.es import cif

from mgd.billing.models import Invoice, InvoiceCharge, Payment
from mgd.billing.summaries import refresh_invoices
from mgd.db import tenant_scope, utcnow
from mgd.security.models import User
from mgd.security.passwords import hash_password
from mgd.tenants.models import BillingAccount, Company, Interlocutor, Line, Membership, Tariff

_seq = itertools.count(1)

#: The password of every person the factories make.
PASSWORD = "Zx9kPq2mWv"


@cache
def password_hash() -> str:
    """PASSWORD hashed once for the whole run: hashing is slow on purpose."""
    return hash_password(PASSWORD)


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


def make_user(session: Session, email: str, **values) -> User:
    """An onboarded person (terms accepted, access data confirmed, a verified mobile) whose password is
    PASSWORD; ``values`` override any column (``name``, ``mobile``…)."""
    values.setdefault("name", email.split("@", maxsplit=1)[0].title() + " Pérez")
    values.setdefault("mobile", "+34612000009")
    user = User(
        email=email,
        password_hash=password_hash(),
        password_is_temporary=False,
        terms_version=current_app.config["TERMS_VERSION"],
        terms_accepted_at=utcnow(),
        access_data_confirmed_at=utcnow(),
        **values,
    )
    session.add(user)
    session.flush()
    return user


def make_member(session: Session, company_id: int, email: str, role: str = "admin", **values) -> Membership:
    """A membership with ``role`` in a company for the person with ``email``: the existing user, or one made
    by ``make_user`` with ``values``."""
    user = session.scalar(select(User).where(User.email == email)) or make_user(session, email, **values)
    with tenant_scope(session, company_id):
        membership = Membership(tenant_id=company_id, user_id=user.id, role=role)
        session.add(membership)
        session.flush()
    return membership


def vat_of(net_cents: int, rate: Decimal) -> int:
    """The VAT of a net amount at ``rate`` percent, rounded half up to the cent (as the records import checks)."""
    exact = Decimal(net_cents) * rate / 100
    return int(exact.quantize(Decimal(1), rounding="ROUND_HALF_UP"))


def make_invoice(
    session: Session,
    company: Company,
    account: BillingAccount,
    charges: list[tuple[Line | None, str, int]],
    *,
    issued_on: date = date(2026, 10, 5),
    status: str = "issued",
    number: str | None = None,
    rate: Decimal = Decimal("21.00"),
) -> Invoice:
    """An invoice of ``account`` for the month before ``issued_on``, due 20 days after it, whose charges are
    (line or None, concept, net cents) at VAT ``rate``; its totals are their sums."""
    n = next(_seq)
    period_end = issued_on.replace(day=1) - timedelta(days=1)
    with tenant_scope(session, company.id):
        rows = [
            InvoiceCharge(
                tenant_id=company.id,
                position=position,
                line_id=line.id if line else None,
                concept=concept,
                description=f"{concept} {position}",
                net_cents=net,
                vat_rate=rate,
                vat_cents=vat_of(net, rate),
                total_cents=net + vat_of(net, rate),
            )
            for position, (line, concept, net) in enumerate(charges, 1)
        ]
        invoice = Invoice(
            tenant_id=company.id,
            billing_account_id=account.id,
            number=number or f"FV{n:08d}",
            period_start=period_end.replace(day=1),
            period_end=period_end,
            issued_on=issued_on,
            due_on=issued_on + timedelta(days=20),
            net_cents=sum(row.net_cents for row in rows),
            vat_cents=sum(row.vat_cents for row in rows),
            total_cents=sum(row.total_cents for row in rows),
            status=status,
        )
        session.add(invoice)
        session.flush()
        for row in rows:
            row.invoice_id = invoice.id
        session.add_all(rows)
        session.flush()
        refresh_invoices(session, company.id, [invoice.id])  # its summaries, as the records import writes
    return invoice


def make_payment(
    session: Session, company: Company, account: BillingAccount, amount_cents: int, paid_on: date, **values
) -> Payment:
    n = next(_seq)
    values.setdefault("reference", f"PAY-{n}")
    values.setdefault("method", "direct_debit")
    with tenant_scope(session, company.id):
        payment = Payment(
            tenant_id=company.id,
            billing_account_id=account.id,
            amount_cents=amount_cents,
            paid_on=paid_on,
            **values,
        )
        session.add(payment)
        session.flush()
    return payment


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


#: A company of every product mix (what the ``companies`` fixture imports).
COMPANIES = {
    "only_fixed": company_record("B12345674", "fijo@example.es", [("911111111", "fixed", "fixed")]),
    "only_mobile": company_record("12345678Z", "movil@example.es", [("611111111", "mobile", "mobile")]),
    "both": company_record(
        "X1234567L", "ambos@example.es", [("922222222", "fixed", "fixed"), ("622222222", "mobile", "mobile")]
    ),
    "convergent": company_record(
        "A28000032",
        "fusion@example.es",
        [("933333333", "fixed", "convergent"), ("633333333", "mobile", "convergent")],
    ),
    "large": company_record(
        "B87654323", "gc@example.es", [("944444444", "fixed", "fixed")], segment="grandes_clientes"
    ),
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

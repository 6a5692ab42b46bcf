"""Demo SIM cards: every mobile line without one gets an ICCID and a PUK (stored encrypted), the same ones
for the same seed, so that the PUK page and the SIM duplicate have something to show."""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from mgd.db import operator_scope
from mgd.tenants.models import Line


def _luhn_digit(digits: str) -> str:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (1 if position % 2 else 2)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def iccid(rng: random.Random) -> str:
    """A 19-digit ICCID of a Spanish SIM (89 34 …) with its check digit."""
    body = "8934" + "".join(rng.choice("0123456789") for _ in range(14))
    return body + _luhn_digit(body)


def add_sim_cards(session: Session, seed: int = 1489) -> int:
    """Give the mobile lines without a SIM on record an ICCID and a PUK; the number of lines given one."""
    rng = random.Random(seed)  # noqa: S311 (demo data, not secrets)
    with operator_scope(session, "demo: SIM cards"):
        lines = session.scalars(
            select(Line).where(Line.kind == "mobile", Line.iccid.is_(None)).order_by(Line.id)
        ).all()
        for line in lines:
            line.iccid = iccid(rng)
            line.puk = f"{rng.randrange(10**8):08d}"
        session.flush()
    return len(lines)

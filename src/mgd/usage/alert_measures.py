"""What an alert measures, in the current cycle of its lines: the share of the data or voice allowance used
(whole percent, rounded down) or the spend not yet invoiced (cents), read from the daily sums."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from mgd.db import utcnow
from mgd.usage.alert_models import UsageAlert


@dataclass(frozen=True)
class Measure:
    value: int  # percent, or cents
    cycle_start: date
    at: datetime


def measure(session: Session, alert: UsageAlert, today: date | None = None) -> Measure | None:
    """The alert's measure now; None when there is nothing to measure (no line, no allowance)."""
    raise NotImplementedError(f"measured after the usage model lands ({utcnow():%Y-%m-%d})")

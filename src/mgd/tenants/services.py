"""Services over companies and their records."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from mgd.tenants.models import Company


def has_companies(session: Session) -> bool:
    """Whether any company is stored (``make run`` loads demo data only into an empty database)."""
    return bool(session.scalar(select(exists().where(Company.id.is_not(None)))))

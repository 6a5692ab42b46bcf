"""Help articles: the operator's own content, the same for every company (not tenant data)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mgd.db import Base, BigId, Timestamped, UTCDateTime

CATEGORIES = ("registration", "sign_in", "invoices", "lines")
ARTICLE_LANGUAGES = ("es", "en")


class HelpArticle(Timestamped, Base):
    """One article, written in both languages. ``search_es``/``search_en`` hold its title and body folded
    (lower case, no accents: ``helpcentre.text.fold``), so that one ``LIKE`` finds it on SQLite and PostgreSQL
    alike whatever the accents and case typed."""

    __tablename__ = "help_articles"
    __table_args__ = (Index("ix_help_articles_published_category", "published", "category"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    category: Mapped[str] = mapped_column(
        Enum(*CATEGORIES, name="help_category", native_enum=False, create_constraint=True, length=20)
    )
    title_es: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    body_es: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    search_es: Mapped[str] = mapped_column(Text)
    search_en: Mapped[str] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_es

    def body(self, language: str) -> str:
        return self.body_en if language == "en" else self.body_es

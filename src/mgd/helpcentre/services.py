"""Reading and writing help articles. Readers see published articles only; supervisors write them (the back
office checks who), and every change is in the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mgd.db import utcnow
from mgd.helpcentre.models import CATEGORIES, HelpArticle
from mgd.helpcentre.text import fold
from mgd.security.audit import Origin, record_event
from mgd.web.paging import Page, paginate

RESULTS_PER_PAGE = 10
MAX_QUERY = 100  # characters of a search
MAX_WORDS = 6  # words of a search that count: each must appear


@dataclass(frozen=True)
class ArticleText:
    """What an author writes: the address, the category and the title and body in each language."""

    slug: str
    category: str
    title_es: str
    title_en: str
    body_es: str
    body_en: str


class SlugTaken(Exception):
    """Another article already has this address."""


def published_by_category(session: Session, language: str) -> dict[str, list[HelpArticle]]:
    """Every published article, by category (in ``CATEGORIES`` order), by title in ``language``."""
    title = HelpArticle.title_en if language == "en" else HelpArticle.title_es
    grouped: dict[str, list[HelpArticle]] = {category: [] for category in CATEGORIES}
    for article in session.scalars(select(HelpArticle).where(HelpArticle.published).order_by(title)):
        grouped[article.category].append(article)
    return grouped


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(session: Session, query: str, language: str, page: int) -> Page:
    """The published articles whose title or body, in ``language``, holds every word of ``query`` (at most
    ``MAX_WORDS``), whatever their case and accents; a page of ``RESULTS_PER_PAGE``, by title."""
    column = HelpArticle.search_en if language == "en" else HelpArticle.search_es
    title = HelpArticle.title_en if language == "en" else HelpArticle.title_es
    statement = select(HelpArticle).where(HelpArticle.published)
    for word in fold(query[:MAX_QUERY]).split()[:MAX_WORDS]:
        statement = statement.where(column.like(_like(word), escape="\\"))
    return paginate(session, statement.order_by(title, HelpArticle.id), page, RESULTS_PER_PAGE)


def published_article(session: Session, slug: str) -> HelpArticle | None:
    return session.scalar(select(HelpArticle).where(HelpArticle.slug == slug, HelpArticle.published))


def all_articles(session: Session, page: int) -> Page:
    """Every article, published or not, the latest changed first (the back office's list)."""
    statement = select(HelpArticle).order_by(HelpArticle.updated_at.desc(), HelpArticle.id.desc())
    return paginate(session, statement, page)


def article(session: Session, article_id: int) -> HelpArticle | None:
    return session.get(HelpArticle, article_id)


def _write(session: Session, row: HelpArticle, text: ArticleText, actor_id: int | None) -> None:
    """Copy ``text`` into ``row`` with its search text; ``SlugTaken`` (nothing kept) if the address is
    another article's, found before the write or by the unique index when two writes race."""
    taken = select(HelpArticle.id).where(HelpArticle.slug == text.slug)
    if row.id is not None:
        taken = taken.where(HelpArticle.id != row.id)
    if session.scalar(taken) is not None:
        raise SlugTaken(text.slug)
    for name, value in vars(text).items():
        setattr(row, name, value)
    row.search_es = fold(f"{text.title_es} {text.body_es}")
    row.search_en = fold(f"{text.title_en} {text.body_en}")
    row.updated_by_id = actor_id
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise SlugTaken(text.slug) from None


def create_article(session: Session, text: ArticleText, actor_id: int, origin: Origin) -> HelpArticle:
    """A new, unpublished article; raises ``SlugTaken``."""
    row = HelpArticle(published=False)
    _write(session, row, text, actor_id)
    record_event(session, "help_article.created", origin, user_id=actor_id, slug=row.slug)
    return row


def update_article(
    session: Session, row: HelpArticle, text: ArticleText, actor_id: int, origin: Origin
) -> list[str]:
    """Change an article (published or not, it stays so); the names of the fields that changed, recorded in
    the audit trail (none: nothing recorded). Raises ``SlugTaken``."""
    changed = [name for name, value in vars(text).items() if getattr(row, name) != value]
    if not changed:
        return []
    previous = row.slug
    _write(session, row, text, actor_id)
    record_event(
        session,
        "help_article.changed",
        origin,
        user_id=actor_id,
        slug=row.slug,
        previous=previous,
        fields=", ".join(changed),
    )
    return changed


def set_published(session: Session, row: HelpArticle, published: bool, actor_id: int, origin: Origin) -> bool:
    """Publish or withdraw an article; False when it already was so (nothing recorded)."""
    if row.published == published:
        return False
    row.published = published
    row.published_at = utcnow() if published else None
    row.updated_by_id = actor_id
    session.flush()
    if published:
        record_event(session, "help_article.published", origin, user_id=actor_id, slug=row.slug)
    else:
        record_event(session, "help_article.withdrawn", origin, user_id=actor_id, slug=row.slug)
    return True

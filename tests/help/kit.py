"""Help articles committed in an app's database, and a supervisor of the operator who writes them."""

from __future__ import annotations

from mgd.db import get_session, utcnow
from mgd.helpcentre.models import HelpArticle
from mgd.helpcentre.text import fold
from tests.factories import make_user

SUPERVISOR = "supervisora@operador.es"


def add_article(app, slug: str = "iniciar-sesion", *, published: bool = True, **fields) -> int:
    """An article in both languages (``fields`` override any column); its id."""
    values = {
        "category": "sign_in",
        "title_es": "Cómo iniciar sesión",
        "title_en": "How to sign in",
        "body_es": "Escribe tu correo o tu móvil y tu contraseña.",
        "body_en": "Type your email or your mobile and your password.",
        **fields,
    }
    with app.app_context():
        session = get_session()
        article = HelpArticle(
            slug=slug,
            published=published,
            published_at=utcnow() if published else None,
            search_es=fold(f"{values['title_es']} {values['body_es']}"),
            search_en=fold(f"{values['title_en']} {values['body_en']}"),
            **values,
        )
        session.add(article)
        session.commit()
        return article.id


def add_supervisor(app, email: str = SUPERVISOR) -> int:
    with app.app_context():
        session = get_session()
        user = make_user(session, email, staff_role="supervisor", mobile=None)
        session.commit()
        return user.id

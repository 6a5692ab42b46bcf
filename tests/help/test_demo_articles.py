"""The demo's help articles: loaded once, published, in both languages, in every category, and their links
lead to pages the portal has."""

from __future__ import annotations

import re

from markupsafe import escape

from mgd.db import get_session
from mgd.helpcentre.demo import ARTICLES, add_demo_articles
from mgd.helpcentre.models import CATEGORIES
from tests.kit import browser, text


def test_the_demo_articles_load_once_and_cover_every_category(app, bound):
    with app.app_context():
        session = get_session()
        assert add_demo_articles(session) == len(ARTICLES)
        assert add_demo_articles(session) == 0
        session.commit()
    assert {article.category for article in ARTICLES} == set(CATEGORIES)
    client = browser(app)
    for article in ARTICLES:
        page = text(client.get(f"/ayuda/{article.slug}"))
        assert f"<h1>{escape(article.title_en)}</h1>" in page and "**" not in page
    assert "Signing in with your email or your mobile number" in text(client.get("/ayuda?q=mobile"))


def test_the_demo_articles_link_to_pages_the_portal_has(app):
    adapter = app.url_map.bind("localhost")
    for article in ARTICLES:
        for body in (article.body_es, article.body_en):
            for path in re.findall(r"\]\((/[^)]*)\)", body):
                adapter.match(path, method="GET")  # raises NotFound for a page that does not exist

"""The public help centre: the articles by category and each article in Spanish and English, a search that
ignores case and accents in the reader's language, a page at a time, and nothing unpublished."""

from __future__ import annotations

import pytest

from mgd.helpcentre.text import fold, render
from tests.help.kit import add_article
from tests.kit import browser, text


def spanish(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    return client


@pytest.fixture
def articles(app, bound):
    add_article(app)
    add_article(
        app,
        "facturas-electronicas",
        category="invoices",
        title_es="La facturación electrónica",
        title_en="Electronic invoices",
        body_es="Recibe tus **facturas** por correo.\n\n- Una\n- Dos <script>alert(1)</script>",
        body_en="Receive your **invoices** by email.\n\n- One\n- Two <script>alert(1)</script>",
    )
    add_article(app, "borrador", published=False, title_es="Borrador secreto", title_en="Secret draft")


def test_the_index_lists_published_articles_by_category_in_each_language(app, articles):
    english = text(browser(app).get("/ayuda"))
    assert "<h1>Help centre</h1>" in english
    assert "Electronic invoices" in english and "How to sign in" in english
    assert 'id="invoices"' in english and 'id="registration"' in english  # every category, even empty
    es = text(spanish(app).get("/ayuda"))
    assert "Centro de ayuda" in es and "La facturación electrónica" in es and "Cómo iniciar sesión" in es
    assert "Electronic invoices" not in es


def test_an_article_is_rendered_safely_in_each_language(app, articles):
    english = text(browser(app).get("/ayuda/facturas-electronicas"))
    assert "<h1>Electronic invoices</h1>" in english
    assert "<strong>invoices</strong>" in english and "<li>One</li>" in english
    assert "<script>alert" not in english and "&lt;script&gt;alert(1)&lt;/script&gt;" in english
    es = text(spanish(app).get("/ayuda/facturas-electronicas"))
    assert "<h1>La facturación electrónica</h1>" in es and "<strong>facturas</strong>" in es


def test_unpublished_and_unknown_articles_are_not_found(app, articles):
    client = browser(app)
    assert client.get("/ayuda/borrador").status_code == 404
    assert client.get("/ayuda/no-existe").status_code == 404
    assert "Secret draft" not in text(client.get("/ayuda"))
    assert "Secret draft" not in text(client.get("/ayuda?q=secret"))
    assert "Borrador secreto" not in text(spanish(app).get("/ayuda?q=borrador"))


@pytest.mark.parametrize("query", ["facturacion", "FACTURACIÓN", "Facturación  electronica", "factur"])
def test_the_spanish_search_ignores_accents_and_case(app, articles, query):
    page = text(spanish(app).get("/ayuda", query_string={"q": query}))
    assert "La facturación electrónica" in page and "Cómo iniciar sesión" not in page


def test_the_search_reads_the_readers_language_only(app, articles):
    assert "Electronic invoices" in text(browser(app).get("/ayuda?q=ÍNVOICES"))
    assert "No article matches this search" in text(browser(app).get("/ayuda?q=facturacion"))
    # Every word must appear; LIKE's wildcards are plain characters.
    assert "No article matches this search" in text(browser(app).get("/ayuda?q=invoices+nowhere"))
    assert "No article matches this search" in text(browser(app).get("/ayuda?q=%25"))
    assert "No article matches this search" in text(browser(app).get("/ayuda?q=_"))


def test_results_come_a_page_at_a_time(app, bound):
    for n in range(12):
        add_article(app, f"tarifa-{n:02d}", title_en=f"Tariff {n:02d}", body_en="About tariffs.")
    first = text(browser(app).get("/ayuda?q=tariff"))
    assert "12 articles found." in first and first.count("/ayuda/tarifa-") == 10
    assert "Page 1 of 2" in first and "page=2" in first
    second = text(browser(app).get("/ayuda?q=tariff&page=2"))
    assert second.count("/ayuda/tarifa-") == 2 and "Tariff 11" in second


def test_a_search_too_long_is_refused_naming_the_field(app, articles):
    response = browser(app).get("/ayuda", query_string={"q": "x" * 101})
    page = text(response)
    assert response.status_code == 422
    assert "Search with at most 100 characters." in page and '<a href="#q">' in page


def test_the_folded_text_and_the_markup_subset():
    assert fold("  Facturación ÁGIL\tde Señales ") == "facturacion agil de senales"
    html = str(render('## Título\n\n1. Uno\n2. [Dos](/ayuda)\n\n[mal](javascript:alert(1)) <b onclick="x">'))
    assert html.startswith('<h2>Título</h2>\n<ol><li>Uno</li><li><a href="/ayuda">Dos</a></li></ol>')
    assert '<a href="javascript' not in html and "&lt;b onclick=&#34;x&#34;&gt;" in html
    assert '<a href="//evil.example">' not in str(render("[x](//evil.example)"))

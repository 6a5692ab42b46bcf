"""Supervisors write the help centre in the back office: list, write, change, publish and withdraw articles,
each field's problem named, every change audited. Advisors, company users and visitors get a 404."""

from __future__ import annotations

import pytest

from mgd.db import get_session
from mgd.helpcentre.models import HelpArticle
from tests.factories import make_user
from tests.help.kit import SUPERVISOR, add_article, add_supervisor
from tests.kit import audit, browser, post, signed_in_client, text, token

ARTICLE = {
    "slug": "cambiar-el-movil",
    "category": "sign_in",
    "title_es": "Cambiar el móvil",
    "body_es": "Ve a **Mi perfil** y escribe el nuevo móvil.",
    "title_en": "Changing your mobile",
    "body_en": "Go to **My profile** and type the new mobile.",
}


@pytest.fixture
def supervisor(app, bound):
    add_supervisor(app)
    return signed_in_client(app, SUPERVISOR)


def stored(app, slug: str) -> HelpArticle | None:
    with app.app_context():
        return get_session().query(HelpArticle).filter_by(slug=slug).one_or_none()


def test_a_supervisor_writes_changes_publishes_and_withdraws_an_article(app, supervisor):
    assert "Help centre articles" in text(supervisor.get("/backoffice/ayuda"))
    created = post(supervisor, "/backoffice/ayuda/nuevo", ARTICLE)
    row = stored(app, "cambiar-el-movil")
    assert created.headers["Location"] == f"/backoffice/ayuda/{row.id}" and not row.published
    assert browser(app).get("/ayuda/cambiar-el-movil").status_code == 404  # not published yet

    changed = post(supervisor, f"/backoffice/ayuda/{row.id}", {**ARTICLE, "title_en": "Changing the mobile"})
    assert changed.status_code == 302 and stored(app, "cambiar-el-movil").title_en == "Changing the mobile"

    supervisor.post(f"/backoffice/ayuda/{row.id}/publicar", data={"csrf_token": token(supervisor)})
    page = text(browser(app).get("/ayuda/cambiar-el-movil"))
    assert "<h1>Changing the mobile</h1>" in page and "<strong>My profile</strong>" in page
    assert "Changing the mobile" in text(browser(app).get("/ayuda?q=changing"))

    supervisor.post(f"/backoffice/ayuda/{row.id}/retirar", data={"csrf_token": token(supervisor)})
    assert browser(app).get("/ayuda/cambiar-el-movil").status_code == 404

    supervisor_id = stored(app, "cambiar-el-movil").updated_by_id
    for action in ("created", "changed", "published", "withdrawn"):
        events = audit(app, f"help_article.{action}")
        assert [(e.user_id, e.detail["slug"]) for e in events] == [(supervisor_id, "cambiar-el-movil")]
    assert audit(app, "help_article.changed")[0].detail["fields"] == "title_en"


def test_saving_without_changes_records_nothing(app, supervisor):
    article_id = add_article(app, **{k: v for k, v in ARTICLE.items() if k != "slug"}, slug=ARTICLE["slug"])
    assert post(supervisor, f"/backoffice/ayuda/{article_id}", ARTICLE).status_code == 302
    assert audit(app, "help_article.changed") == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slug", "", "Give the address of the article."),
        ("slug", "Cambiar el Móvil", "The address takes lower-case letters without accents"),
        ("slug", "ab", "The address has 3 to 80 characters."),
        ("category", "billing", "Not a valid choice"),
        ("title_es", "", "Give the title in Spanish."),
        ("title_en", "x" * 201, "At most 200 characters."),
        ("title_en", "Two\nlines", "must be on one line"),
        ("body_es", "", "Write the text in Spanish."),
        ("body_en", "", "Write the text in English."),
    ],
)
def test_bad_input_is_refused_naming_the_field(app, supervisor, field, value, message):
    response = post(supervisor, "/backoffice/ayuda/nuevo", {**ARTICLE, field: value})
    page = text(response)
    assert response.status_code == 422 and message in page
    assert f'<a href="#{field}">' in page and f'id="{field}-error"' in page
    assert stored(app, "cambiar-el-movil") is None


def test_an_address_already_taken_is_refused_on_the_address(app, supervisor):
    add_article(app, "cambiar-el-movil")
    other = add_article(app, "otro-articulo")
    for url in ("/backoffice/ayuda/nuevo", f"/backoffice/ayuda/{other}"):
        response = post(supervisor, url, ARTICLE)
        assert response.status_code == 422
        assert "Another article already has this address" in text(response) and 'id="slug-error"' in text(
            response
        )
    assert stored(app, "otro-articulo") is not None


def test_only_supervisors_reach_the_articles(app, acme):
    article_id = add_article(app)
    with app.app_context():
        make_user(get_session(), "asesor@operador.es", staff_role="advisor")
        get_session().commit()
    advisor = signed_in_client(app, "asesor@operador.es")
    assert 'href="/backoffice/ayuda"' not in text(advisor.get("/backoffice"))  # no tab for advisors
    people = {
        "visitor": browser(app),
        "advisor": advisor,
        "company admin": signed_in_client(app, "ana@acme.es"),
    }
    for who, client in people.items():
        for url in ("/backoffice/ayuda", "/backoffice/ayuda/nuevo", f"/backoffice/ayuda/{article_id}"):
            assert client.get(url).status_code == 404, f"{who} GET {url}"
        for url in (
            "/backoffice/ayuda/nuevo",
            f"/backoffice/ayuda/{article_id}",
            f"/backoffice/ayuda/{article_id}/publicar",
            f"/backoffice/ayuda/{article_id}/retirar",
        ):
            data = {**ARTICLE, "csrf_token": token(client)}
            assert client.post(url, data=data).status_code == 404, f"{who} POST {url}"
    assert stored(app, "cambiar-el-movil") is None
    assert audit(app, "help_article.withdrawn") == []


def test_the_supervisor_has_the_tab_and_an_unknown_article_is_not_found(app, supervisor):
    assert 'href="/backoffice/ayuda"' in text(supervisor.get("/backoffice"))
    assert supervisor.get("/backoffice/ayuda/999999").status_code == 404

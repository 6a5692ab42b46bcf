"""Words and numbers: dates in English day first (en-GB), in Madrid time; numbers grouped by Babel in each
language; Spanish names (Mi Área, the companies') marked as Spanish in English pages; a welcome without gender."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import force_locale, gettext

from tests.accounts import update_user, user_id_of
from tests.kit import csrf_token, signed_in_client, text


def test_dates_are_day_first_in_english_and_in_madrid_time(app, acme):
    update_user(
        app, user_id_of(app, "carla@acme.es"), last_sign_in_at=datetime(2026, 3, 4, 10, 5, tzinfo=UTC)
    )
    ana = signed_in_client(app, "ana@acme.es")
    members = text(ana.get(f"/empresa/{acme.ref}/usuarios"))
    assert "04/03/2026, 11:05" in members  # 10:05 UTC is 11:05 in Madrid in March
    ana.post("/language", data={"locale": "es", "csrf_token": csrf_token(ana)})
    assert "4/3/26, 11:05" in text(ana.get(f"/empresa/{acme.ref}/usuarios"))


def test_numbers_are_grouped_in_each_language(app, acme):
    with app.test_request_context():
        template = app.jinja_env.from_string(
            "{{ ngettext('%(num)s line', '%(num)s lines', n, num=n|number) }}"
        )
        with force_locale("es_ES"):
            assert template.render(n=50000) == "50.000 líneas"
        with force_locale("en_GB"):
            assert template.render(n=50000) == "50,000 lines"


def test_spanish_names_are_marked_spanish_in_english_pages(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    page = text(ana.get(f"/empresa/{acme.ref}"))
    assert '<html lang="en">' in page
    assert '<a href="/mi-area" lang="es">Mi Área</a>' in page
    assert '<h1 lang="es">Acme S.L.</h1>' in page and '<strong lang="es">Acme S.L.</strong>' in page


def test_the_spanish_welcome_has_no_gender(app):
    with app.test_request_context(), force_locale("es_ES"):
        assert gettext("Welcome to Mi Área") == "Te damos la bienvenida a Mi Área"
        assert gettext("Welcome to MGD: your temporary password").startswith("Te damos la bienvenida")

"""The GOV.UK error pattern on every form: each page of the URL map is opened as a visitor, a company's
administrator and an operator's advisor, each of its forms is submitted empty, and every answer that shows errors
has the summary at the top (announced once), "Error:" before its title, links to fields that exist and no
autofocus."""

from __future__ import annotations

import re

from sqlalchemy import select

from mgd.db import get_session
from mgd.registration.models import AccessRequest
from tests.accounts import (
    add_alert,
    add_attachment,
    add_conversation,
    add_draft,
    add_invoices,
    add_order,
    create_member,
)
from tests.chat.visitor_kit import add_visitor_chat
from tests.factories import PASSWORD, make_user
from tests.help.kit import add_article
from tests.kit import browser, csrf_token, outbox, post, signed_in_client, text
from tests.pages import error_summary, field_errors, ids, page_urls, post_forms, title
from tests.registration.test_access_request import DETAILS

#: Pages whose forms must answer an empty submission with errors (more may).
MUST_SHOW_ERRORS = {
    "security.login",
    "password_reset.request_code",
    "registration.identify",
    "registration.access_request",
    "invitations.accept",
    "admin.invite",
    "admin.invite_csv",
    "lines.assign_csv",
    "profile.show",
    "profile.authenticator",
    "backoffice.request_detail",
    "help_articles.new",
    "orders.send_sms",
    "help_articles.edit",
    "usage_alerts.new",
    "usage_alerts.edit",
    "orders.bulk",
    "admin.edit_draft",
    "visitor_chat.start",
}


def assert_error_pattern(html: str, where: str) -> None:
    summary = error_summary(html)
    assert summary, f"{where}: errors without an error summary"
    assert 'role="alert"' in summary and 'tabindex="-1"' in summary, where
    assert html.count('role="alert"') == 1, f"{where}: errors announced more than once"
    assert title(html).startswith("Error: "), f"{where}: title {title(html)!r}"
    targets = re.findall(r'href="#([^"]+)"', summary)
    assert set(targets) <= ids(html), f"{where}: summary links to missing ids {set(targets) - ids(html)}"
    assert set(field_errors(html)) <= set(targets), f"{where}: a field's error is not in the summary"
    assert not re.search(r"\sautofocus[\s>=]", html), f"{where}: autofocus on a page with errors"
    assert html.index("error-summary") < html.index("<h1"), f"{where}: the summary is not at the top"


def known_ids(app, acme) -> dict[str, object]:
    ana = signed_in_client(app, "ana@acme.es")
    post(
        ana,
        f"/empresa/{acme.ref}/usuarios/invitar",
        {"email": "eva@acme.es", "name": "Eva", "role": "viewer"},
    )
    body = [m for m in outbox(app) if m.recipient == "eva@acme.es"][-1].body_text
    assert post(browser(app), "/register/gran-cliente", DETAILS).status_code == 302
    with app.app_context():
        session = get_session()
        reference = session.scalar(select(AccessRequest.reference))
        # A supervisor: the advisors' pages and the help centre's articles.
        make_user(session, "advisor@operador.es", staff_role="supervisor")
        session.commit()
    add_invoices(app, acme)
    return {
        "ref": acme.ref,
        "line_id": acme.lines[0],
        "membership_id": acme.members["bob@acme.es"],
        "reference": reference,
        "token": re.search(r"/invitacion/(\S+)", body).group(1),
        "invoice_id": acme.invoices[0],
        "account_id": acme.account,
        "alert_id": add_alert(app, acme),
        "order_id": (order := add_order(app, acme)),
        "attachment_id": add_attachment(app, acme, order),
        "conversation_id": add_conversation(app, acme, with_file=True),
        "chat_id": add_visitor_chat(app),
        "invitation_id": add_draft(app, acme),
        "slug": "iniciar-sesion",
        "article_id": add_article(app, "iniciar-sesion"),
    }


def test_every_form_submitted_empty_shows_the_error_summary(app, acme, companies):
    values = known_ids(app, acme)
    people = {
        "visitor": browser(app),
        "admin": signed_in_client(app, "ana@acme.es"),
        "advisor": signed_in_client(app, "advisor@operador.es"),
    }
    shown = set()
    for who, client in people.items():
        for endpoint, url in page_urls(app, values):
            page = client.get(url)
            if page.status_code != 200:
                continue
            for form in post_forms(text(page)):
                answer = client.post(form.action or url, data=form.empty_submission())
                html = text(answer)
                if answer.status_code in (200, 422) and (field_errors(html) or error_summary(html)):
                    assert_error_pattern(html, f"{who}: empty {form.action or url} from {endpoint}")
                    shown.add(endpoint)
    assert shown >= MUST_SHOW_ERRORS, f"no errors shown for {MUST_SHOW_ERRORS - shown}"


def test_a_radio_group_error_links_to_its_fieldset(app, companies):
    create_member(app)
    client = browser(app)
    post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    answer = client.post("/login/channel", data={"csrf_token": csrf_token(client, "/login/channel")})
    html = text(answer)
    assert_error_pattern(html, "the channel page")
    assert '<a href="#channel">' in error_summary(html)
    assert re.search(r'<fieldset [^>]*id="channel"[^>]*aria-describedby="channel-error"', html)


def test_a_page_level_error_is_in_the_summary_without_a_link(app, acme):
    answer = post(browser(app), "/login", {"email": "ana@acme.es", "password": "Wrong2026pass"})
    html = text(answer)
    assert_error_pattern(html, "a wrong password")
    assert "<li>" in error_summary(html) and "href" not in error_summary(html)


def test_a_filter_error_is_in_the_summary(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    answer = ana.get(f"/empresa/{acme.ref}/actividad", query_string={"since": "1999-01-01"})
    assert answer.status_code == 422
    assert_error_pattern(text(answer), "the activity filters")
    assert '<a href="#since">' in error_summary(text(answer))


def test_a_page_without_errors_keeps_its_autofocus_and_plain_title(app):
    html = text(browser(app).get("/login"))
    assert error_summary(html) is None and not title(html).startswith("Error")
    assert re.search(r'<input [^>]*autofocus[^>]*id="email"', html)


def test_the_spanish_title_says_error_too(app, acme):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    html = text(client.post("/login", data={"csrf_token": csrf_token(client, "/login")}))
    assert title(html).startswith("Error: ") and "Hay un problema" in error_summary(html)


def test_the_survey_of_a_completed_order_sent_empty_shows_the_error_summary(app, acme):
    number = add_order(app, acme, state="completed")
    ana = signed_in_client(app, "ana@acme.es")
    page = f"/empresa/{acme.ref}/pedidos/{number}"
    forms = [form for form in post_forms(text(ana.get(page))) if (form.action or "").endswith("/encuesta")]
    assert len(forms) == 1
    answer = ana.post(forms[0].action, data=forms[0].empty_submission())
    assert answer.status_code == 422
    assert_error_pattern(text(answer), "the order's survey sent empty")

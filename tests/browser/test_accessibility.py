"""Accessibility in a real browser: axe-core over every page of the URL map and the error state of each of its
forms, in Spanish and English, at 1280 and 360 px, with no violation; no page scrolls sideways at 320 px;
registration and sign-in with the keyboard only (Tab, Enter and Space); the help panel closes with Escape.
With MGD_TEST_SCREENS set (`make screens`), screenshots of the main pages at both widths are written there."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from mgd.db import get_session
from mgd.extensions import limiter
from mgd.registration.models import AccessRequest
from tests.accounts import (
    add_alert,
    add_attachment,
    add_conversation,
    add_draft,
    add_invoices,
    add_member,
    add_order,
    create_company,
)
from tests.browser.live import (
    ARGS,
    CHROMIUM,
    DESKTOP,
    PHONE,
    audit,
    require_chromium,
    scrolls_sideways,
    sent_count,
    serve_portal,
    temporary_password,
    wait_for_mailed_code,
    wait_for_sms,
)
from tests.chat.visitor_kit import add_visitor_chat
from tests.factories import IBAN_M, PASSWORD, Registrant, make_user
from tests.help.kit import add_article
from tests.kit import browser, outbox, post, signed_in_client
from tests.pages import page_urls
from tests.registration.test_access_request import DETAILS
from tests.usage.kit import add_sample_usage

require_chromium(axe=True)

LANGUAGES = {"es": "es-ES", "en": "en-GB"}
SIZES = {"1280": DESKTOP, "360": PHONE}
#: Registrants with a mobile line (codes by SMS), one per language and width, one for the keyboard test.
REGISTRANTS = [Registrant(n) for n in (0, 2, 4, 6, 8)]

#: Pages only a flow this file does not drive reaches, and why.
NOT_WALKED = {
    "registration.mobile": "only a company without a mobile line gives one (tests/registration)",
    "registration.end": "a refused registration (tests/registration)",
    "registration.access_request_sent": "after a request is sent (tests/registration)",
    "password_reset.enter_code": "a password reset in progress (tests/security/test_password_reset.py)",
    "password_reset.new_password": "a password reset in progress",
    "security.reauthenticate": "a sign-in older than the freshness window (tests/security)",
    "security.change_password": "a temporary password: the keyboard test reaches it",
    "selfcare.verify_mobile": "a changed mobile (tests/selfcare)",
    "profile.confirm_email": "a changed email (tests/security/test_profile.py)",
    "selfcare.onboarding": "a person who has not onboarded: the registrations reach it",
}


@dataclass
class Site:
    portal: object
    base: str
    values: dict
    completed: int = 0
    violations: list[str] = field(default_factory=list)
    audited: set[str] = field(default_factory=set)

    def endpoint(self, url: str) -> str:
        path = "/" + url.split("/", 3)[3].split("?", maxsplit=1)[0] if url.count("/") >= 3 else "/"
        try:
            return self.portal.url_map.bind("127.0.0.1").match(path)[0]
        except Exception:
            return "404"


@pytest.fixture(scope="module")
def site(app, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("accessibility")
    sending = {"SEND_LIMIT_USER": "100/15min", "SEND_LIMIT_DESTINATION": "100/15min"}  # a sign-in per walk
    with serve_portal(app, tmp, [r.record() for r in REGISTRANTS], **sending) as (portal, base):
        acme = create_company(portal, "Acme S.L.", 3)
        add_member(portal, acme, "ana@acme.es", "admin")
        add_member(portal, acme, "bob@acme.es", "manager")
        with portal.app_context():
            # A supervisor: the advisors' pages and the help centre's articles.
            make_user(get_session(), "advisor@operador.es", staff_role="supervisor")
            get_session().commit()
        limiter.reset()
        ana = signed_in_client(portal, "ana@acme.es")
        post(
            ana,
            f"/empresa/{acme.ref}/usuarios/invitar",
            {"email": "eva@acme.es", "name": "Eva", "role": "viewer"},
        )
        post(browser(portal), "/register/gran-cliente", DETAILS)
        with portal.app_context():
            reference = get_session().scalar(select(AccessRequest.reference))
        invitation = next(m for m in outbox(portal) if m.recipient == "eva@acme.es").body_text
        token = invitation.split("/invitacion/")[1].split()[0]
        add_invoices(portal, acme)
        add_sample_usage(portal, acme)
        values = {
            "ref": acme.ref,
            "line_id": acme.lines[0],
            "membership_id": acme.members["bob@acme.es"],
            "reference": reference,
            "token": token,
            "invoice_id": acme.invoices[0],
            "account_id": acme.account,
            "alert_id": add_alert(portal, acme),
            "order_id": (order := add_order(portal, acme)),
            "attachment_id": add_attachment(portal, acme, order),
            "conversation_id": add_conversation(portal, acme, with_file=True),
            "chat_id": add_visitor_chat(portal),
            "invitation_id": add_draft(portal, acme),
            "slug": "iniciar-sesion",
            "article_id": add_article(portal, "iniciar-sesion"),
        }
        completed = add_order(portal, acme, state="completed")  # its page asks for the survey
        yield Site(portal, base, values, completed=completed)


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (only where Chromium exists)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def new_page(chromium, language: str, size: str):
    context = chromium.new_context(viewport=SIZES[size], locale=LANGUAGES[language])
    return context.new_page()


def check(site: Site, page, where: str) -> None:
    """axe-core on the page as shown, and (on a phone) no sideways scroll at 360 and 320 px."""
    site.audited.add(site.endpoint(page.url))
    for violation in audit(page):
        site.violations.append(
            f"{where}: {violation['id']} ({violation['impact']}) {violation['help']}: "
            + " | ".join(violation["nodes"])
        )
    width = page.viewport_size["width"]
    if width < 400:
        for narrow in (width, 320):
            page.set_viewport_size({"width": narrow, "height": page.viewport_size["height"]})
            if scrolls_sideways(page):
                site.violations.append(f"{where}: scrolls sideways at {narrow} px")
        page.set_viewport_size({"width": width, "height": page.viewport_size["height"]})


FORMS_TO_FILL = """() => [...document.querySelectorAll('main form[method=post]')].map((form, index) =>
    form.querySelector('input:not([type=hidden]):not([type=submit]), select, textarea') ? index : -1)
    .filter(index => index >= 0)"""
EMPTY_FORM = """index => {
    const form = document.querySelectorAll('main form[method=post]')[index];
    form.querySelectorAll('input:not([type=hidden]):not([type=submit]), textarea').forEach(input => {
        if (input.type === 'checkbox' || input.type === 'radio') input.checked = false; else input.value = '';
    });
}"""


def submit_empty(page, index: int) -> None:
    page.evaluate(EMPTY_FORM, index)
    button = page.locator("main form[method=post]").nth(index).locator("button[type=submit]").first
    with page.expect_navigation():
        button.click()


def check_error_state(site: Site, page, where: str) -> None:
    """The page after an empty submission: when it shows errors, focus is on the summary, and axe is run."""
    if not page.locator("[data-error-summary]").count():
        return
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')"), (
        f"{where}: focus is not on the error summary"
    )
    assert page.title().startswith("Error: "), where
    check(site, page, where)


def sign_in(site: Site, page, email: str, where: str) -> None:
    """Password, a code by email, checking each page and the error state of the first. Each page's first
    form is the one filled (the code page's second form asks for a new code)."""
    mail = Path(site.portal.config["MAIL_FILE"])
    page.goto(site.base + "/login")
    check(site, page, f"{where} /login")
    page.locator("main form button[type=submit]").first.click()
    check_error_state(site, page, f"{where} /login empty")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    check(site, page, f"{where} {page.url}")
    page.locator("main form button[type=submit]").first.click()
    check_error_state(site, page, f"{where} channel empty")
    page.check("input[name=channel][value=email]")
    sent = sent_count(mail)
    page.locator("main form button[type=submit]").first.click()
    check(site, page, f"{where} {page.url}")
    page.fill("#code", wait_for_mailed_code(mail, email, after=sent))
    page.locator("main form button[type=submit]").first.click()


def walk(site: Site, page, who: str) -> None:
    """Every page of the URL map, and the error state of each of its forms."""
    seen = set()
    for _endpoint, url in page_urls(site.portal, site.values):
        page.goto(site.base + url)
        if page.url in seen:
            continue
        seen.add(page.url)
        where = f"{who} {url}"
        check(site, page, where)
        for index in page.evaluate(FORMS_TO_FILL):
            page.goto(site.base + url)
            submit_empty(page, index)
            check_error_state(site, page, f"{where} form {index} submitted empty")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_and_its_errors_pass_axe(site, chromium, language, size):
    """Every page of the URL map (but the few only other flows reach) and its errors, as each role."""
    limiter.reset()
    site.audited.clear()
    where = f"[{language} {size}]"
    visitor = new_page(chromium, language, size)
    walk(site, visitor, f"{where} visitor")
    chat_as_a_visitor(site, visitor, f"{where} visitor")
    page = new_page(chromium, language, size)
    sign_in(site, page, "ana@acme.es", f"{where} admin")
    walk(site, page, f"{where} admin")
    page.goto(f"{site.base}/empresa/{site.values['ref']}/actividad?since=1999-01-01")
    check_error_state(site, page, f"{where} admin activity with a date out of range")
    survey = f"{site.base}/empresa/{site.values['ref']}/pedidos/{site.completed}"
    page.goto(survey)
    check(site, page, f"{where} admin a completed order's survey")
    for index in page.evaluate(FORMS_TO_FILL):
        page.goto(survey)
        submit_empty(page, index)
        check_error_state(site, page, f"{where} admin the order's survey submitted empty")
    advisor = new_page(chromium, language, size)
    sign_in(site, advisor, "advisor@operador.es", f"{where} advisor")
    walk(site, advisor, f"{where} advisor")
    registrant = REGISTRANTS[list(LANGUAGES).index(language) * 2 + list(SIZES).index(size)]
    register_with_the_keyboard(site, new_page(chromium, language, size), registrant, where)
    for context in chromium.contexts:
        context.close()
    assert not site.violations, "\n".join(site.violations)
    pages = {endpoint for endpoint, _url in page_urls(site.portal, site.values)}
    assert pages - site.audited <= set(NOT_WALKED), f"never audited: {pages - site.audited - set(NOT_WALKED)}"


def chat_as_a_visitor(site: Site, page, where: str) -> None:
    """A visitor's own conversation (the walk meets only another session's: a 404), its list, and its
    message form sent empty."""
    page.goto(site.base + "/ayuda/chat/nueva?desde=/register")
    page.fill("#name", "Vera")
    page.fill("#email", "vera@example.es")
    page.fill("#body", "I am stuck")
    with page.expect_navigation():
        page.locator("main form[method=post] button[type=submit]").first.click()
    assert "/ayuda/chat/" in page.url and "nueva" not in page.url, page.url
    check(site, page, f"{where} {page.url}")
    conversation = page.url
    submit_empty(page, 0)
    check_error_state(site, page, f"{where} {conversation} message sent empty")
    page.goto(site.base + "/ayuda/chat")
    check(site, page, f"{where} /ayuda/chat")


# ---- the keyboard only ---------------------------------------------------------------------------------------


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has focus."""
    for _ in range(limit):
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reaches {selector} on {page.url}")


def type_in(page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def press(page, selector: str, key: str = "Enter") -> None:
    tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press(key)


SUBMIT = "main form[method=post] button[type=submit]"


def register_with_the_keyboard(site: Site, page, registrant: Registrant, where: str) -> None:
    """Registration from the home page to the company's page, each step first sent empty: Tab, Enter, Space."""
    sms = Path(site.portal.config["SMS_FILE"])
    page.goto(site.base + "/")
    check(site, page, f"{where} home")
    press(page, "main a[href='/register']")
    steps = [
        ({"#fiscal_id": registrant.fiscal_id, "#email": registrant.email}, None),
        ({"#phone": registrant.phone}, None),
        ({"#mobile_iban": IBAN_M}, None),
        ({}, "+34" + registrant.mobile),
    ]
    for fields, code_to in steps:
        check(site, page, f"{where} {page.url}")
        press(page, SUBMIT)
        check_error_state(site, page, f"{where} {page.url} empty")
        for selector, value in (fields or {"#code": wait_for_sms(sms, code_to)}).items():
            type_in(page, selector, value)
        press(page, SUBMIT)
    check(site, page, f"{where} {page.url}")  # Mi Área's welcome
    press(page, SUBMIT)
    check_error_state(site, page, f"{where} onboarding empty")
    tab_to(page, "#accept_terms")
    page.keyboard.press("Space")
    press(page, SUBMIT)
    assert "/empresa/" in page.url, page.url
    check(site, page, f"{where} the new company's page")


def test_sign_in_with_the_keyboard_only(site, chromium):
    """A registered person signs out and in again with the temporary password, Tab, Enter and Space only."""
    limiter.reset()
    registrant = REGISTRANTS[-1]
    page = new_page(chromium, "es", "360")
    if "/empresa/" not in page.url:
        register_with_the_keyboard(site, page, registrant, "[keyboard]")
    press(page, "header .account button[type=submit]")
    press(page, "header .account a[href='/login']")
    mail = Path(site.portal.config["MAIL_FILE"])
    temporary = temporary_password(mail, registrant.email)
    type_in(page, "#email", registrant.email)
    type_in(page, "#password", temporary)
    press(page, SUBMIT)
    sms = Path(site.portal.config["SMS_FILE"])
    sent = sent_count(sms)
    tab_to(page, "input[name=channel][value=sms]")
    page.keyboard.press("Space")
    press(page, SUBMIT)
    type_in(page, "#code", wait_for_sms(sms, "+34" + registrant.mobile, after=sent))
    press(page, SUBMIT)
    assert page.url.endswith("/password"), page.url
    check(site, page, "[keyboard] choose a password")
    type_in(page, "#password", "Teclado2026x")
    type_in(page, "#confirm", "Teclado2026x")
    press(page, SUBMIT)
    assert "/empresa/" in page.url, page.url
    assert not site.violations, "\n".join(site.violations)


def test_the_help_panel_leaves_the_first_error_visible_and_closes_with_escape(site, chromium):
    page = new_page(chromium, "en", "360")
    page.goto(site.base + "/login")
    press(page, SUBMIT)
    tab_to(page, "#help > summary")
    page.keyboard.press("Enter")
    assert page.evaluate("document.getElementById('help').open")
    panel = page.locator(".help-panel").bounding_box()
    first_error = page.locator("[data-error-summary] li").first.bounding_box()
    assert first_error["y"] + first_error["height"] <= panel["y"], "the help panel covers the first error"
    page.keyboard.press("Escape")
    assert not page.evaluate("document.getElementById('help').open")
    assert page.evaluate("document.activeElement.matches('#help > summary')")


def test_screenshots_of_the_main_pages(site, chromium, tmp_path):
    """The main pages in Spanish at 1280 and 360 px, as pictures: into docs/screens with `make screens`
    (``MGD_TEST_SCREENS``), else into a scratch folder, checked to be whole PNG files either way."""
    folder = Path(os.environ.get("MGD_TEST_SCREENS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    limiter.reset()
    for size in SIZES:
        page = new_page(chromium, "es", size)
        page.goto(site.base + "/")
        page.screenshot(path=str(folder / f"home-{size}.png"))
        page.goto(site.base + "/login")
        page.locator("main form button[type=submit]").click()
        # The error page is a new document: wait until it is there, or the capture meets the navigation.
        page.wait_for_selector("[data-error-summary]")
        page.wait_for_load_state()
        page.screenshot(path=str(folder / f"login-error-{size}.png"))
        sign_in(site, page, "ana@acme.es", "screens")
        for name, path in (("company", ""), ("lines", "/lineas"), ("users", "/usuarios")):
            page.goto(f"{site.base}/empresa/{site.values['ref']}{path}")
            page.wait_for_load_state()
            page.screenshot(path=str(folder / f"{name}-{size}.png"), full_page=size == "360")
    shots = sorted(folder.glob("*.png"))
    assert len(shots) == 5 * len(SIZES)
    assert all(
        shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and shot.stat().st_size > 2000 for shot in shots
    )

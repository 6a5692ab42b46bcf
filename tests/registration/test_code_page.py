"""The code step is a page with a way out: the code form always posts to the code step (also on the page that
answers "send me a new code"), the wait is counted down, and the earlier steps can be taken again."""

import re

from mgd.registration.services import MAX_WRONG_PHONES
from mgd.registration.steps import BACK, STEPS
from tests.factories import IBAN_F, IBAN_M
from tests.kit import audit, last_code, outbox, post, text, token
from tests.registration.test_flow import age_the_code, reach_code_step, start


def code_form_action(page: str) -> str:
    form = re.search(r'<form method="post" action="([^"]+)" novalidate>\s*<input[^>]*csrf_token', page)
    assert form, page
    return form.group(1)


def test_a_resend_during_the_wait_leaves_a_code_form_that_posts_to_the_code_step(app, client, companies):
    reach_code_step(client)
    answer = post(client, "/register/code/resend", {})
    assert answer.status_code == 429 and "Please wait" in text(answer)
    assert code_form_action(text(answer)) == "/register/code"
    # What the person does next: type the code they received in that form; it registers them.
    form = {"code": last_code(app, "+34611111111"), "csrf_token": token(client)}
    response = client.post(code_form_action(text(answer)), data=form)
    assert response.headers["Location"] == "/mi-area/bienvenida"


def test_the_wait_is_counted_down_by_the_portals_own_script(app, client, companies):
    reach_code_step(client)
    page = text(client.get("/register/code"))
    wait = re.search(r'data-countdown="(\d+)"', page)
    assert wait and 50 <= int(wait.group(1)) <= 60
    assert 'data-many="(available in {n} seconds)"' in page and 'data-done="(available now)"' in page
    assert re.search(r"\(available in \d+ seconds\)</span>", page)  # the text without scripts
    script = re.search(r'<script src="(/static/js/countdown.js\?v=\w+)" defer></script>', page)
    assert script and client.get(script.group(1)).status_code == 200
    age_the_code(app)
    assert "data-countdown" not in text(client.get("/register/code"))


def test_the_code_page_says_where_the_code_went_without_the_whole_address(app, client, companies):
    start(client, "B12345674", "fijo@example.es")  # only fixed lines: the code goes by email
    post(client, "/register/phone", {"phone": "911111111"})
    post(client, "/register/bank", {"fixed_iban": IBAN_F})
    page = text(client.get("/register/code"))
    assert "to your email fi•••@example.es" in page and "fijo@example.es" not in page


def test_the_phone_can_be_given_again_from_the_bank_step(app, client, companies):
    start(client, "12345678Z", "movil@example.es")
    post(client, "/register/phone", {"phone": "611111111"})
    page = text(client.get("/register/bank"))
    assert "Back to the previous step" in page
    response = post(client, "/register/back", {})
    assert response.headers["Location"] == "/register/phone"
    assert "Back to the previous step" not in text(client.get("/register/phone"))
    assert post(client, "/register/phone", {"phone": "611111111"}).headers["Location"] == "/register/bank"
    assert post(client, "/register/bank", {"mobile_iban": IBAN_M}).headers["Location"] == "/register/code"


def test_there_is_no_way_back_from_the_code_step(app, client, companies):
    reach_code_step(client)
    assert "Back to the previous step" not in text(client.get("/register/code"))
    sent = len(outbox(app))
    response = client.post("/register/back", data={"csrf_token": token(client)})
    assert response.headers["Location"] == "/register/code"
    assert len(outbox(app)) == sent and audit(app, "registration.completed") == []


def test_going_back_keeps_the_count_of_wrong_phones(app, client, companies):
    start(client, "12345678Z", "movil@example.es")
    post(client, "/register/phone", {"phone": "699999999"})
    post(client, "/register/phone", {"phone": "611111111"})
    post(client, "/register/back", {})
    page = text(post(client, "/register/phone", {"phone": "699999999"}))
    assert MAX_WRONG_PHONES == 3 and "You have 1 attempt left." in page


def test_back_without_a_registration_starts_one_and_a_bad_token_is_refused(app, client, companies):
    response = client.post("/register/back", data={"csrf_token": token(client)})
    assert response.headers["Location"] == "/register"
    start(client, "12345678Z", "movil@example.es")
    assert client.post("/register/back", data={"csrf_token": "forged"}).status_code == 400


def test_only_steps_before_the_code_have_a_way_back():
    assert BACK == {"mobile": "phone", "bank": "phone"}
    assert all(step.back is None for step in STEPS if step.name in ("identify", "phone", "code"))

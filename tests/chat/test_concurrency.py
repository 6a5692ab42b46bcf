"""Two advisors taking the same waiting conversation at the same moment, against a real server (real commits,
one thread per request): every time one wins, the other is told who has it; the conversation has one
"joined" message per round. Two surveys posted at once for one conversation: one row."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update

from mgd.chat.models import Conversation, Message, Survey
from tests.accounts import add_conversation, add_member, create_company
from tests.live import Browser, in_parallel
from tests.orders.test_concurrency import advisor_at, in_company

ROUNDS = 10


def test_two_advisors_taking_one_conversation_at_once_one_wins(live_app, live_server):
    company = create_company(live_app, "Acme S.L.", 1)
    add_member(live_app, company, "ana@acme.es", "admin")
    number = add_conversation(live_app, company)
    desks = [advisor_at(live_app, live_server, name) for name in ("uno", "dos")]
    path = f"/backoffice/chat/{number}/take"
    tokens = [desk.token(f"/backoffice/chat/{number}") for desk in desks]
    for _ in range(ROUNDS):
        in_company(live_app, company.id, update(Conversation).values(state="waiting", advisor_id=None))
        responses = in_parallel(2, lambda i: desks[i].post(path, {}, token=tokens[i]))
        assert sorted(r.status_code for r in responses) == [302, 409]
        refused = next(r for r in responses if r.status_code == 409).text
        assert "Someone else changed this conversation meanwhile" in refused
    joined = select(func.count()).select_from(Message).where(Message.body.like("taken:%"))
    assert in_company(live_app, company.id, joined) == [(ROUNDS,)]


def test_a_survey_posted_twice_at_once_is_one_row(live_app, live_server):
    from tests.factories import PASSWORD  # noqa: PLC0415
    from tests.kit import last_code  # noqa: PLC0415

    company = create_company(live_app, "Beta S.A.", 1)
    add_member(live_app, company, "dora@beta.es", "admin")
    number = add_conversation(live_app, company, state="closed")
    dora = Browser(live_server)
    assert dora.post("/login", {"email": "dora@beta.es", "password": PASSWORD}).status_code == 302
    dora.post("/login/channel", {"channel": "email"})
    assert dora.post("/login/code", {"code": last_code(live_app, "dora@beta.es")}).status_code == 302
    page = f"/empresa/{company.ref}/chat/{number}"
    token = dora.token(page)
    for _ in range(ROUNDS):
        in_company(live_app, company.id, delete(Survey))
        responses = in_parallel(
            2, lambda i: dora.post(f"{page}/encuesta", {"score": str(i + 4)}, token=token)
        )
        assert sorted(r.status_code for r in responses) == [302, 409]
        assert in_company(live_app, company.id, select(func.count()).select_from(Survey)) == [(1,)]


def test_twelve_files_sent_at_once_make_ten(live_app, live_server):
    """Twelve uploads at once in one open conversation: the conversation's row lock and the slot's unique key
    and check leave exactly ``MAX_ATTACHMENTS`` files, slots 1 to 10; the others are told (409)."""
    from mgd.chat.models import ChatAttachment  # noqa: PLC0415
    from mgd.chat.services import MAX_ATTACHMENTS  # noqa: PLC0415
    from tests.factories import PASSWORD  # noqa: PLC0415
    from tests.kit import last_code  # noqa: PLC0415

    company = create_company(live_app, "Gamma S.L.", 1)
    add_member(live_app, company, "gala@gamma.es", "admin")
    number = add_conversation(live_app, company)
    gala = Browser(live_server)
    assert gala.post("/login", {"email": "gala@gamma.es", "password": PASSWORD}).status_code == 302
    gala.post("/login/channel", {"channel": "email"})
    assert gala.post("/login/code", {"code": last_code(live_app, "gala@gamma.es")}).status_code == 302
    page = f"/empresa/{company.ref}/chat/{number}"
    token = gala.token(page)
    pdf = b"%PDF-1.4\n%%EOF\n"
    responses = in_parallel(
        12,
        lambda i: gala.post(
            f"{page}/adjuntos", {}, token=token, files={"file": (f"f{i}.pdf", pdf, "application/pdf")}
        ),
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [302] * MAX_ATTACHMENTS + [409] * (12 - MAX_ATTACHMENTS), codes
    slots = in_company(live_app, company.id, select(ChatAttachment.slot).order_by(ChatAttachment.slot))
    assert [row[0] for row in slots] == list(range(1, MAX_ATTACHMENTS + 1))

"""The survey after a completed order: offered to the requester (or an administrator) once the order is
completed, linked from the completion email, answered once (also by two posts at once on a live server); and
the back office's results of the chat's and the orders' surveys per month and advisor, with their comments."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select

from mgd.chat.models import Survey as ChatSurvey
from mgd.db import get_session, operator_scope, set_tenant
from mgd.orders.models import OrderSurvey
from mgd.security.models import User
from tests.accounts import add_member, add_order, create_company
from tests.kit import outbox, signed_in_client, speak, text, token
from tests.live import in_parallel
from tests.orders.kit import advisor

ROUNDS = 5


def complete(app, desk, number: int) -> None:
    base = f"/backoffice/pedidos/{number}"
    assert (
        desk.post(f"{base}/take", data={"take-expected": "submitted", "csrf_token": token(desk)}).status_code
        == 302
    )
    done = desk.post(f"{base}/complete", data={"complete-expected": "in_progress", "csrf_token": token(desk)})
    assert done.status_code == 302


def answers(app, company_id: int) -> list[tuple[int, int, str | None, int | None]]:
    with app.app_context():
        session = get_session()
        set_tenant(session, company_id)
        rows = session.execute(
            select(OrderSurvey.order_id, OrderSurvey.score, OrderSurvey.comment, OrderSurvey.advisor_id)
        ).all()
        return [tuple(row) for row in rows]


def user_id(app, email: str) -> int:
    with app.app_context():
        return get_session().scalar(select(User.id).where(User.email == email))


def test_a_completed_order_is_rated_once_by_its_requester(app, acme):
    number = add_order(app, acme)  # asked for by Ana, an administrator
    ana = signed_in_client(app, "ana@acme.es")
    page = f"/empresa/{acme.ref}/pedidos/{number}"
    url = f"{page}/encuesta"
    assert "How did it go?" not in text(ana.get(page))
    early = ana.post(url, data={"score": "5", "csrf_token": token(ana)})
    assert (
        early.status_code == 409
        and "An order can be rated once it is completed: it is Submitted." in text(early)
    )

    desk = advisor(app, "uno")
    complete(app, desk, number)
    mail = [m for m in outbox(app) if m.recipient == "ana@acme.es" and "Completed" in m.subject][-1]
    assert f"/empresa/{acme.ref}/pedidos/{number}#survey" in mail.body_text
    assert "Rate it from 1 to 5" in mail.body_text

    assert "How did it go?" in text(ana.get(page))
    missing = ana.post(url, data={"comment": "x", "csrf_token": token(ana)})
    assert missing.status_code == 422 and "This field is required." in text(missing)
    long = ana.post(url, data={"score": "4", "comment": "x" * 1001, "csrf_token": token(ana)})
    assert long.status_code == 422
    wrong = ana.post(url, data={"score": "6", "csrf_token": token(ana)})
    assert wrong.status_code == 422
    assert (
        ana.post(url, data={"score": "4", "comment": " Quick ", "csrf_token": token(ana)}).status_code == 302
    )
    again = ana.post(url, data={"score": "1", "csrf_token": token(ana)})
    assert again.status_code == 409 and "This order has already been rated" in text(again)
    assert answers(app, acme.id) == [(number, 4, "Quick", user_id(app, "uno@operador.es"))]
    assert "this order was rated 4 out of 5" in text(ana.get(page))


def test_only_the_requester_or_an_administrator_is_asked(app, acme):
    number = add_order(app, acme)
    complete(app, advisor(app), number)
    other = add_order(app, acme, state="rejected")
    ana = signed_in_client(app, "ana@acme.es")
    refused = ana.post(
        f"/empresa/{acme.ref}/pedidos/{other}/encuesta", data={"score": "5", "csrf_token": token(ana)}
    )
    assert refused.status_code == 409 and "it is Rejected" in text(refused)
    bob = signed_in_client(app, "bob@acme.es")  # a manager who did not ask for it
    page = f"/empresa/{acme.ref}/pedidos/{number}"
    assert "How did it go?" not in text(bob.get(page))
    assert bob.post(f"{page}/encuesta", data={"score": "5", "csrf_token": token(bob)}).status_code == 403
    assert answers(app, acme.id) == []


def test_the_survey_in_spanish(app, acme):
    number = add_order(app, acme)
    complete(app, advisor(app), number)
    ana = speak(signed_in_client(app, "ana@acme.es"), "es")
    page = f"/empresa/{acme.ref}/pedidos/{number}"
    shown = text(ana.get(page))
    assert (
        "¿Qué tal te hemos atendido?" in shown
        and "¿Cómo hemos atendido tu pedido? (1 mal, 5 excelente)" in shown
    )
    assert ana.post(f"{page}/encuesta", data={"score": "5", "csrf_token": token(ana)}).status_code == 302
    again = ana.post(f"{page}/encuesta", data={"score": "5", "csrf_token": token(ana)})
    assert again.status_code == 409 and "Este pedido ya se ha valorado" in text(again)


def _answer(session, model, company_id, subject, advisor_id, *, score, comment, when):
    values = {"conversation_id" if model is ChatSurvey else "order_id": subject}
    session.add(
        model(
            tenant_id=company_id,
            advisor_id=advisor_id,
            score=score,
            comment=comment,
            created_at=when,
            **values,
        )
    )


def test_results_per_advisor_and_month_of_both_kinds(app, acme):
    beta = create_company(app, "Beta S.A.", 1)
    desk = advisor(app, "uno")
    advisor(app, "dos")
    uno, dos = user_id(app, "uno@operador.es"), user_id(app, "dos@operador.es")
    october, november = datetime(2026, 10, 15, 12, tzinfo=UTC), datetime(2026, 11, 10, 12, tzinfo=UTC)
    with app.app_context():
        session = get_session()
        with operator_scope(session, "test"):
            _answer(session, OrderSurvey, acme.id, 1, uno, score=5, comment="Fast", when=october)
            _answer(session, OrderSurvey, beta.id, 1, uno, score=2, comment=None, when=october)
            _answer(session, ChatSurvey, acme.id, 7, uno, score=2, comment="Slow chat", when=october)
            _answer(session, OrderSurvey, acme.id, 2, dos, score=4, comment=None, when=november)
            for n in range(30):
                _answer(
                    session, ChatSurvey, beta.id, 100 + n, dos, score=3, comment=f"Comment {n}", when=november
                )
        session.commit()

    def rows(**args) -> list[tuple[str, str, str, str]]:
        page = text(desk.get("/backoffice/encuestas", query_string=args))
        assert page.count("<tbody>") >= 1, page
        table = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        cells = [
            [cell.rsplit(">", 1)[1] for cell in row.split("</td>")[:-1]] for row in table.split("</tr>")[:-1]
        ]
        return [tuple(cell.strip() for cell in row) for row in cells]

    assert rows(mes="2026-10") == [("2026-10", "Uno", "3", "3.0")]
    assert rows(mes="2026-10", tipo="order") == [("2026-10", "Uno", "2", "3.5")]
    assert rows(mes="2026-10", tipo="chat") == [("2026-10", "Uno", "1", "2.0")]
    assert rows(mes="2026-11") == [("2026-11", "Dos", "31", "3.0")]
    assert rows(mes="2026-11", tipo="order") == [("2026-11", "Dos", "1", "4.0")]
    assert "No answer yet." in text(desk.get("/backoffice/encuestas", query_string={"mes": "2026-09"}))
    # filters that are not ones are ignored, never a 500
    assert desk.get("/backoffice/encuestas", query_string={"mes": "2026-13", "tipo": "x"}).status_code == 200

    comments = text(desk.get("/backoffice/encuestas", query_string={"mes": "2026-11", "tipo": "chat"}))
    assert comments.count("Comment ") == 25 and "Comment 29" in comments and 'rel="next"' in comments
    after = comments.split('rel="next"')[0].rsplit('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    second = text(desk.get(after))
    assert second.count("Comment ") == 5 and "Comment 0" in second and "Beta S.A." in second
    october_comments = text(desk.get("/backoffice/encuestas", query_string={"mes": "2026-10"}))
    assert "Fast" in october_comments and "Slow chat" in october_comments and "Acme S.L." in october_comments
    assert "Order 1" in october_comments and "Conversation 7" in october_comments
    order_only = text(desk.get("/backoffice/encuestas", query_string={"mes": "2026-10", "tipo": "order"}))
    assert "Fast" in order_only and "Slow chat" not in order_only
    # the chat desk's link lands on the chat's results
    moved = desk.get("/backoffice/chat/encuestas")
    assert moved.status_code == 302 and moved.headers["Location"].endswith("/backoffice/encuestas?tipo=chat")


def test_the_results_in_spanish(app, acme):
    desk = speak(advisor(app), "es")
    page = text(desk.get("/backoffice/encuestas"))
    assert "Resultados de las encuestas" in page and "Comentarios" in page


def test_two_answers_posted_at_once_make_one(live_app, live_server):
    """The unique key decides between two posts of the survey at the same moment: one answer, the other
    told it was already rated."""
    from tests.admin.test_concurrency import signed_in  # noqa: PLC0415
    from tests.orders.test_concurrency import in_company  # noqa: PLC0415

    company = create_company(live_app, "Acme S.L.", 1)
    add_member(live_app, company, "ana@acme.es", "admin")
    number = add_order(live_app, company, state="completed")
    tabs = [signed_in(live_app, live_server, "ana@acme.es") for _ in range(2)]
    page = f"/empresa/{company.ref}/pedidos/{number}"
    tokens = [tab.token(page) for tab in tabs]
    for _ in range(ROUNDS):
        in_company(live_app, company.id, delete(OrderSurvey))
        responses = in_parallel(
            2, lambda i: tabs[i].post(f"{page}/encuesta", {"score": str(i + 4)}, token=tokens[i])
        )
        assert sorted(r.status_code for r in responses) == [302, 409]
        assert "This order has already been rated" in next(r for r in responses if r.status_code == 409).text
        assert len(in_company(live_app, company.id, select(OrderSurvey.id))) == 1

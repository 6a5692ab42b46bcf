"""The consumption alerts an administrator manages: create, list, change, delete after a confirmation, each
audited; refusals that name their field; who may be notified (members limited to some lines only about
those lines); only administrators see the pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mgd.db import get_session, set_tenant
from mgd.identifiers import format_phone
from mgd.usage.alert_models import UsageAlert, UsageAlertRecipient
from tests.kit import audit, confirm, post, signed_in_client, speak, text, token


def base(company) -> str:
    return f"/empresa/{company.ref}/consumo/alertas"


def alert_form(company, **values) -> dict:
    form = {
        "scope": "company",
        "metric": "data_percent",
        "percent": "80",
        "amount": "",
        "line": "",
        "cost_centre": "",
        "recipients": [company.members["ana@acme.es"]],
        "by_email": "y",
    }
    return form | values


def stored_alerts(app, company) -> list[tuple]:
    with app.app_context():
        session = get_session()
        set_tenant(session, company.id)
        rows = session.scalars(select(UsageAlert).order_by(UsageAlert.id)).all()
        recipients = session.execute(select(UsageAlertRecipient.alert_id, UsageAlertRecipient.membership_id))
        chosen = {}
        for alert_id, membership_id in recipients:
            chosen.setdefault(alert_id, set()).add(membership_id)
        return [
            (a.id, a.scope, a.line_id, a.cost_centre, a.metric, a.percent, a.amount_cents, a.cap, a.by_email,
             a.by_sms, chosen.get(a.id, set()))
            for a in rows
        ]  # fmt: skip


def test_an_admin_creates_lists_changes_and_deletes_an_alert(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    assert "No alert has been set yet." in text(ana.get(base(acme)))
    carla = acme.members["carla@acme.es"]
    created = post(
        ana,
        f"{base(acme)}/nueva",
        alert_form(
            acme,
            scope="line",
            line=format_phone(acme.numbers[0]),
            metric="spend",
            amount="49,90",
            cap="y",
            by_sms="y",
            recipients=[acme.members["ana@acme.es"], carla],
        ),
    )
    assert created.status_code == 302 and created.headers["Location"] == base(acme)
    [(alert_id, *shape)] = stored_alerts(app, acme)
    assert shape == [
        "line",
        acme.lines[0],
        None,
        "spend",
        None,
        4990,
        True,
        True,
        True,
        {acme.members["ana@acme.es"], carla},
    ]
    event = audit(app, "usage_alert.created")[-1]
    assert event.tenant_id == acme.id
    assert event.detail | {"alert": alert_id} == {
        "alert": alert_id, "metric": "spend", "target": acme.numbers[0], "threshold": "49.90 €"
    }  # fmt: skip
    listed = text(ana.get(base(acme)))
    assert "€49.90" in listed and "spend cap" in listed and "Carla" in listed
    shown = text(ana.get(f"{base(acme)}/{alert_id}"))
    assert 'value="49,90"' in shown and f'value="{format_phone(acme.numbers[0])}"' in shown

    changed = post(
        ana,
        f"{base(acme)}/{alert_id}",
        alert_form(acme, scope="cost_centre", cost_centre="Ventas", percent="90"),
    )
    assert changed.status_code == 302
    [(_, *shape)] = stored_alerts(app, acme)
    assert shape == ["cost_centre", None, "Ventas", "data_percent", 90, None, False, True, False,
                     {acme.members["ana@acme.es"]}]  # fmt: skip
    assert audit(app, "usage_alert.changed")[-1].detail["target"] == "Ventas"

    asked = confirm(ana, f"{base(acme)}/{alert_id}/borrar")
    assert asked.status_code == 302 and stored_alerts(app, acme) == []
    assert audit(app, "usage_alert.deleted")[-1].detail["threshold"] == "90 %"


def test_delete_asks_first_and_changes_nothing_until_confirmed(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    post(ana, f"{base(acme)}/nueva", alert_form(acme))
    [(alert_id, *_)] = stored_alerts(app, acme)
    asked = ana.post(f"{base(acme)}/{alert_id}/borrar", data={"csrf_token": token(ana)})
    assert asked.status_code == 200 and "Delete the alert at 80" in text(asked)
    assert len(stored_alerts(app, acme)) == 1 and not audit(app, "usage_alert.deleted")


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"percent": "abc"}, "percent", "Give a whole percentage from 1 to 1000."),
        ({"percent": "0"}, "percent", "Give a whole percentage from 1 to 1000."),
        ({"percent": "1001"}, "percent", "Give a whole percentage from 1 to 1000."),
        ({"percent": "٨٠x"}, "percent", "Give a whole percentage from 1 to 1000."),
        ({"metric": "spend", "amount": "ñ5"}, "amount", "Give an amount in euros"),
        ({"metric": "spend", "amount": ""}, "amount", "Give an amount in euros"),
        ({"metric": "spend", "amount": "12,345"}, "amount", "Give an amount in euros"),
        ({"metric": "spend", "amount": "0"}, "amount", "Give an amount from 0,01"),
        ({"scope": "line", "line": ""}, "line", "Give the number of the line."),
        ({"scope": "line", "line": "12"}, "line", "This is not a Spanish fixed or mobile number."),
        ({"scope": "line", "line": "+34699999999"}, "line", "This number is not a line of the company."),
        ({"scope": "cost_centre", "cost_centre": " "}, "cost_centre", "Give the cost centre."),
        ({"metric": "spend", "amount": "50", "cap": "y"}, "cap", "A spend cap bars one line"),
        ({"by_email": ""}, "by_sms", "Choose email, SMS or both."),
        ({"recipients": []}, "recipients", "Choose at least one person to notify."),
        ({"recipients": ["x"]}, "recipients", ""),
        ({"scope": "everyone"}, "scope", ""),
        ({"metric": "minutes"}, "metric", ""),
    ],
)
def test_bad_input_is_refused_naming_the_field(app, acme, values, field, message):
    ana = signed_in_client(app, "ana@acme.es")
    refused = post(ana, f"{base(acme)}/nueva", alert_form(acme, **values))
    html = text(refused)
    assert refused.status_code == 422, html
    assert f'id="{field}-error"' in html and message in html
    assert stored_alerts(app, acme) == []


def test_a_member_limited_to_some_lines_is_notified_only_about_those(app, acme):
    ana = signed_in_client(app, "ana@acme.es")
    bob = acme.members["bob@acme.es"]
    confirm(
        ana,
        f"/empresa/{acme.ref}/usuarios/{bob}/limit",
        {"numbers": format_phone(acme.numbers[0]), "cost_centres": "Ventas"},
    )
    for values in (
        {"scope": "company"},
        {"scope": "line", "line": format_phone(acme.numbers[1])},
        {"scope": "cost_centre", "cost_centre": "Compras"},
    ):
        refused = post(ana, f"{base(acme)}/nueva", alert_form(acme, recipients=[bob], **values))
        assert refused.status_code == 422 and 'id="recipients-error"' in text(refused)
        assert "Bob Pérez may see only some lines" in text(refused)
    assert stored_alerts(app, acme) == []
    for values in (
        {"scope": "line", "line": format_phone(acme.numbers[0])},
        {"scope": "cost_centre", "cost_centre": "Ventas"},
    ):
        assert (
            post(ana, f"{base(acme)}/nueva", alert_form(acme, recipients=[bob], **values)).status_code == 302
        )
    assert [row[-1] for row in stored_alerts(app, acme)] == [{bob}, {bob}]


@pytest.mark.parametrize("email", ["bob@acme.es", "carla@acme.es"])
def test_only_administrators_manage_alerts(app, acme, email):
    ana = signed_in_client(app, "ana@acme.es")
    post(ana, f"{base(acme)}/nueva", alert_form(acme))
    [(alert_id, *_)] = stored_alerts(app, acme)
    other = signed_in_client(app, email)
    for method, url in (
        ("GET", base(acme)),
        ("GET", f"{base(acme)}/nueva"),
        ("POST", f"{base(acme)}/nueva"),
        ("GET", f"{base(acme)}/{alert_id}"),
        ("POST", f"{base(acme)}/{alert_id}"),
        ("POST", f"{base(acme)}/{alert_id}/borrar"),
    ):
        data = alert_form(acme) | {"csrf_token": token(other), "confirmed": "yes"}
        answer = other.open(url, method=method, data=data if method == "POST" else None)
        assert answer.status_code == 403, (method, url)
    assert len(stored_alerts(app, acme)) == 1
    assert "Consumption alerts" not in text(other.get(f"/empresa/{acme.ref}"))
    assert "Manage the consumption alerts" in text(ana.get(f"/empresa/{acme.ref}"))


def test_the_pages_speak_spanish(app, acme):
    ana = speak(signed_in_client(app, "ana@acme.es"), "es")
    assert "Alertas de consumo" in text(ana.get(base(acme)))
    refused = post(ana, f"{base(acme)}/nueva", alert_form(acme, percent="x"))
    assert "Indica un porcentaje entero de 1 a 1000." in text(refused)

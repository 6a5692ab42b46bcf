"""Operations endpoints: liveness, readiness naming what fails, and Prometheus metrics behind a setting."""

from __future__ import annotations

from mgd.db import get_session
from mgd.notify.services import queue_sms
from tests.test_web import unreachable


def test_healthz_and_readyz_answer_when_all_is_well(client):
    assert client.get("/healthz").json == {"status": "ok"}
    response = client.get("/readyz")
    assert (response.status_code, response.json) == (200, {"status": "ready"})


def test_with_the_database_down_the_process_is_alive_but_not_ready(make_app, app_database_url, tmp_path):
    down = make_app(DATABASE_URL=unreachable(app_database_url, tmp_path)).test_client()
    assert down.get("/healthz").status_code == 200
    response = down.get("/readyz")
    assert (response.status_code, response.json) == (503, {"status": "unavailable", "failing": ["database"]})


def test_an_unreachable_broker_is_named_and_its_address_is_not(make_app):
    client = make_app(BROKER_URL="redis://:hunter2@127.0.0.1:1/0").test_client()
    response = client.get("/readyz")
    assert (response.status_code, response.json["failing"]) == (503, ["broker"])
    assert "hunter2" not in response.get_data(as_text=True) and "127.0.0.1" not in response.get_data(
        as_text=True
    )


def test_metrics_are_off_by_default(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_count_requests_latency_and_the_outbox(app, client, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_ENABLED", True)
    queue_sms(get_session(), "+34612345678", "hola")
    get_session().commit()  # only a savepoint: the outbox row is visible to the connection of the test
    client.get("/")
    client.get("/no-such-page")
    response = client.get("/metrics")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    assert 'mgd_http_requests_total{endpoint="portal.home",method="GET",status="200"}' in body
    assert 'mgd_http_requests_total{endpoint="unmatched",method="GET",status="404"}' in body
    assert 'mgd_http_request_duration_seconds_bucket{endpoint="portal.home",le="0.5"}' in body
    assert "mgd_outbox_failed " in body and "mgd_outbox_oldest_pending_age_seconds " in body
    assert "mgd_outbox_pending 0.0" not in body

"""/metrics, JSON logs with request ids and no secrets, liveness and readiness."""

from __future__ import annotations

import json
import logging

import pytest

from shop import create_app
from shop.observability.logs import JsonFormatter
from tests.conftest import TEST_CONFIG


def test_metrics_answer_only_to_allowed_networks_or_the_token(engine, session):
    app = create_app({**TEST_CONFIG, "ENGINE": engine, "METRICS_TOKEN": "scrape-token-1"})
    app.extensions["shop"]["sessionmaker"] = lambda: session  # read the test's rows
    client = app.test_client()
    outsider = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=outsider).status_code == 403
    wrong = client.get("/metrics", environ_base=outsider, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403 and wrong.json["error"]["code"] == "forbidden"
    assert (
        client.get("/metrics", environ_base=outsider, headers={"Authorization": "Bearer scrape-token-1"}).status_code
        == 200
    )
    assert client.get("/metrics").status_code == 200  # 127.0.0.1


def test_metrics_count_requests_by_route_template_and_status(client, make):
    product = make.sku().product
    client.get(f"/api/v1/products/{product.id}")
    client.get("/api/v1/products/999999")
    text = client.get("/metrics").get_data(as_text=True)
    route = 'route="/api/v1/products/<int:product_id>"'
    assert f'shop_http_request_duration_seconds_count{{method="GET",{route},status="200"}}' in text
    assert f'shop_http_request_duration_seconds_count{{method="GET",{route},status="404"}}' in text
    for name in (
        "shop_search_outbox_lag_seconds",
        "shop_search_degraded 0.0",
        "shop_job_dead_letters",
        "shop_database_up 1.0",
    ):
        assert name in text


def test_webhook_events_are_counted_by_outcome(client):
    client.post("/api/v1/payments/stripe/webhook", data=b"{}", headers={"Stripe-Signature": "t=1,v1=bad"})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'shop_webhook_events_total{gateway="stripe",outcome="' in text


def test_job_runs_and_ledger_checks_are_counted(app, client, session):
    from shop.jobs import runner

    runner.run(app, "checks.ledgers")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'shop_job_runs_total{job="checks.ledgers",outcome="ok"}' in text
    assert 'shop_ledger_checks_total{ledger="stock",result="ok"}' in text
    assert 'shop_ledger_checks_total{ledger="points",result="ok"}' in text
    assert 'shop_ledger_checks_total{ledger="budgets",result="ok"}' in text


def formatted(caplog) -> list[dict]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records]


def test_each_request_logs_one_json_line_with_its_request_id(client, make, caplog):
    user = make.user()
    caplog.set_level(logging.INFO)
    given = client.get("/api/v1/auth/me", headers={**make.headers(user), "X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    created = client.get("/api/v1/health", headers={"X-Request-ID": "bad id with spaces"})
    assert created.headers["X-Request-ID"] != "bad id with spaces" and len(created.headers["X-Request-ID"]) == 32
    lines = [line for line in formatted(caplog) if line["message"] == "request"]
    me = next(line for line in lines if line["request_id"] == "abc-123")
    assert me["route"] == "/api/v1/auth/me" and me["status"] == 200 and me["user_id"] == user.id
    assert me["level"] == "info" and "timestamp" in me and me["duration_ms"] >= 0
    assert any(line["request_id"] == created.headers["X-Request-ID"] for line in lines)


def test_no_password_token_or_full_phone_number_reaches_the_logs(client, make, caplog):
    caplog.set_level(logging.DEBUG)
    password = "Very-Secret-Passw0rd"
    phone = "13912345678"
    client.post("/api/v1/auth/register", json={"login": "logs@test.cq", "password": password, "display_name": "Logs"})
    client.post("/api/v1/auth/register", json={"login": phone, "password": password, "display_name": "Phone"})
    token = client.post("/api/v1/auth/token", json={"login": "logs@test.cq", "password": password}).json
    client.post("/api/v1/auth/token", json={"login": "logs@test.cq", "password": "wrong-" + password})
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    client.get("/api/v1/auth/me", headers=headers)
    client.post("/api/v1/auth/logout", headers=headers, json={"refresh_token": token["refresh_token"]})
    client.get("/api/v1/auth/me?access_token=" + token["access_token"])
    logging.getLogger("shop.test").warning(
        "contact %s with password=%s and %s", phone, password, headers["Authorization"]
    )  # whatever a careless line says
    text = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert text  # something was logged
    for secret in (password, phone, token["access_token"], token["refresh_token"]):
        assert secret not in text
    assert "139****5678" in text


def test_liveness_touches_nothing(engine):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert app.test_client().get("/api/v1/health").status_code == 200


def test_ready_when_database_migrations_and_broker_are_fine(client):
    response = client.get("/api/v1/ready")
    assert response.status_code == 200
    assert response.json == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "broker": "ok", "search": "embedded"},
    }


def test_not_ready_names_the_failing_part(engine, scratch_database_url):
    down = create_app({**TEST_CONFIG, "ENGINE": engine, "JOBS_BROKER_URL": "redis://127.0.0.1:1/0"})
    response = down.test_client().get("/api/v1/ready")
    assert response.status_code == 503 and response.json["error"]["code"] == "not_ready"
    assert response.json["error"]["details"]["failing"] == ["broker"]
    empty = create_app({**TEST_CONFIG, "DATABASE_URL": scratch_database_url})
    response = empty.test_client().get("/api/v1/ready")
    assert response.status_code == 503
    assert response.json["error"]["details"]["failing"] == ["migrations"]
    empty.extensions["shop"]["engine"].dispose()


@pytest.mark.parametrize("degraded", [True])
def test_a_failing_search_engine_degrades_readiness_without_failing_it(client, app, degraded):
    import search

    class Down:
        def indices_behind_alias(self):
            from search.backend import EngineUnavailable

            raise EngineUnavailable("down")

    ext = search.extension(app)
    ext.engine, saved = Down(), ext.engine
    try:
        response = client.get("/api/v1/ready")
    finally:
        ext.engine = saved
    assert response.status_code == 200 and response.json["checks"]["search"] == "degraded"

from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop import clock
from shop.auth.models import Role
from shop.inventory.models import CounterDevice

KEY = "X-Counter-Key"


@pytest.fixture
def counter(make):
    return make.counter()


@pytest.fixture
def key(make, counter):
    return make.counter_key(counter)


def _sale(event_id, sku_id, quantity=1, **extra):
    return {
        "event_id": event_id,
        "occurred_at": clock.now().isoformat(),
        "items": [{"sku_id": sku_id, "quantity": quantity}],
        **extra,
    }


def _on_hand(client, make, counter, sku):
    admin = make.headers(make.user(Role.ADMIN))
    rows = client.get(f"/api/v1/locations/{counter.id}/stock?sku_id={sku.id}", headers=admin).json["items"]
    return rows[0]["on_hand"] if rows else 0


def test_admin_issues_and_rotates_keys_stored_hashed(client, make, session, counter):
    admin = make.headers(make.user(Role.ADMIN))
    url = f"/api/v1/locations/{counter.id}/counter-key"
    first = client.post(url, headers=admin)
    assert first.status_code == 201
    key = first.json["api_key"]
    assert key.startswith("cnt_") and len(key) > 40 and first.json["key_prefix"] == key[:12]
    stored = session.scalars(sa.select(CounterDevice.key_sha256)).all()
    assert key not in stored and all(len(h) == 64 for h in stored)
    assert client.get(f"/api/v1/locations/{counter.id}", headers=admin).json["has_counter_key"] is True

    beat = f"/api/v1/counters/{counter.id}/heartbeats"
    assert client.post(beat, json={}, headers={KEY: key}).status_code == 200
    rotated = client.post(url, headers=admin).json["api_key"]
    assert rotated != key
    old = client.post(beat, json={}, headers={KEY: key})
    assert old.status_code == 401 and old.json["error"]["code"] == "invalid_counter_key"
    assert client.post(beat, json={}, headers={KEY: rotated}).status_code == 200

    assert client.delete(url, headers=admin).status_code == 204
    assert client.post(beat, json={}, headers={KEY: rotated}).status_code == 401
    assert client.delete(url, headers=admin).status_code == 404
    # only counters have keys, only admins issue them
    assert client.post(f"/api/v1/locations/{make.hall().id}/counter-key", headers=admin).status_code == 409
    assert client.post("/api/v1/locations/999999/counter-key", headers=admin).status_code == 404
    operator = make.headers(make.operator(counter))
    assert client.post(url, headers=operator).status_code == 403


def test_requests_without_a_valid_key_are_401(client, counter, key):
    url = f"/api/v1/counters/{counter.id}/heartbeats"
    missing = client.post(url, json={})
    assert missing.status_code == 401 and missing.json["error"]["code"] == "counter_key_required"
    assert "X-Counter-Key" in missing.headers["WWW-Authenticate"]
    assert client.post(url, json={}, headers={KEY: "cnt_" + "x" * 43}).status_code == 401
    assert client.post(url, json={}, headers={KEY: "Bearer nonsense"}).status_code == 401


def test_counter_x_cannot_report_for_counter_y(client, make, counter, key):
    other = make.counter()
    make.counter_key(other)
    sku = make.sku()
    make.stock(other, sku, 5)
    for path, body in (
        ("sales", _sale("e-1", sku.id)),
        ("restocks", {"event_id": "e-2", "occurred_at": clock.now().isoformat(), "transfer_id": 1, "items": []}),
        ("heartbeats", {}),
    ):
        response = client.post(f"/api/v1/counters/{other.id}/{path}", json=body, headers={KEY: key})
        assert response.status_code == 404, path
    assert _on_hand(client, make, other, sku) == 5


def test_a_sales_session_is_applied_once_however_often_it_is_sent(client, make, counter, key, session):
    sku, second = make.sku(), make.sku()
    make.stock(counter, sku, 5, trace_code="CAB-0001")
    make.stock(counter, second, 5)
    url = f"/api/v1/counters/{counter.id}/sales"
    body = {
        "event_id": "cab-20261128-0001",
        "occurred_at": (clock.now() - timedelta(minutes=3)).isoformat(),
        "items": [{"sku_id": sku.id, "quantity": 2}, {"sku_id": second.id, "quantity": 1}],
    }
    first = client.post(url, json=body, headers={KEY: key})
    assert first.status_code == 201, first.json
    assert first.json["kind"] == "sale" and first.json["event_id"] == "cab-20261128-0001"
    assert {(line["trace_code"], line["quantity"]) for line in first.json["lines"] if line["sku_id"] == sku.id} == {
        ("CAB-0001", 2)
    }
    replay = client.post(url, json=body, headers={KEY: key})
    assert replay.status_code == 200 and replay.json == first.json
    assert _on_hand(client, make, counter, sku) == 3 and _on_hand(client, make, counter, second) == 4

    reused = client.post(url, json={**body, "items": [{"sku_id": sku.id, "quantity": 1}]}, headers={KEY: key})
    assert reused.status_code == 409 and reused.json["error"]["code"] == "event_id_reused"
    sales = client.get(
        f"/api/v1/locations/{counter.id}/movements?kind=sale", headers=make.headers(make.user(Role.ADMIN))
    ).json
    assert sales["total"] == 2 and all(m["counter_event_id"] for m in sales["items"])


def test_a_sale_the_books_cannot_cover_is_refused_and_may_be_sent_again(client, make, counter, key):
    sku = make.sku()
    make.stock(counter, sku, 1)
    url = f"/api/v1/counters/{counter.id}/sales"
    body = _sale("late-restock-1", sku.id, quantity=3)
    refused = client.post(url, json=body, headers={KEY: key})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "out_of_stock"
    make.stock(counter, sku, 5)
    applied = client.post(url, json=body, headers={KEY: key})
    assert applied.status_code == 201
    assert _on_hand(client, make, counter, sku) == 3


def test_cabinet_sales_are_recorded_even_if_the_certification_lapsed(client, make, counter, key):
    sku = make.sku(certified=False)
    make.stock(counter, sku, 2)
    response = client.post(f"/api/v1/counters/{counter.id}/sales", json=_sale("lapsed-1", sku.id), headers={KEY: key})
    assert response.status_code == 201


def test_restock_confirmation_receives_the_transfer_with_shortfall(client, make, session, key, counter):
    hall = session.get(type(counter), counter.parent_id)
    operator = make.headers(make.operator(hall))
    sku, other = make.sku(), make.sku()
    make.stock(hall, sku, 10)
    make.stock(hall, other, 10)
    transfer = client.post(
        "/api/v1/transfers",
        json={
            "from_location_id": hall.id,
            "to_location_id": counter.id,
            "lines": [{"sku_id": sku.id, "quantity": 6}, {"sku_id": other.id, "quantity": 2}],
        },
        headers=operator,
    ).json
    url = f"/api/v1/counters/{counter.id}/restocks"
    body = {
        "event_id": "restock-1",
        "occurred_at": clock.now().isoformat(),
        "transfer_id": transfer["id"],
        "items": [{"sku_id": sku.id, "quantity": 5}],
    }
    bad = client.post(
        url, json={**body, "event_id": "restock-0", "items": [{"sku_id": sku.id, "quantity": 7}]}, headers={KEY: key}
    )
    assert bad.status_code == 422
    confirmed = client.post(url, json=body, headers={KEY: key})
    assert confirmed.status_code == 201, confirmed.json
    lines = {line["sku_id"]: line for line in confirmed.json["lines"]}
    assert (lines[sku.id]["quantity_received"], lines[sku.id]["shortfall"]) == (5, 1)
    assert (lines[other.id]["quantity_received"], lines[other.id]["shortfall"]) == (0, 2)
    assert client.post(url, json=body, headers={KEY: key}).json == confirmed.json
    assert _on_hand(client, make, counter, sku) == 5
    shown = client.get(f"/api/v1/transfers/{transfer['id']}", headers=operator).json
    assert shown["status"] == "received" and shown["received_by_counter_event_id"]
    second = client.post(url, json={**body, "event_id": "restock-2"}, headers={KEY: key})
    assert second.status_code == 409 and second.json["error"]["code"] == "illegal_transition"
    # a transfer to another location is not this counter's to confirm
    elsewhere = client.post(
        "/api/v1/transfers",
        json={
            "from_location_id": hall.id,
            "to_location_id": make.counter(hall).id,
            "lines": [{"sku_id": sku.id, "quantity": 1}],
        },
        headers=operator,
    ).json
    response = client.post(
        url, json={**body, "event_id": "restock-3", "transfer_id": elsewhere["id"]}, headers={KEY: key}
    )
    assert response.status_code == 404


def test_heartbeats_and_stale_counters_within_scope(client, make, counter, key, session):
    hall = session.get(type(counter), counter.parent_id)
    silent = make.counter(hall)
    make.counter_key(silent)
    make.counter(hall)  # no key: not a smart cabinet, never stale
    elsewhere = make.counter()
    make.counter_key(elsewhere)
    operator = make.headers(make.operator(hall))
    beat = client.post(
        f"/api/v1/counters/{counter.id}/heartbeats",
        json={"sent_at": clock.now().isoformat(), "temperature_c": 4.5, "door_open": False, "firmware": "2.1.0"},
        headers={KEY: key},
    )
    assert beat.status_code == 200 and beat.json["next_within_seconds"] == 600
    stale = client.get("/api/v1/inventory/stale-counters", headers=operator).json
    assert [(s["location"]["id"], s["silent_seconds"]) for s in stale["items"]] == [(silent.id, None)]
    with clock.frozen_at(clock.now() + timedelta(minutes=11)):
        stale = client.get("/api/v1/inventory/stale-counters", headers=operator).json["items"]
        assert [s["location"]["id"] for s in stale] == [silent.id, counter.id]
        assert stale[1]["silent_seconds"] >= 660 and stale[1]["last_heartbeat"]["temperature_c"] == 4.5
    bad = client.post(f"/api/v1/counters/{counter.id}/heartbeats", json={"temperature_c": 500}, headers={KEY: key})
    assert bad.status_code == 422


def test_an_inactive_counter_may_not_report(client, make, counter, key, session):
    counter.is_active = False
    session.flush()
    response = client.post(f"/api/v1/counters/{counter.id}/heartbeats", json={}, headers={KEY: key})
    assert response.status_code == 409 and response.json["error"]["code"] == "location_inactive"


def test_counter_reports_are_validated(client, make, counter, key):
    sku = make.sku()
    url = f"/api/v1/counters/{counter.id}/sales"
    for body in (
        {"event_id": "x", "items": [{"sku_id": sku.id, "quantity": 1}]},
        _sale("has spaces", sku.id),
        _sale("ok-1", sku.id, quantity=0),
        {**_sale("ok-2", sku.id), "occurred_at": "2026-11-28T10:00:00"},
        {**_sale("ok-3", sku.id), "items": []},
        _sale("ok-4", 999999),
    ):
        response = client.post(url, json=body, headers={KEY: key})
        assert response.status_code == 422, (body, response.json)


def test_a_cabinet_sale_is_thirteen_statements_at_most(client, app, make, counter, key, count_queries, monkeypatch):
    # the search drain after the commit runs off the request in production (a thread, a worker)
    monkeypatch.setitem(app.config, "SEARCH_DRAIN_AFTER_COMMIT", "off")
    sku = make.sku()
    make.stock(counter, sku, 50)
    url, body = f"/api/v1/counters/{counter.id}/sales", _sale("q-1", sku.id)
    with count_queries() as first:
        assert client.post(url, json=body, headers={KEY: key}).status_code == 201
    with count_queries() as replay:
        assert client.post(url, json=body, headers={KEY: key}).status_code == 200
    # key, event check, event insert, lock, FEFO read, batch and level updates, ledger insert, trace codes,
    # stored result, the search outbox row of the product, the sales fact (one INSERT … SELECT) (SQLite takes
    # its write lock with one more statement)
    assert first.count <= 13, first.statements
    assert replay.count <= 2, replay.statements

from dataclasses import dataclass
from datetime import timedelta

import pytest

from shop import clock
from shop.auth.models import Role
from shop.inventory import reservations
from shop.inventory.errors import InsufficientStock, ReservedBatchQuarantined
from shop.inventory.models import china_today
from shop.jobs import runner
from tests.factories import stamp
from tests.monitoring.conftest import M

MINUTES = 30  # COLD_CHAIN_EXCURSION_MINUTES's default


@dataclass
class Cabinet:
    hall: object
    counter: object
    key: str
    chilled: object  # a SKU kept at 0 to 4 °C, 10 units at the counter in two batches
    ambient: object  # a SKU with no storage class, 10 units
    codes: list
    hall_operator: dict
    supplier_member: dict


@pytest.fixture
def cabinet(client, make, session):
    hall = make.hall()
    counter = make.counter(hall)
    chilled, ambient = make.sku(price_fen=1500), make.sku(price_fen=800)
    today = china_today(clock.now())
    codes = [
        make.stock(counter, chilled, 4, best_before=today + timedelta(days=5)),
        make.stock(counter, chilled, 6, best_before=today + timedelta(days=9)),
    ]
    make.stock(counter, ambient, 10)
    member = make.headers(make.user((Role.SUPPLIER_MEMBER, chilled.product.supplier_id)))
    stored = client.put(f"{M}/skus/{chilled.id}/storage", headers=member, json={"storage_class": "chilled"})
    assert stored.status_code == 200 and stored.json["max_celsius"] == 4.0, stored.json
    return Cabinet(
        hall, counter, make.counter_key(counter), chilled, ambient, codes, make.headers(make.operator(hall)), member
    )


def _heartbeat(client, cabinet, celsius, at):
    with clock.frozen_at(at):
        response = client.post(
            f"/api/v1/counters/{cabinet.counter.id}/heartbeats",
            headers={"X-Counter-Key": cabinet.key},
            json={"temperature_c": celsius},
        )
    assert response.status_code == 200, response.json
    return response


def _sale(client, cabinet, sku, quantity, event_id):
    return client.post(
        f"/api/v1/counters/{cabinet.counter.id}/sales",
        headers={"X-Counter-Key": cabinet.key},
        json={
            "event_id": event_id,
            "occurred_at": stamp(clock.now()),
            "items": [{"sku_id": sku.id, "quantity": quantity}],
        },
    )


def _incidents(client, headers):
    response = client.get(f"{M}/cold-chain/incidents", headers=headers)
    assert response.status_code == 200, response.json
    return response.json["items"]


def test_a_short_excursion_raises_nothing(client, cabinet):
    now = clock.now()
    _heartbeat(client, cabinet, 9.5, now - timedelta(minutes=MINUTES - 1))
    _heartbeat(client, cabinet, 3.0, now)  # back in range: the excursion ends
    _heartbeat(client, cabinet, 9.5, now + timedelta(minutes=5))  # a new one starts
    assert _incidents(client, cabinet.hall_operator) == []
    assert _sale(client, cabinet, cabinet.chilled, 1, "s-1").status_code == 201


def test_out_of_range_too_long_quarantines_the_counters_chilled_batches(client, make, session, cabinet):
    now = clock.now()
    _heartbeat(client, cabinet, 9.5, now - timedelta(minutes=MINUTES + 5))
    _heartbeat(client, cabinet, 8.0, now)
    (incident,) = _incidents(client, cabinet.hall_operator)
    assert (incident["celsius"], incident["status"]) == (8.0, "open")
    assert sorted(q["units"] for q in incident["quarantines"]) == [4, 6]
    # unsellable: a smart counter's session, a checkout's reservation, the availability list
    refused = _sale(client, cabinet, cabinet.chilled, 1, "s-2")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "out_of_stock"
    assert _sale(client, cabinet, cabinet.ambient, 1, "s-3").status_code == 201
    with pytest.raises(InsufficientStock):
        reservations.reserve_stock(
            session,
            location_id=cabinet.counter.id,
            reference="order:quarantine-test",
            lines=[{"sku_id": cabinet.chilled.id, "quantity": 1}],
            now=clock.now(),
        )
    availability = client.get(f"/api/v1/products/{cabinet.chilled.product_id}/availability").json
    assert cabinet.counter.id not in [item["location"]["id"] for item in availability["items"]]
    # the operators of the counter and of the hall above see it; another hall's do not
    assert len(_incidents(client, make.headers(make.operator(cabinet.counter)))) == 1
    other = make.headers(make.operator(make.hall()))
    assert _incidents(client, other) == []
    assert client.get(f"{M}/cold-chain/incidents/{incident['id']}", headers=other).status_code == 404
    # inspected: one batch released, the other written off with its value
    first, second = sorted(incident["quarantines"], key=lambda q: q["units"])
    done = f"{M}/cold-chain/quarantines"
    assert client.post(f"{done}/{first['id']}/release", headers=other, json={"note": "ok"}).status_code == 404
    released = client.post(f"{done}/{first['id']}/release", headers=cabinet.hall_operator, json={"note": "2.8 °C"})
    assert released.status_code == 200 and released.json["status"] == "released"
    again = client.post(f"{done}/{first['id']}/write-off", headers=cabinet.hall_operator, json={"note": "late"})
    assert again.status_code == 409
    assert _sale(client, cabinet, cabinet.chilled, 4, "s-4").status_code == 201  # the released batch sells
    written = client.post(f"{done}/{second['id']}/write-off", headers=cabinet.hall_operator, json={"note": "warm"})
    assert (written.json["written_off_units"], written.json["written_off_fen"]) == (6, 9000)
    resolved = client.get(f"{M}/cold-chain/incidents/{incident['id']}", headers=cabinet.hall_operator).json
    assert resolved["status"] == "resolved"
    assert _sale(client, cabinet, cabinet.chilled, 1, "s-5").status_code == 409  # nothing left
    today = china_today(clock.now()).isoformat()
    report = client.get(
        f"{M}/reports/cold-chain", headers=cabinet.hall_operator, query_string={"date_from": today, "date_to": today}
    ).json["items"]
    assert [
        (r["units_quarantined"], r["units_released"], r["units_written_off"], r["written_off_fen"]) for r in report
    ] == [(10, 4, 6, 9000)]
    xlsx = client.get(
        f"{M}/reports/cold-chain/export",
        headers=make.headers(make.user(Role.COORDINATOR)),
        query_string={"date_from": today, "date_to": today, "format": "xlsx"},
    )
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_a_reserved_unit_of_a_quarantined_batch_is_not_handed_over(client, session, cabinet):
    reservations.reserve_stock(
        session,
        location_id=cabinet.counter.id,
        reference="order:reserved-before",
        lines=[{"sku_id": cabinet.chilled.id, "quantity": 2}],
        now=clock.now(),
    )
    now = clock.now()
    _heartbeat(client, cabinet, -5.0, now - timedelta(minutes=MINUTES))
    _heartbeat(client, cabinet, -5.0, now)
    with pytest.raises(ReservedBatchQuarantined):
        reservations.commit_reservation(session, reference="order:reserved-before", now=clock.now())


def test_the_worker_opens_the_incident_when_heartbeats_stop_out_of_range(app, client, cabinet):
    _heartbeat(client, cabinet, 12.0, clock.now() - timedelta(minutes=MINUTES + 10))
    assert _incidents(client, cabinet.hall_operator) == []
    runner.run(app, "monitoring.cold_chain")
    assert len(_incidents(client, cabinet.hall_operator)) == 1
    runner.run(app, "monitoring.cold_chain")  # once
    assert len(_incidents(client, cabinet.hall_operator)) == 1


def test_storage_classes(client, make, cabinet):
    frozen = client.put(
        f"{M}/skus/{cabinet.ambient.id}/storage", headers=cabinet.supplier_member, json={"storage_class": "frozen"}
    )
    assert frozen.status_code == 403  # another supplier's SKU
    assert client.get(f"{M}/skus/{cabinet.ambient.id}/storage").json["storage_class"] == "ambient"
    upside_down = client.put(
        f"{M}/skus/{cabinet.chilled.id}/storage",
        headers=cabinet.supplier_member,
        json={"storage_class": "chilled", "min_celsius": 5, "max_celsius": 1},
    )
    assert upside_down.status_code == 422
    custom = client.put(
        f"{M}/skus/{cabinet.chilled.id}/storage",
        headers=cabinet.supplier_member,
        json={"storage_class": "chilled", "min_celsius": -1.5, "max_celsius": 6},
    ).json
    assert (custom["min_celsius"], custom["max_celsius"]) == (-1.5, 6.0)


def test_a_cold_chain_incident_alerts_the_counters_operators_once(client, make, cabinet):
    def alerts(headers):
        items = client.get("/api/v1/notifications", headers=headers).json["items"]
        return [i for i in items if i["kind"] == "cold_chain_alert"]

    other_hall_operator = make.headers(make.operator(make.hall()))
    now = clock.now()
    _heartbeat(client, cabinet, 9.5, now - timedelta(minutes=MINUTES + 5))
    _heartbeat(client, cabinet, 8.0, now)
    _heartbeat(client, cabinet, 8.5, now + timedelta(minutes=1))  # the same incident goes on
    (alert,) = alerts(cabinet.hall_operator)
    assert (alert["data"]["location_id"], alert["data"]["batches"]) == (cabinet.counter.id, 2)
    assert alerts(other_hall_operator) == []

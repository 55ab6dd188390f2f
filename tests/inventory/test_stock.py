from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop import clock
from shop.auth.models import Role
from shop.inventory.models import china_today


@pytest.fixture
def hall(make):
    return make.hall()


@pytest.fixture
def operator(make, hall):
    return make.headers(make.operator(hall))


def _today():
    return china_today(clock.now())


def _receipt(sku_id, code, quantity, best_before_days=30, produced_days_ago=2):
    return {
        "sku_id": sku_id,
        "trace_code": code,
        "produced_on": (_today() - timedelta(days=produced_days_ago)).isoformat(),
        "best_before": (_today() + timedelta(days=best_before_days)).isoformat(),
        "quantity": quantity,
    }


def _stock(client, headers, location_id, sku_id):
    items = client.get(f"/api/v1/locations/{location_id}/stock?sku_id={sku_id}", headers=headers).json["items"]
    return items[0] if items else None


def test_receive_batches_and_list_stock(client, make, hall, operator):
    sku = make.sku()
    body = {"reference": "DN-001", "lines": [_receipt(sku.id, "FJ-A-0001", 10), _receipt(sku.id, "FJ-A-0002", 5, 60)]}
    received = client.post(f"/api/v1/locations/{hall.id}/receipts", json=body, headers=operator)
    assert received.status_code == 201, received.json
    result = received.json
    assert [(line["kind"], line["trace_code"], line["on_hand_delta"]) for line in result["lines"]] == [
        ("receive", "FJ-A-0001", 10),
        ("receive", "FJ-A-0002", 5),
    ]
    row = result["stock"][0]
    assert (row["on_hand"], row["reserved"], row["available"], row["sellable"], row["expired"]) == (15, 0, 15, 15, 0)
    assert row["sku"]["code"] == sku.code

    # the same batch delivered again adds up; the same code with other dates is refused
    again = client.post(
        f"/api/v1/locations/{hall.id}/receipts", json={"lines": [_receipt(sku.id, "FJ-A-0001", 2)]}, headers=operator
    )
    assert again.status_code == 201
    assert _stock(client, operator, hall.id, sku.id)["on_hand"] == 17
    other_dates = client.post(
        f"/api/v1/locations/{hall.id}/receipts",
        json={"lines": [_receipt(sku.id, "FJ-A-0001", 2, best_before_days=90)]},
        headers=operator,
    )
    assert other_dates.status_code == 409 and other_dates.json["error"]["code"] == "trace_code_mismatch"

    batches = client.get(f"/api/v1/locations/{hall.id}/batches", headers=operator).json["items"]
    assert [(b["trace_code"], b["on_hand"]) for b in batches] == [("FJ-A-0001", 12), ("FJ-A-0002", 5)]
    history = client.get(f"/api/v1/locations/{hall.id}/movements", headers=operator).json
    assert history["total"] == 3
    assert history["items"][0]["trace_code"] == "FJ-A-0001" and history["items"][-1]["reference"] == "DN-001"


def test_receipts_are_validated(client, make, hall, operator):
    sku = make.sku()
    url = f"/api/v1/locations/{hall.id}/receipts"
    cases = [
        {"lines": []},
        {"lines": [_receipt(sku.id, "FJ1", 5)]},  # trace code too short
        {"lines": [{**_receipt(sku.id, "FJ-0001", 5), "quantity": 0}]},
        {"lines": [{**_receipt(sku.id, "FJ-0001", 5), "quantity": "5"}]},
        {"lines": [_receipt(sku.id, "FJ-0001", 5, best_before_days=-1)]},  # expired already
        {"lines": [_receipt(sku.id, "FJ-0001", 5, produced_days_ago=-1)]},  # harvested tomorrow
        {"lines": [_receipt(999999, "FJ-0001", 5)]},
        {"lines": [{**_receipt(sku.id, "FJ-0001", 5), "best_before": "not a date"}]},
    ]
    for body in cases:
        response = client.post(url, json=body, headers=operator)
        assert response.status_code == 422, (body, response.json)
        assert set(response.json["error"]) == {"code", "message", "details"}
    service_sku = make.product(make.supplier(district_id=500156), kind="service").skus[0]
    response = client.post(url, json={"lines": [_receipt(service_sku.id, "WL-0001", 1)]}, headers=operator)
    assert response.status_code == 422


def test_sales_take_earliest_best_before_first_and_never_expired(client, make, hall, operator):
    sku = make.sku()
    make.stock(hall, sku, 3, best_before=_today() + timedelta(days=5), trace_code="LATE-0001")
    make.stock(hall, sku, 2, best_before=_today() + timedelta(days=2), trace_code="SOON-0001")
    make.stock(hall, sku, 4, best_before=_today() + timedelta(days=20), trace_code="LAST-0001")
    url = f"/api/v1/locations/{hall.id}/sales"
    sold = client.post(url, json={"lines": [{"sku_id": sku.id, "quantity": 4}]}, headers=operator)
    assert sold.status_code == 201, sold.json
    assert [(line["trace_code"], line["on_hand_delta"]) for line in sold.json["lines"]] == [
        ("SOON-0001", -2),
        ("LATE-0001", -2),
    ]
    # three days on, LATE still good (best-before day 5), SOON would be gone anyway
    with clock.frozen_at(clock.now() + timedelta(days=6)):
        # LATE-0001 expired now: one unit left in it, not sellable
        row = _stock(client, operator, hall.id, sku.id)
        assert (row["on_hand"], row["sellable"], row["expired"]) == (5, 4, 1)
        too_many = client.post(url, json={"lines": [{"sku_id": sku.id, "quantity": 5}]}, headers=operator)
        assert too_many.status_code == 409
        error = too_many.json["error"]
        assert error["code"] == "out_of_stock" and error["details"]["available"] == 4
        expired = client.get(f"/api/v1/locations/{hall.id}/batches?expired=true", headers=operator).json["items"]
        assert [(b["trace_code"], b["on_hand"], b["expired"]) for b in expired] == [("LATE-0001", 1, True)]
        written = client.post(
            f"/api/v1/locations/{hall.id}/write-offs",
            json={"reason": "过期 expired", "lines": [{"trace_code": "LATE-0001", "quantity": 1}]},
            headers=operator,
        )
        assert written.status_code == 201
        assert written.json["stock"][0]["expired"] == 0
        last = client.post(url, json={"lines": [{"sku_id": sku.id, "quantity": 4}]}, headers=operator)
        assert [line["trace_code"] for line in last.json["lines"]] == ["LAST-0001"]
        assert last.json["stock"][0]["on_hand"] == 0


def test_a_product_not_in_force_is_not_sold_over_the_counter(client, make, hall, operator):
    sku = make.sku(certified=False)
    make.stock(hall, sku, 5)
    response = client.post(
        f"/api/v1/locations/{hall.id}/sales", json={"lines": [{"sku_id": sku.id, "quantity": 1}]}, headers=operator
    )
    assert response.status_code == 409 and response.json["error"]["code"] == "not_certified"
    assert _stock(client, operator, hall.id, sku.id)["on_hand"] == 5


def test_an_inactive_location_neither_receives_nor_sells(client, make, hall, operator, session):
    sku = make.sku()
    make.stock(hall, sku, 5)
    hall.is_active = False
    session.flush()
    sale = client.post(
        f"/api/v1/locations/{hall.id}/sales", json={"lines": [{"sku_id": sku.id, "quantity": 1}]}, headers=operator
    )
    assert sale.status_code == 409 and sale.json["error"]["code"] == "location_inactive"
    receipt = client.post(
        f"/api/v1/locations/{hall.id}/receipts", json={"lines": [_receipt(sku.id, "NEW-0001", 1)]}, headers=operator
    )
    assert receipt.status_code == 409


def test_count_adjusts_each_batch_with_its_reason(client, make, hall, operator):
    sku = make.sku()
    make.stock(hall, sku, 10, trace_code="CNT-0001")
    make.stock(hall, sku, 4, trace_code="CNT-0002")
    other = make.sku()
    make.stock(make.hall(), other, 3, trace_code="ELSE-0001")  # a batch known elsewhere, found here
    body = {
        "reason": "月度盘点 monthly count",
        "lines": [
            {"trace_code": "CNT-0001", "counted": 8},
            {"trace_code": "CNT-0002", "counted": 4},
            {"trace_code": "ELSE-0001", "counted": 1},
        ],
    }
    counted = client.post(f"/api/v1/locations/{hall.id}/counts", json=body, headers=operator)
    assert counted.status_code == 201, counted.json
    assert sorted((line["trace_code"], line["on_hand_delta"]) for line in counted.json["lines"]) == [
        ("CNT-0001", -2),
        ("ELSE-0001", 1),
    ]
    adjustments = client.get(f"/api/v1/locations/{hall.id}/movements?kind=adjustment", headers=operator).json
    assert adjustments["total"] == 2
    assert {m["reason"] for m in adjustments["items"]} == {"月度盘点 monthly count"}
    assert _stock(client, operator, hall.id, sku.id)["on_hand"] == 12
    assert _stock(client, operator, hall.id, other.id)["on_hand"] == 1
    no_reason = client.post(f"/api/v1/locations/{hall.id}/counts", json={"lines": body["lines"]}, headers=operator)
    assert no_reason.status_code == 422


def test_returns_and_write_offs(client, make, hall, operator):
    sku = make.sku()
    make.stock(hall, sku, 3, trace_code="RET-0001")
    client.post(
        f"/api/v1/locations/{hall.id}/sales", json={"lines": [{"sku_id": sku.id, "quantity": 3}]}, headers=operator
    )
    returned = client.post(
        f"/api/v1/locations/{hall.id}/returns",
        json={"reason": "买家退货 buyer return", "lines": [{"trace_code": "RET-0001", "quantity": 1}]},
        headers=operator,
    )
    assert returned.status_code == 201
    assert returned.json["stock"][0]["on_hand"] == 1
    too_much = client.post(
        f"/api/v1/locations/{hall.id}/write-offs",
        json={"reason": "damaged", "lines": [{"trace_code": "RET-0001", "quantity": 2}]},
        headers=operator,
    )
    assert too_much.status_code == 409 and too_much.json["error"]["code"] == "out_of_stock"
    unknown = client.post(
        f"/api/v1/locations/{hall.id}/write-offs",
        json={"reason": "damaged", "lines": [{"trace_code": "NOPE-0001", "quantity": 1}]},
        headers=operator,
    )
    assert unknown.status_code == 422


def test_movement_history_filters_and_pages(client, make, hall, operator):
    sku, other = make.sku(), make.sku()
    make.stock(hall, sku, 5, trace_code="HIS-0001")
    make.stock(hall, other, 5, trace_code="HIS-0002")
    for _ in range(3):
        client.post(
            f"/api/v1/locations/{hall.id}/sales", json={"lines": [{"sku_id": sku.id, "quantity": 1}]}, headers=operator
        )
    base = f"/api/v1/locations/{hall.id}/movements"
    assert client.get(f"{base}?kind=sale", headers=operator).json["total"] == 3
    assert client.get(f"{base}?sku_id={other.id}", headers=operator).json["total"] == 1
    assert client.get(f"{base}?trace_code=HIS-0001", headers=operator).json["total"] == 4
    page = client.get(f"{base}?size=2&page=2", headers=operator).json
    assert (page["total"], len(page["items"])) == (5, 2)
    ids = [m["id"] for m in client.get(f"{base}?size=100", headers=operator).json["items"]]
    assert ids == sorted(ids, reverse=True)
    future = (clock.now() + timedelta(hours=1)).isoformat()
    assert client.get(base, query_string={"since": future}, headers=operator).json["total"] == 0
    assert client.get(f"{base}?kind=teleport", headers=operator).status_code == 422
    assert client.get(base, query_string={"since": "2026-01-01T00:00:00"}, headers=operator).status_code == 422


def test_thresholds_low_stock_and_restock_suggestion(client, make, hall, operator):
    sku, calm = make.sku(), make.sku()
    make.stock(hall, sku, 40)
    make.stock(hall, calm, 50)
    started = clock.now()
    # 28 units sold over the last 14 days: 1 a day in a 28-day window
    for day in range(14):
        with clock.frozen_at(started - timedelta(days=day)):
            sold = client.post(
                f"/api/v1/locations/{hall.id}/sales",
                json={"lines": [{"sku_id": sku.id, "quantity": 2}]},
                headers=operator,
            )
            assert sold.status_code == 201, sold.json
    set_ = client.put(
        f"/api/v1/locations/{hall.id}/thresholds/{sku.id}", json={"low_stock_threshold": 15}, headers=operator
    )
    assert set_.status_code == 200 and set_.json["low"] is True
    client.put(f"/api/v1/locations/{hall.id}/thresholds/{calm.id}", json={"low_stock_threshold": 5}, headers=operator)
    low = client.get("/api/v1/inventory/low-stock", headers=operator).json
    assert low["total"] == 1
    row = low["items"][0]
    assert row["sku"]["id"] == sku.id and row["location"]["id"] == hall.id
    assert (row["sellable"], row["sold_in_window"], row["window_days"], row["daily_velocity"]) == (12, 28, 28, 1.0)
    # threshold 15 + 14 days × 1/day − 12 sellable
    assert row["suggested_restock"] == 17
    # in-transit stock towards the hall counts
    source = make.hall()
    make.stock(source, sku, 10)
    admin = make.headers(make.user(Role.ADMIN))
    client.post(
        "/api/v1/transfers",
        json={"from_location_id": source.id, "to_location_id": hall.id, "lines": [{"sku_id": sku.id, "quantity": 7}]},
        headers=admin,
    )
    row = client.get(f"/api/v1/inventory/low-stock?location_id={hall.id}", headers=operator).json["items"][0]
    assert (row["in_transit"], row["suggested_restock"]) == (7, 10)
    with clock.frozen_at(started + timedelta(hours=1)):
        shorter = client.get("/api/v1/inventory/low-stock?window_days=7&cover_days=7", headers=operator)
    shorter = shorter.json["items"][0]
    assert shorter["sold_in_window"] == 14 and shorter["suggested_restock"] == 15 + 14 - 12 - 7
    assert client.get("/api/v1/inventory/low-stock?window_days=0", headers=operator).status_code == 422
    # unknown SKU, bad value
    assert (
        client.put(f"/api/v1/locations/{hall.id}/thresholds/999999", json={"low_stock_threshold": 1}, headers=operator)
    ).status_code == 404
    assert (
        client.put(
            f"/api/v1/locations/{hall.id}/thresholds/{sku.id}", json={"low_stock_threshold": -1}, headers=operator
        )
    ).status_code == 422


def test_stock_list_filters_and_is_a_fixed_number_of_queries(client, make, hall, operator, count_queries):
    skus = [make.sku() for _ in range(3)]
    for sku in skus:
        make.stock(hall, sku, 5)
    client.put(
        f"/api/v1/locations/{hall.id}/thresholds/{skus[0].id}", json={"low_stock_threshold": 9}, headers=operator
    )
    base = f"/api/v1/locations/{hall.id}/stock"
    assert client.get(f"{base}?low=true", headers=operator).json["total"] == 1
    assert client.get(f"{base}?product_id={skus[1].product_id}", headers=operator).json["total"] == 1
    with count_queries() as small:
        client.get(f"{base}?size=1", headers=operator)
    with count_queries() as large:
        client.get(f"{base}?size=100", headers=operator)
    assert small.count == large.count, large.statements


def test_the_ledger_refuses_updates_and_deletes(make, hall, session):
    sku = make.sku()
    make.stock(hall, sku, 5)
    for statement in ("UPDATE stock_movements SET on_hand_delta = 500", "DELETE FROM stock_movements"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), session.begin_nested():
            session.execute(sa.text(statement))

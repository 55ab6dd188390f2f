"""Every operator endpoint: the operator of hall A runs hall A (and what hangs under it); the operator
of hall B is told hall A's things do not exist (404), and nothing moves."""

from datetime import timedelta

import pytest

from shop import clock
from shop.auth.models import Role
from shop.inventory import transfers
from shop.inventory.models import Location, china_today


@pytest.fixture
def world(make):
    hall_a, hall_b = make.hall(), make.hall()
    counter_a = make.counter(hall_a)
    sku = make.sku()
    code = make.stock(hall_a, sku, 20)
    transfer = transfers.dispatch_transfer(
        make.session,
        make.admin,
        from_location_id=hall_a.id,
        to_location_id=counter_a.id,
        lines=[{"sku_id": sku.id, "quantity": 2}],
        note="",
        now=clock.now(),
    )
    return {
        "A": hall_a.id,
        "counter": counter_a.id,
        "sku": sku.id,
        "code": code,
        "transfer": transfer.id,
        "op_a": make.headers(make.operator(hall_a)),
        "op_b": make.headers(make.operator(hall_b)),
    }


def _receipt(w):
    today = china_today(clock.now())
    return {
        "lines": [
            {
                "sku_id": w["sku"],
                "trace_code": "SCOPE-0001",
                "produced_on": today.isoformat(),
                "best_before": (today + timedelta(days=9)).isoformat(),
                "quantity": 1,
            }
        ]
    }


# (method, URL rule as Flask has it, URL for the world, body) of every operator endpoint on one object
OBJECT_ENDPOINTS = [
    ("GET", "/api/v1/locations/<int:location_id>", "/api/v1/locations/{A}", None),
    ("GET", "/api/v1/locations/<int:location_id>/stock", "/api/v1/locations/{A}/stock", None),
    ("GET", "/api/v1/locations/<int:location_id>/batches", "/api/v1/locations/{A}/batches", None),
    ("GET", "/api/v1/locations/<int:location_id>/movements", "/api/v1/locations/{A}/movements", None),
    (
        "PUT",
        "/api/v1/locations/<int:location_id>/thresholds/<int:sku_id>",
        "/api/v1/locations/{A}/thresholds/{sku}",
        lambda w: {"low_stock_threshold": 3},
    ),
    ("POST", "/api/v1/locations/<int:location_id>/receipts", "/api/v1/locations/{A}/receipts", _receipt),
    (
        "POST",
        "/api/v1/locations/<int:location_id>/sales",
        "/api/v1/locations/{A}/sales",
        lambda w: {"lines": [{"sku_id": w["sku"], "quantity": 1}]},
    ),
    (
        "POST",
        "/api/v1/locations/<int:location_id>/returns",
        "/api/v1/locations/{A}/returns",
        lambda w: {"reason": "r", "lines": [{"trace_code": w["code"], "quantity": 1}]},
    ),
    (
        "POST",
        "/api/v1/locations/<int:location_id>/counts",
        "/api/v1/locations/{A}/counts",
        lambda w: {"reason": "r", "lines": [{"trace_code": w["code"], "counted": 1}]},
    ),
    (
        "POST",
        "/api/v1/locations/<int:location_id>/write-offs",
        "/api/v1/locations/{A}/write-offs",
        lambda w: {"reason": "r", "lines": [{"trace_code": w["code"], "quantity": 1}]},
    ),
    (
        "POST",
        "/api/v1/transfers",
        "/api/v1/transfers",
        lambda w: {
            "from_location_id": w["A"],
            "to_location_id": w["counter"],
            "lines": [{"sku_id": w["sku"], "quantity": 1}],
        },
    ),
    ("GET", "/api/v1/transfers/<int:transfer_id>", "/api/v1/transfers/{transfer}", None),
    ("POST", "/api/v1/transfers/<int:transfer_id>/receive", "/api/v1/transfers/{transfer}/receive", lambda w: {}),
    ("GET", "/api/v1/inventory/low-stock", "/api/v1/inventory/low-stock?location_id={A}", None),
]
# Lists: hall B's operator gets 200 without hall A's things in them; each with the location ids of an item.
LIST_ENDPOINTS = {
    ("GET", "/api/v1/locations"): lambda item: {item["id"]},
    ("GET", "/api/v1/transfers"): lambda item: {item["from_location"]["id"], item["to_location"]["id"]},
    ("GET", "/api/v1/inventory/low-stock"): lambda item: {item["location"]["id"]},
    ("GET", "/api/v1/inventory/stale-counters"): lambda item: {item["location"]["id"]},
}
ADMIN_ENDPOINTS = [
    ("POST", "/api/v1/locations"),
    ("PATCH", "/api/v1/locations/<int:location_id>"),
    ("POST", "/api/v1/locations/<int:location_id>/counter-key"),
    ("DELETE", "/api/v1/locations/<int:location_id>/counter-key"),
]


def _call(client, method, url, body, headers):
    return client.open(url, method=method, json=body, headers=headers)


@pytest.mark.parametrize(
    ("method", "rule", "url", "body"), OBJECT_ENDPOINTS, ids=[f"{e[0]} {e[2]}" for e in OBJECT_ENDPOINTS]
)
def test_operator_of_hall_b_gets_404_for_hall_a(client, make, world, method, rule, url, body):
    url = url.format(**world)
    payload = body(world) if body else None
    admin = make.headers(make.user(Role.ADMIN))
    before = client.get(f"/api/v1/locations/{world['A']}/movements?size=100", headers=admin).json["total"]
    outsider = _call(client, method, url, payload, world["op_b"])
    assert outsider.status_code == 404, outsider.json
    assert outsider.json["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/locations/{world['A']}/movements?size=100", headers=admin).json["total"] == before
    insider = _call(client, method, url, payload, world["op_a"])
    assert insider.status_code in (200, 201), insider.json


def test_lists_leave_out_what_belongs_to_another_hall(client, make, world):
    make.counter_key(make.session.get(Location, world["counter"]))
    client.put(
        f"/api/v1/locations/{world['A']}/thresholds/{world['sku']}",
        json={"low_stock_threshold": 50},
        headers=world["op_a"],
    )
    hall_a_side = {world["A"], world["counter"]}
    for (_, path), locations_of in LIST_ENDPOINTS.items():
        for headers, sees_a in ((world["op_b"], False), (world["op_a"], True)):
            response = client.get(path, headers=headers)
            assert response.status_code == 200, path
            seen = set().union(*(locations_of(item) for item in response.json["items"]))
            assert bool(seen & hall_a_side) is sees_a, (path, response.json)


def test_admin_endpoints_are_refused_to_operators(client, world):
    for method, url in (
        ("POST", "/api/v1/locations"),
        ("PATCH", "/api/v1/locations/{A}"),
        ("POST", "/api/v1/locations/{counter}/counter-key"),
        ("DELETE", "/api/v1/locations/{counter}/counter-key"),
    ):
        body = {"kind": "zone", "parent_id": world["A"], "name": "z", "district_id": 500103, "address": "x"}
        response = _call(client, method, url.format(**world), body if method == "POST" else {}, world["op_a"])
        assert response.status_code == 403, (method, url)


def test_every_inventory_endpoint_is_in_a_scope_table(app):
    covered = {(m, r) for m, r, _, _ in OBJECT_ENDPOINTS} | set(LIST_ENDPOINTS) | set(ADMIN_ENDPOINTS)
    endpoints = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("inventory.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert endpoints - covered == set()

from datetime import timedelta

from shop import clock
from shop.auth.models import Role
from shop.inventory.models import china_today


def _stock(client, headers, location_id, sku_id):
    items = client.get(f"/api/v1/locations/{location_id}/stock?sku_id={sku_id}", headers=headers).json["items"]
    return items[0]["on_hand"] if items else 0


def test_dispatch_in_transit_receive_with_shortfall(client, make):
    source, destination = make.hall(), make.hall()
    sender, receiver = make.headers(make.operator(source)), make.headers(make.operator(destination))
    sku = make.sku()
    today = china_today(clock.now())
    make.stock(source, sku, 4, best_before=today + timedelta(days=3), trace_code="TR-SOON")
    make.stock(source, sku, 10, best_before=today + timedelta(days=9), trace_code="TR-LATER")
    body = {
        "from_location_id": source.id,
        "to_location_id": destination.id,
        "note": "周一补货",
        "lines": [{"sku_id": sku.id, "quantity": 6}],
    }
    dispatched = client.post("/api/v1/transfers", json=body, headers=sender)
    assert dispatched.status_code == 201, dispatched.json
    transfer = dispatched.json
    assert transfer["status"] == "in_transit"
    assert [(line["trace_code"], line["quantity_sent"], line["quantity_received"]) for line in transfer["lines"]] == [
        ("TR-SOON", 4, None),
        ("TR-LATER", 2, None),
    ]
    assert _stock(client, sender, source.id, sku.id) == 8  # left the source, not yet anywhere
    assert _stock(client, receiver, destination.id, sku.id) == 0
    # both ends see it; the sender cannot receive it
    assert client.get(f"/api/v1/transfers/{transfer['id']}", headers=receiver).status_code == 200
    assert [t["id"] for t in client.get("/api/v1/transfers?status=in_transit", headers=receiver).json["items"]] == [
        transfer["id"]
    ]
    url = f"/api/v1/transfers/{transfer['id']}/receive"
    assert client.post(url, json={}, headers=sender).status_code == 403

    lines = {line["trace_code"]: line["id"] for line in transfer["lines"]}
    partial = {"lines": [{"line_id": lines["TR-SOON"], "quantity_received": 4}]}
    missing = client.post(url, json=partial, headers=receiver)
    assert missing.status_code == 422 and missing.json["error"]["details"]["missing"] == [lines["TR-LATER"]]
    too_many = {
        "lines": [
            {"line_id": lines["TR-SOON"], "quantity_received": 5},
            {"line_id": lines["TR-LATER"], "quantity_received": 2},
        ]
    }
    assert client.post(url, json=too_many, headers=receiver).status_code == 422
    short = {
        "lines": [
            {"line_id": lines["TR-SOON"], "quantity_received": 3},
            {"line_id": lines["TR-LATER"], "quantity_received": 2},
        ]
    }
    received = client.post(url, json=short, headers=receiver)
    assert received.status_code == 200, received.json
    result = received.json
    assert result["status"] == "received" and result["received_at"]
    assert [(line["quantity_received"], line["shortfall"]) for line in result["lines"]] == [(3, 1), (2, 0)]
    assert _stock(client, receiver, destination.id, sku.id) == 5
    batches = client.get(f"/api/v1/locations/{destination.id}/batches", headers=receiver).json["items"]
    assert [(b["trace_code"], b["on_hand"]) for b in batches] == [("TR-SOON", 3), ("TR-LATER", 2)]

    again = client.post(url, json={}, headers=receiver)
    assert again.status_code == 409 and again.json["error"]["code"] == "illegal_transition"
    kinds = client.get(f"/api/v1/locations/{destination.id}/movements", headers=receiver).json["items"]
    assert {m["kind"] for m in kinds} == {"transfer_in"} and all(m["transfer_id"] == transfer["id"] for m in kinds)


def test_receive_without_lines_takes_everything_and_explicit_batches(client, make):
    source, destination = make.hall(), make.counter()
    admin = make.headers(make.user(Role.ADMIN))
    sku = make.sku()
    today = china_today(clock.now())
    make.stock(source, sku, 4, best_before=today + timedelta(days=3), trace_code="EX-SOON")
    make.stock(source, sku, 4, best_before=today + timedelta(days=9), trace_code="EX-LATER")
    body = {
        "from_location_id": source.id,
        "to_location_id": destination.id,
        "lines": [{"sku_id": sku.id, "quantity": 3, "trace_code": "EX-LATER"}, {"sku_id": sku.id, "quantity": 5}],
    }
    transfer = client.post("/api/v1/transfers", json=body, headers=admin).json
    # the explicit batch first; FEFO then takes what is left: all of EX-SOON, the last unit of EX-LATER
    assert sorted((line["trace_code"], line["quantity_sent"]) for line in transfer["lines"]) == [
        ("EX-LATER", 4),
        ("EX-SOON", 4),
    ]
    received = client.post(f"/api/v1/transfers/{transfer['id']}/receive", json={}, headers=admin).json
    assert all(line["shortfall"] == 0 for line in received["lines"])
    assert _stock(client, admin, destination.id, sku.id) == 8


def test_dispatch_is_refused_when_short_or_badly_addressed(client, make, session):
    source, destination = make.hall(), make.hall()
    sender = make.headers(make.operator(source))
    sku = make.sku()
    make.stock(source, sku, 2, trace_code="SH-0001")

    def dispatch(**overrides):
        body = {
            "from_location_id": source.id,
            "to_location_id": destination.id,
            "lines": [{"sku_id": sku.id, "quantity": 1}],
        }
        return client.post("/api/v1/transfers", json={**body, **overrides}, headers=sender)

    short = dispatch(lines=[{"sku_id": sku.id, "quantity": 3}])
    assert short.status_code == 409 and short.json["error"]["code"] == "out_of_stock"
    assert dispatch(to_location_id=source.id).status_code == 422
    assert dispatch(to_location_id=999999).status_code == 422
    other_sku = make.sku()
    assert dispatch(lines=[{"sku_id": other_sku.id, "quantity": 1, "trace_code": "SH-0001"}]).status_code == 422
    destination.is_active = False
    session.flush()
    assert dispatch().json["error"]["code"] == "location_inactive"
    assert _stock(client, sender, source.id, sku.id) == 2

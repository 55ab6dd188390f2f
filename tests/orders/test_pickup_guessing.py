"""Pick-up codes cannot be guessed: wrong codes count (although each answers 409), the code locks
after PICKUP_MAX_ATTEMPTS of them, the operator sees why, and the buyer gets a new code."""

from shop import settings
from tests.orders.conftest import paid_order


def _wrong_codes(right: str, n: int) -> list[str]:
    return [code for code in (f"{i:06d}" for i in range(n + 1)) if code != right][:n]


def _pickup(client, shop, order_id, code):
    return client.post(f"/api/v1/orders/{order_id}/pickup", headers=shop.operator_headers, json={"code": code})


def test_wrong_codes_lock_the_code_until_the_buyer_gets_a_new_one(client, shop):
    order = paid_order(client, shop)
    assert client.post(f"/api/v1/orders/{order['id']}/ready", headers=shop.operator_headers).status_code == 200

    answers = [_pickup(client, shop, order["id"], code) for code in _wrong_codes(order["pickup_code"], 5)]
    assert [(a.status_code, a.json["error"]["code"]) for a in answers] == [(409, "wrong_pickup_code")] * 5
    assert [a.json["error"]["details"]["attempts_left"] for a in answers] == [4, 3, 2, 1, 0]
    assert answers[-1].json["error"]["details"]["locked"] is True

    right = _pickup(client, shop, order["id"], order["pickup_code"])
    assert right.status_code == 409 and right.json["error"]["code"] == "pickup_locked"

    seen = client.get(f"/api/v1/orders/{order['id']}", headers=shop.operator_headers).json
    assert seen["status"] == "ready_for_pickup" and seen["pickup_code"] is None
    assert seen["pickup_attempts"] == 5 and seen["pickup_locked_at"] is not None
    notes = [
        e["note"]
        for e in client.get(f"/api/v1/orders/{order['id']}/events", headers=shop.operator_headers).json["items"]
    ]
    assert [n for n in notes if n.startswith("wrong pick-up code")] == [
        f"wrong pick-up code ({i} of 5)" for i in range(1, 6)
    ]
    assert any(n.startswith("pick-up code locked after 5 wrong codes") for n in notes)

    # only the buyer renews the code
    assert client.post(f"/api/v1/orders/{order['id']}/pickup-code", headers=shop.operator_headers).status_code == 404
    renewed = client.post(f"/api/v1/orders/{order['id']}/pickup-code", headers=shop.buyer_headers)
    assert renewed.status_code == 200
    assert renewed.json["pickup_attempts"] == 0 and renewed.json["pickup_locked_at"] is None
    code = renewed.json["pickup_code"]
    assert len(code) == 6
    if code != order["pickup_code"]:
        assert _pickup(client, shop, order["id"], order["pickup_code"]).json["error"]["code"] == "wrong_pickup_code"
    done = _pickup(client, shop, order["id"], code)
    assert done.status_code == 200 and done.json["status"] == "completed"
    assert client.post(f"/api/v1/orders/{order['id']}/pickup-code", headers=shop.buyer_headers).status_code == 409


def test_the_limit_is_a_setting(app, client, shop):
    order = paid_order(client, shop)
    client.post(f"/api/v1/orders/{order['id']}/ready", headers=shop.operator_headers)
    app.config["PICKUP_MAX_ATTEMPTS"] = 2
    settings.install(app)  # the app builds its settings once, at start-up
    try:
        codes = [
            _pickup(client, shop, order["id"], c).json["error"]["code"] for c in _wrong_codes(order["pickup_code"], 3)
        ]
    finally:
        app.config["PICKUP_MAX_ATTEMPTS"] = 5
        settings.install(app)
    assert codes == ["wrong_pickup_code", "wrong_pickup_code", "pickup_locked"]

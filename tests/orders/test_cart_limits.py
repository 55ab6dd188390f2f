"""A cart line's quantity limit holds however the quantity got there, and a pick-up and a delivery of
one SKU from one hall stay two lines, each checked out as its own order."""

from tests.orders.conftest import add_to_cart

ADDRESS = {"name": "王", "phone": "13800000000", "address": "重庆市渝中区解放碑1号"}


def _add(client, headers, sku, location, quantity, fulfilment="pickup"):
    return client.post(
        "/api/v1/cart/lines",
        headers=headers,
        json={"sku_id": sku.id, "quantity": quantity, "fulfilment": fulfilment, "location_id": location.id},
    )


def test_adds_cannot_push_a_line_past_the_limit(client, shop):
    first = add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 10_000)
    second = _add(client, shop.buyer_headers, shop.sku, shop.counter, 10_000)
    assert second.status_code == 409
    assert second.json["error"]["code"] == "cart_quantity_limit"
    assert second.json["error"]["details"]["max_quantity"] == 10_000
    lines = client.get("/api/v1/cart", headers=shop.buyer_headers).json["lines"]
    assert [(line["id"], line["quantity"]) for line in lines] == [(first["id"], 10_000)]
    # up to the limit exactly is fine
    client.patch(f"/api/v1/cart/lines/{first['id']}", headers=shop.buyer_headers, json={"quantity": 9_999})
    assert add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1)["quantity"] == 10_000
    too_many = client.patch(f"/api/v1/cart/lines/{first['id']}", headers=shop.buyer_headers, json={"quantity": 10_001})
    assert too_many.status_code == 422


def test_pickup_and_delivery_of_one_sku_are_two_lines_and_two_orders(client, shop):
    pickup = add_to_cart(client, shop.buyer_headers, shop.sku, shop.hall, 2, fulfilment="pickup")
    delivery = add_to_cart(client, shop.buyer_headers, shop.sku, shop.hall, 1, fulfilment="delivery")
    assert delivery["id"] != pickup["id"]
    lines = {line["id"]: line for line in client.get("/api/v1/cart", headers=shop.buyer_headers).json["lines"]}
    assert (lines[pickup["id"]]["fulfilment"], lines[pickup["id"]]["quantity"]) == ("pickup", 2)
    assert (lines[delivery["id"]]["fulfilment"], lines[delivery["id"]]["quantity"]) == ("delivery", 1)
    # the same fulfilment again still adds up in its own line
    assert add_to_cart(client, shop.buyer_headers, shop.sku, shop.hall, 1, fulfilment="delivery")["quantity"] == 2

    mixed = client.post("/api/v1/orders", headers=shop.buyer_headers, json={"delivery_address": ADDRESS})
    assert mixed.status_code == 422
    groups = {g["fulfilment"]: g["line_ids"] for g in mixed.json["error"]["details"]["groups"]}
    assert groups == {"pickup": [pickup["id"]], "delivery": [delivery["id"]]}

    picked = client.post("/api/v1/orders", headers=shop.buyer_headers, json={"line_ids": [pickup["id"]]})
    assert picked.status_code == 201, picked.json
    assert picked.json["fulfilment"] == "pickup" and picked.json["lines"][0]["quantity"] == 2
    shipped = client.post("/api/v1/orders", headers=shop.buyer_headers, json={"delivery_address": ADDRESS})
    assert shipped.status_code == 201, shipped.json
    assert shipped.json["fulfilment"] == "delivery" and shipped.json["lines"][0]["quantity"] == 2
    assert client.get("/api/v1/cart", headers=shop.buyer_headers).json["lines"] == []

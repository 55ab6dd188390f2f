"""Checkout is a hot path: a one-line cart is a bounded number of SQL statements, the whole request
counted (token check and actor, idempotency key, cart, pricing, order, stock, search outbox row)."""

from tests.factories import level
from tests.orders.conftest import add_to_cart, checkout

CHECKOUT_STATEMENTS = 15


def test_a_one_line_checkout_is_fifteen_statements_at_most(client, app, shop, count_queries, monkeypatch):
    # the search drain after the commit runs off the request in production (a thread, a worker)
    monkeypatch.setitem(app.config, "SEARCH_DRAIN_AFTER_COMMIT", "off")
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 2)
    with count_queries() as counter:
        response = checkout(client, shop.buyer_headers, key="one-line")
    assert response.status_code == 201, response.json
    assert response.json["lines"][0]["quantity"] == 2 and response.json["total_fen"] == 10000
    print(f"checkout statements: {counter.count}")
    assert counter.count <= CHECKOUT_STATEMENTS, "\n\n".join(counter.statements)


def test_a_refused_checkout_leaves_the_cart_whole(client, shop, make, session):
    # checkout takes the lines out of the cart first; a refusal rolls that back with everything else
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 11)
    refused = checkout(client, shop.buyer_headers)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "out_of_stock"
    lines = client.get("/api/v1/cart", headers=shop.buyer_headers).json["lines"]
    assert [(line["sku_id"], line["quantity"]) for line in lines] == [(shop.sku.id, 11)]
    assert level(session, shop.counter, shop.sku) == (10, 0)


def test_the_order_number_is_the_day_and_the_id(client, shop):
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1)
    order = checkout(client, shop.buyer_headers).json
    stored = client.get(f"/api/v1/orders/{order['id']}", headers=shop.buyer_headers).json["number"]
    assert stored == order["number"] and order["number"].endswith(f"{order['id']:06d}")
    assert len(order["number"]) == 14 and order["number"][:8].isdigit()

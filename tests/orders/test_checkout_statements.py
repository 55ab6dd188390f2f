"""Checkout is a hot path: a one-line cart is a bounded number of SQL statements, the whole request
counted (token check, actor, idempotency key, pricing, stock, order, facts, commit)."""

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

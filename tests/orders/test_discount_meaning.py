"""One meaning of a discount: quote, cart and order show per line `discount_fen` (promotions and
coupons, never points) and `points_value_fen` (the line's share of the redeemed points), and the
same totals."""

from datetime import timedelta

from shop import clock
from tests.orders.conftest import add_to_cart, admin_headers

LINE_FIELDS = ("subtotal_fen", "discount_fen", "points_value_fen", "total_fen")
TOTAL_FIELDS = ("subtotal_fen", "discount_fen", "points_redeemed", "points_redeemed_value_fen", "total_fen")


def test_quote_cart_and_order_agree_on_discount_and_points(client, shop, make):
    now = clock.now()
    promotion = client.post(
        "/api/v1/promotions",
        headers=admin_headers(make),
        json={
            "name": "9折",
            "kind": "percent_discount",
            "percent_bp": 1000,
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
        },
    )
    assert promotion.status_code == 201, promotion.json
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 2)

    quote = client.post(
        "/api/v1/quotes",
        headers=shop.buyer_headers,
        json={"items": [{"sku_id": shop.sku.id, "quantity": 2}], "points": 500},
    ).json
    cart = client.get("/api/v1/cart?points=500", headers=shop.buyer_headers).json["quote"]
    order = client.post("/api/v1/orders", headers=shop.buyer_headers, json={"points": 500}).json

    # 2 × ¥50 = 10000 fen, 10 % off = 1000, 500 points = 500 fen
    expected = {"subtotal_fen": 10000, "discount_fen": 1000, "points_value_fen": 500, "total_fen": 8500}
    for body in (quote, cart, order):
        assert {k: body["lines"][0][k] for k in LINE_FIELDS} == expected
        assert {k: body[k] for k in TOTAL_FIELDS} == {
            "subtotal_fen": 10000,
            "discount_fen": 1000,
            "points_redeemed": 500,
            "points_redeemed_value_fen": 500,
            "total_fen": 8500,
        }

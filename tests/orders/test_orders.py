from datetime import timedelta

import sqlalchemy as sa

from shop import clock
from shop.certification import service as certification
from shop.certification.models import Certification
from shop.inventory import ledger
from shop.points import service as points
from shop.points.models import PointsKind
from tests.factories import level
from tests.orders.conftest import add_to_cart, admin_headers, checkout, paid_order


def test_cart_lines_and_quote(client, shop, make, session):
    line = add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 2)
    again = add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1)
    assert again["id"] == line["id"] and again["quantity"] == 3
    cart = client.get("/api/v1/cart", headers=shop.buyer_headers).json
    assert cart["quote"]["total_fen"] == 15000 and cart["quote"]["lines"][0]["key"] == str(line["id"])
    client.patch(f"/api/v1/cart/lines/{line['id']}", headers=shop.buyer_headers, json={"quantity": 1})
    assert client.get("/api/v1/cart", headers=shop.buyer_headers).json["quote"]["total_fen"] == 5000
    other = make.headers(make.user())
    assert client.delete(f"/api/v1/cart/lines/{line['id']}", headers=other).status_code == 404
    assert client.delete(f"/api/v1/cart/lines/{line['id']}", headers=shop.buyer_headers).status_code == 204
    assert client.get("/api/v1/cart", headers=shop.buyer_headers).json == {"lines": [], "quote": None}


def test_cart_refuses_bad_places(client, shop, make):
    bad = client.post(
        "/api/v1/cart/lines",
        headers=shop.buyer_headers,
        json={"sku_id": shop.sku.id, "quantity": 1, "fulfilment": "delivery", "location_id": shop.counter.id},
    )
    assert bad.status_code == 422 and "location_id" in bad.json["error"]["details"]["fields"]
    unknown = client.post(
        "/api/v1/cart/lines",
        headers=shop.buyer_headers,
        json={"sku_id": shop.sku.id, "quantity": 1, "fulfilment": "pickup", "location_id": 999999},
    )
    assert unknown.status_code == 422


def test_checkout_reserves_stock_and_freezes_the_price(client, shop, session):
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 3)
    response = checkout(client, shop.buyer_headers, key="k-1")
    assert response.status_code == 201, response.json
    order = response.json
    assert order["status"] == "pending_payment" and order["total_fen"] == 15000
    assert order["lines"][0]["quantity"] == 3 and order["number"].endswith(f"{order['id']:06d}")
    assert level(session, shop.counter, shop.sku) == (10, 3)
    assert client.get("/api/v1/cart", headers=shop.buyer_headers).json["lines"] == []
    # a later price change does not touch the order
    shop.sku.price_fen = 9900
    session.flush()
    assert client.get(f"/api/v1/orders/{order['id']}", headers=shop.buyer_headers).json["total_fen"] == 15000


def test_same_idempotency_key_returns_the_same_order_and_another_body_is_409(client, shop, session):
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1)
    first = checkout(client, shop.buyer_headers, key="same")
    again = checkout(client, shop.buyer_headers, key="same")
    assert first.status_code == 201 and again.status_code == 201
    assert first.json["id"] == again.json["id"]
    assert level(session, shop.counter, shop.sku) == (10, 1)
    other = checkout(client, shop.buyer_headers, key="same", points=5)
    assert other.status_code == 409 and other.json["error"]["code"] == "idempotency_key_reused"


def test_checkout_refuses_out_of_stock_and_lines_not_in_force(client, shop, make, session):
    line = add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 11)
    short = checkout(client, shop.buyer_headers)
    assert short.status_code == 409 and short.json["error"]["code"] == "out_of_stock"
    assert level(session, shop.counter, shop.sku) == (10, 0)  # nothing held
    client.patch(f"/api/v1/cart/lines/{line['id']}", headers=shop.buyer_headers, json={"quantity": 1})
    cert = session.scalar(sa.select(Certification).where(Certification.product_id == shop.sku.product_id))
    certification.revoke_certification(session, make.regulator(), cert.id, reason="spot check", now=clock.now())
    cart = client.get("/api/v1/cart", headers=shop.buyer_headers).json
    assert cart["quote"]["problems"] == ["not_in_force"]
    refused = checkout(client, shop.buyer_headers)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "cart_not_orderable"
    assert refused.json["error"]["details"]["lines"] == [{"line_id": line["id"], "problem": "not_in_force"}]


def test_points_payment_moves_reserved_stock_to_sold(client, shop, session):
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1)
    order = checkout(client, shop.buyer_headers).json
    paid = client.post(f"/api/v1/orders/{order['id']}/payments", headers=shop.buyer_headers, json={"gateway": "points"})
    assert paid.status_code == 201 and paid.json["status"] == "succeeded" and paid.json["points_used"] == 5000
    assert points.balance(session, shop.buyer.id) == 5000
    shown = client.get(f"/api/v1/orders/{order['id']}", headers=shop.buyer_headers).json
    assert shown["status"] == "paid" and len(shown["pickup_code"]) == 6
    assert level(session, shop.counter, shop.sku) == (9, 0)
    # the operator sees the order but not the buyer's code
    seen = client.get(f"/api/v1/orders/{order['id']}", headers=shop.operator_headers).json
    assert seen["pickup_code"] is None
    again = client.post(
        f"/api/v1/orders/{order['id']}/payments", headers=shop.buyer_headers, json={"gateway": "points"}
    )
    assert again.status_code == 409 and again.json["error"]["code"] == "not_payable"


def test_offline_transfer_is_confirmed_by_an_admin(client, shop, make, session):
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 2)
    order = checkout(client, shop.buyer_headers).json
    payment = client.post(
        f"/api/v1/orders/{order['id']}/payments", headers=shop.buyer_headers, json={"gateway": "offline"}
    ).json
    assert payment["status"] == "pending" and payment["amount_fen"] == 10000
    assert (
        client.post(
            f"/api/v1/payments/{payment['id']}/confirm", headers=shop.buyer_headers, json={"reference": "X"}
        ).status_code
        == 403
    )
    confirmed = client.post(
        f"/api/v1/payments/{payment['id']}/confirm",
        headers=admin_headers(make),
        json={"reference": "ICBC-20261128-0001"},
    )
    assert confirmed.status_code == 200 and confirmed.json["reference"] == "ICBC-20261128-0001"
    assert client.get(f"/api/v1/orders/{order['id']}", headers=shop.buyer_headers).json["status"] == "paid"
    history = client.get(f"/api/v1/orders/{order['id']}/payments", headers=shop.buyer_headers).json
    assert [p["status"] for p in history["items"]] == ["succeeded"]


def test_expiry_releases_stock_coupon_and_points(client, shop, make, session, app):
    now = clock.now()
    coupon = client.post(
        "/api/v1/coupons",
        headers=admin_headers(make),
        json={
            "code": "ONCE",
            "name": "once",
            "kind": "fixed",
            "value": 1000,
            "total_uses": 1,
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
        },
    ).json
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 2)
    order = checkout(client, shop.buyer_headers, coupon_code="once", points=500).json
    assert order["total_fen"] == 10000 - 1000 - 500
    assert points.balance(session, shop.buyer.id) == 9500
    assert level(session, shop.counter, shop.sku) == (10, 2)
    with clock.frozen_at(now + timedelta(minutes=31)):
        shown = client.get(f"/api/v1/orders/{order['id']}", headers=shop.buyer_headers).json
        assert shown["status"] == "cancelled"
    assert level(session, shop.counter, shop.sku) == (10, 0)
    assert points.balance(session, shop.buyer.id) == 10_000
    listed = client.get("/api/v1/coupons", headers=admin_headers(make)).json["items"]
    assert [c["used_count"] for c in listed if c["id"] == coupon["id"]] == [0]
    events = client.get(f"/api/v1/orders/{order['id']}/events", headers=shop.buyer_headers).json["items"]
    assert [(e["from_status"], e["to_status"], e["note"]) for e in events][-1] == (
        "pending_payment",
        "cancelled",
        "expired unpaid",
    )
    assert ledger.check_balances(session) == []


def test_expire_command_cancels_due_orders(client, shop, session, app):
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1)
    order = checkout(client, shop.buyer_headers).json
    from shop.orders import service

    with clock.frozen_at(clock.now() + timedelta(hours=1)):
        assert service.expire_due(session, clock.now()) == 1
    assert level(session, shop.counter, shop.sku) == (10, 0)
    with clock.frozen_at(clock.now() + timedelta(hours=1)):
        assert service.expire_due(session, clock.now()) == 0
    assert client.get(f"/api/v1/orders/{order['id']}", headers=shop.buyer_headers).json["status"] == "cancelled"


def test_buyer_cancels_unpaid_but_not_paid_orders(client, shop, session):
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1)
    order = checkout(client, shop.buyer_headers).json
    cancelled = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=shop.buyer_headers)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert level(session, shop.counter, shop.sku) == (10, 0)
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1)
    paid = checkout(client, shop.buyer_headers).json
    client.post(f"/api/v1/orders/{paid['id']}/payments", headers=shop.buyer_headers, json={"gateway": "points"})
    refused = client.post(f"/api/v1/orders/{paid['id']}/cancel", headers=shop.buyer_headers)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "illegal_transition"


def test_pickup_with_the_code_completes_and_earns_points(client, shop, make, session):
    order = paid_order(client, shop)
    stranger = make.headers(make.operator(make.hall()))
    assert client.post(f"/api/v1/orders/{order['id']}/ready", headers=stranger).status_code == 404
    ready = client.post(f"/api/v1/orders/{order['id']}/ready", headers=shop.operator_headers)
    assert ready.status_code == 200 and ready.json["status"] == "ready_for_pickup"
    wrong = client.post(
        f"/api/v1/orders/{order['id']}/pickup",
        headers=shop.operator_headers,
        json={"code": "000000" if order["pickup_code"] != "000000" else "111111"},
    )
    assert wrong.status_code == 409 and wrong.json["error"]["code"] == "wrong_pickup_code"
    before = points.balance(session, shop.buyer.id)
    done = client.post(
        f"/api/v1/orders/{order['id']}/pickup", headers=shop.operator_headers, json={"code": order["pickup_code"]}
    )
    assert done.status_code == 200 and done.json["status"] == "completed"
    assert done.json["points_earned"] == 100  # ¥100 paid, 1 point per yuan
    assert points.balance(session, shop.buyer.id) == before + 100
    assert (
        client.post(
            f"/api/v1/orders/{order['id']}/ship", headers=shop.operator_headers, json={"tracking_number": "SF1"}
        ).status_code
        == 409
    )


def test_delivery_is_shipped_and_confirmed_by_the_buyer(client, shop, session):
    address = {"name": "李四", "phone": "13800000000", "address": "渝中区解放碑 1 号"}
    assert checkout(client, shop.buyer_headers).status_code == 422  # empty cart
    order = paid_order(client, shop, location=shop.hall, fulfilment="delivery", delivery_address=address)
    assert order["status"] == "paid" and order["delivery_address"]["name"] == "李四"
    assert client.post(f"/api/v1/orders/{order['id']}/ready", headers=shop.operator_headers).status_code == 409
    shipped = client.post(
        f"/api/v1/orders/{order['id']}/ship", headers=shop.operator_headers, json={"tracking_number": "SF123"}
    )
    assert shipped.json["status"] == "shipped"
    done = client.post(f"/api/v1/orders/{order['id']}/delivered", headers=shop.buyer_headers)
    assert done.status_code == 200 and done.json["status"] == "completed"


def test_delivery_needs_an_address(client, shop):
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.hall, 1, fulfilment="delivery")
    response = checkout(client, shop.buyer_headers)
    assert response.status_code == 422 and "delivery_address" in response.json["error"]["details"]["fields"]


def test_partial_then_full_refund_returns_money_points_and_stock(client, shop, make, session):
    points.post(session, shop.buyer.id, 10_000, PointsKind.ADJUST, note="enough to pay 140 yuan in points")
    order = paid_order(client, shop, quantity=3, points=1000)
    assert order["total_fen"] == 15000 - 1000
    balance_after_paying = points.balance(session, shop.buyer.id)
    line = order["lines"][0]
    admin = admin_headers(make)
    first = client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        headers={**admin, "Idempotency-Key": "r1"},
        json={"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "damaged"},
    )
    assert first.status_code == 201, first.json
    assert first.json["amount_fen"] == 14000 // 3
    replay = client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        headers={**admin, "Idempotency-Key": "r1"},
        json={"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "damaged"},
    )
    assert replay.json["id"] == first.json["id"]
    assert (
        client.get(f"/api/v1/orders/{order['id']}", headers=shop.buyer_headers).json["status"] == "partially_refunded"
    )
    assert level(session, shop.counter, shop.sku) == (8, 0)
    rest = client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        headers=admin,
        json={"lines": [{"line_id": line["id"], "quantity": 2}], "reason": "damaged"},
    )
    assert rest.status_code == 201
    final = client.get(f"/api/v1/orders/{order['id']}", headers=shop.buyer_headers).json
    assert final["status"] == "refunded" and final["refunded_fen"] == final["paid_fen"] == 14000
    # points paid the cash (points gateway) and 1000 points were redeemed: all come back
    assert points.balance(session, shop.buyer.id) == balance_after_paying + 14000 + 1000 == 20_000
    assert level(session, shop.counter, shop.sku) == (10, 0)
    over = client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        headers=admin,
        json={"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "again"},
    )
    assert over.status_code == 409
    assert ledger.check_balances(session) == []
    assert points.check(session) == []


def test_refund_after_completion_claws_back_earned_points(client, shop, make, session):
    order = paid_order(client, shop, quantity=2)
    client.post(f"/api/v1/orders/{order['id']}/ready", headers=shop.operator_headers)
    done = client.post(
        f"/api/v1/orders/{order['id']}/pickup", headers=shop.operator_headers, json={"code": order["pickup_code"]}
    ).json
    assert done["points_earned"] == 100
    refund = client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        headers=shop.operator_headers,
        json={"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "reason": "bad"},
    )
    assert refund.status_code == 201 and refund.json["points_clawed_back"] == 50
    buyer_refund = client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        headers=shop.buyer_headers,
        json={"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "reason": "x"},
    )
    assert buyer_refund.status_code == 404


def test_threshold_gift_added_while_stock_lasts(client, shop, make, session):
    gift_sku = make.sku(price_fen=100)
    make.stock(shop.counter, gift_sku, 1)
    now = clock.now()
    client.post(
        "/api/v1/promotions",
        headers=admin_headers(make),
        json={
            "name": "满100赠",
            "kind": "threshold_gift",
            "threshold_fen": 10000,
            "gift_sku_id": gift_sku.id,
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
        },
    )
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 2)
    first = checkout(client, shop.buyer_headers).json
    gifts = [line for line in first["lines"] if line["gift_promotion_id"]]
    assert [(g["sku_id"], g["total_fen"]) for g in gifts] == [(gift_sku.id, 0)]
    assert level(session, shop.counter, gift_sku) == (1, 1)
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 2)
    second = checkout(client, shop.buyer_headers).json
    assert not [line for line in second["lines"] if line["gift_promotion_id"]]  # none left at the counter
    client.post(f"/api/v1/orders/{first['id']}/cancel", headers=shop.buyer_headers)
    assert level(session, shop.counter, gift_sku) == (1, 0)


def test_rush_sale_checkout_costs_points_and_respects_the_buyer_cap(client, shop, make, session):
    now = clock.now()
    rush = client.post(
        "/api/v1/rush-sales",
        headers=admin_headers(make),
        json={
            "name": "积分抢购",
            "sku_id": shop.sku.id,
            "points_price": 2000,
            "cash_price_fen": 100,
            "quantity_cap": 5,
            "per_buyer_cap": 1,
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
        },
    ).json
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1, rush_sale_id=rush["id"])
    order = checkout(client, shop.buyer_headers).json
    assert order["points_cost"] == 2000 and order["total_fen"] == 100
    assert points.balance(session, shop.buyer.id) == 8000
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1, rush_sale_id=rush["id"])
    again = checkout(client, shop.buyer_headers)
    assert again.status_code == 409
    assert again.json["error"]["details"]["lines"][0]["problem"] == "rush_sale_buyer_limit"


def test_orders_are_private(client, shop, make):
    order = paid_order(client, shop, quantity=1)
    other = make.headers(make.user())
    assert client.get(f"/api/v1/orders/{order['id']}", headers=other).status_code == 404
    assert client.get(f"/api/v1/orders/{order['id']}/events", headers=other).status_code == 404
    mine = client.get("/api/v1/orders", headers=shop.buyer_headers).json
    assert [o["id"] for o in mine["items"]] == [order["id"]]
    assert client.get("/api/v1/orders", headers=other).json["total"] == 0
    operated = client.get("/api/v1/operator/orders", headers=shop.operator_headers).json
    assert order["id"] in [o["id"] for o in operated["items"]]
    assert client.get("/api/v1/operator/orders", headers=other).status_code == 403
    stranger = make.headers(make.operator(make.hall()))
    assert client.get("/api/v1/operator/orders", headers=stranger).json["total"] == 0


def test_products_of_deep_poverty_townships_earn_the_bonus_rate(client, shop, make, session):
    deep = make.sku(price_fen=10000, township_id=9)  # 平安乡, a former deep-poverty township
    make.stock(shop.counter, deep, 5)
    add_to_cart(client, shop.buyer_headers, deep, shop.counter, 1)
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 2)
    order = checkout(client, shop.buyer_headers).json
    client.post(f"/api/v1/orders/{order['id']}/payments", headers=shop.buyer_headers, json={"gateway": "offline"})
    payment = client.get(f"/api/v1/orders/{order['id']}/payments", headers=shop.buyer_headers).json["items"][0]
    client.post(f"/api/v1/payments/{payment['id']}/confirm", headers=admin_headers(make), json={"reference": "T1"})
    client.post(f"/api/v1/orders/{order['id']}/ready", headers=shop.operator_headers)
    code = client.get(f"/api/v1/orders/{order['id']}", headers=shop.buyer_headers).json["pickup_code"]
    done = client.post(f"/api/v1/orders/{order['id']}/pickup", headers=shop.operator_headers, json={"code": code})
    # ¥200 at 1 point per yuan (minus the 满减 share), ¥100 from the deep-poverty township at 2 per yuan
    lines = {line["sku_id"]: line["total_fen"] for line in done.json["lines"]}
    assert done.json["points_earned"] == lines[shop.sku.id] // 100 + lines[deep.id] // 100 * 2


def test_the_expire_command(app, client, shop, session):
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1)
    order = checkout(client, shop.buyer_headers).json
    runner = app.test_cli_runner()
    assert "expired 0" in runner.invoke(args=["orders", "expire"]).output
    with clock.frozen_at(clock.now() + timedelta(minutes=31)):
        assert "expired 1" in runner.invoke(args=["orders", "expire"]).output
    assert client.get(f"/api/v1/orders/{order['id']}", headers=shop.buyer_headers).json["status"] == "cancelled"
    assert level(session, shop.counter, shop.sku) == (10, 0)


def test_pickup_code_in_lists_only_for_its_buyer(client, shop, session):
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, 1)
    order = checkout(client, shop.buyer_headers).json
    client.post(f"/api/v1/orders/{order['id']}/payments", headers=shop.buyer_headers, json={"gateway": "points"})
    mine = client.get("/api/v1/orders", headers=shop.buyer_headers).json["items"]
    assert [o["id"] for o in mine] == [order["id"]] and len(mine[0]["pickup_code"]) == 6
    theirs = client.get("/api/v1/operator/orders", headers=shop.operator_headers).json["items"]
    assert order["id"] in [o["id"] for o in theirs]
    assert all(o["pickup_code"] is None for o in theirs)
    ready = client.post(f"/api/v1/orders/{order['id']}/ready", headers=shop.operator_headers)
    assert ready.status_code == 200 and ready.json["pickup_code"] is None

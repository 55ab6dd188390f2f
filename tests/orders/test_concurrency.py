"""Parallel checkouts on PostgreSQL with real commits: stock, rush-sale caps, a single-use coupon and
a points balance each hold exactly, and the ledgers agree with the balances afterwards."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import sqlalchemy as sa

from shop import clock
from shop.db import transaction
from shop.inventory import ledger
from shop.inventory.models import StockLevel
from shop.orders.models import Order, OrderStatus
from shop.points import service as points
from tests.orders.conftest import checkout_all, committed_shop


def _levels(factory, location_id, sku_id):
    with transaction(factory) as session:
        on_hand, reserved = session.execute(
            sa.select(StockLevel.on_hand, StockLevel.reserved).where(
                StockLevel.location_id == location_id, StockLevel.sku_id == sku_id
            )
        ).one()
        assert ledger.check_balances(session) == []
        assert points.check(session) == []
        return on_hand, reserved


def test_the_last_units_go_to_exactly_as_many_buyers(committed_app):
    factory, location_id, sku_id, _, tokens = committed_shop(committed_app, stock=5, buyers=16)
    responses = checkout_all(committed_app, tokens)
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 5, statuses
    assert {r.json["error"]["code"] for r in responses if r.status_code != 201} == {"out_of_stock"}
    assert _levels(factory, location_id, sku_id) == (5, 5)


def test_rush_sale_cap_and_per_buyer_cap_hold_through_checkout(committed_app):
    factory, location_id, sku_id, _, tokens = committed_shop(
        committed_app,
        stock=50,
        buyers=10,
        balance=1000,
        rush={"points_price": 100, "quantity_cap": 6, "per_buyer_cap": 1},
    )
    # every buyer tries twice at once: the cart line is consumed by the first success
    responses = checkout_all(committed_app, tokens, repeat=2)
    assert [r.status_code for r in responses].count(201) == 6
    with transaction(factory) as session:
        buyers = session.scalars(sa.select(Order.buyer_id)).all()
        assert len(buyers) == 6 and len(set(buyers)) == 6
    # points only, no cash: paid at checkout, so the six units are sold
    assert _levels(factory, location_id, sku_id) == (44, 0)


def test_a_single_use_coupon_is_used_once(committed_app):
    factory, location_id, sku_id, _, tokens = committed_shop(
        committed_app, stock=50, buyers=10, coupon={"total_uses": 1, "per_buyer_uses": 1}
    )
    responses = checkout_all(committed_app, tokens, body={"coupon_code": "ONCE"})
    assert [r.status_code for r in responses].count(201) == 1
    assert _levels(factory, location_id, sku_id) == (50, 1)


def test_a_points_balance_is_never_overspent(committed_app):
    factory, location_id, sku_id, users, tokens = committed_shop(committed_app, stock=50, buyers=1, balance=1000)
    token = tokens[0]
    # the same buyer checks out the same cart and pays with points from many requests at once
    responses = checkout_all(committed_app, [token], body={"points": 500}, repeat=6)
    created = [r.json["id"] for r in responses if r.status_code == 201]
    assert len(created) == 1  # one cart, one order

    def pay(order_id):
        client = committed_app.test_client()
        return client.post(
            f"/api/v1/orders/{order_id}/payments",
            json={"gateway": "points"},
            headers={"Authorization": f"Bearer {token}"},
        ).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(pay, created * 6))
    assert statuses.count(201) == 1
    with transaction(factory) as session:
        assert points.balance(session, users[0]) == 0  # 500 redeemed + 500 paid
        assert session.scalar(sa.select(Order.status)) == OrderStatus.PAID
    assert _levels(factory, location_id, sku_id) == (49, 0)


def test_parallel_expiry_and_cancel_release_exactly_once(committed_app):
    factory, location_id, sku_id, users, tokens = committed_shop(committed_app, stock=20, buyers=4, balance=300)
    orders = [r.json["id"] for r in checkout_all(committed_app, tokens, body={"points": 300})]
    assert _levels(factory, location_id, sku_id) == (20, 4)

    from shop.orders import service

    later = clock.now() + timedelta(hours=1)

    def expire(_):
        with transaction(factory) as session:
            return service.expire_due(session, later)

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sum(pool.map(expire, range(8))) == len(orders)
    assert _levels(factory, location_id, sku_id) == (20, 0)
    with transaction(factory) as session:
        assert [points.balance(session, u) for u in users] == [300] * 4

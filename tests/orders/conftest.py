from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token

from shop import clock
from shop.auth.models import Role
from shop.db import transaction
from shop.orders import cart
from shop.orders.models import Fulfilment
from shop.points import service as points
from shop.points.models import PointsKind
from shop.promotions import service as offers
from tests.factories import Factory


@dataclass
class Shop:
    """A hall with a counter, an operator of the hall, a certified SKU in stock at the counter, a buyer."""

    hall: object
    counter: object
    operator: object
    sku: object
    buyer: object
    buyer_headers: dict
    operator_headers: dict


@pytest.fixture
def shop(make, session):
    hall = make.hall()
    counter = make.counter(hall)
    sku = make.sku(price_fen=5000)
    make.stock(counter, sku, 10)
    make.stock(hall, sku, 10)
    buyer = make.user()
    operator = make.operator(hall)
    points.post(session, buyer.id, 10_000, PointsKind.ADJUST, note="test")
    return Shop(hall, counter, operator, sku, buyer, make.headers(buyer), make.headers(operator))


def add_to_cart(client, headers, sku, location, quantity=1, fulfilment="pickup", **extra):
    response = client.post(
        "/api/v1/cart/lines",
        headers=headers,
        json={"sku_id": sku.id, "quantity": quantity, "fulfilment": fulfilment, "location_id": location.id, **extra},
    )
    assert response.status_code == 201, response.json
    return response.json


def admin_headers(make):
    return make.headers(make.user(Role.ADMIN))


def committed_shop(app, *, stock, buyers, balance=0, rush=None, coupon=None, quantity=1):
    """Commit a counter with stock and buyers with the SKU in their carts; return ids and tokens."""
    factory = app.extensions["shop"]["sessionmaker"]
    now = clock.now()
    with app.app_context(), transaction(factory) as session:
        make = Factory(app, session)
        counter = make.counter()
        sku = make.sku(price_fen=1000)
        make.stock(counter, sku, stock)
        rush_id = None
        if rush:
            rush_id = offers.create_rush_sale(
                session,
                make.admin,
                data={
                    "name": "r",
                    "sku_id": sku.id,
                    "cash_price_fen": 0,
                    "starts_at": now - timedelta(hours=1),
                    "ends_at": now + timedelta(hours=1),
                    **rush,
                },
            ).id
        if coupon:
            offers.create_coupon(
                session,
                make.admin,
                data={
                    "code": "ONCE",
                    "name": "once",
                    "kind": "fixed",
                    "value": 100,
                    "starts_at": now - timedelta(hours=1),
                    "ends_at": now + timedelta(hours=1),
                    **coupon,
                },
            )
        users = [make.user() for _ in range(buyers)]
        for user in users:
            if balance:
                points.post(session, user.id, balance, PointsKind.ADJUST)
            cart.add_line(
                session,
                user.id,
                data={
                    "sku_id": sku.id,
                    "quantity": quantity,
                    "location_id": counter.id,
                    "fulfilment": Fulfilment.PICKUP,
                    "rush_sale_id": rush_id,
                },
            )
        tokens = [create_access_token(identity=str(u.id)) for u in users]
        return factory, counter.id, sku.id, [u.id for u in users], tokens


def checkout_all(app, tokens, body=None, repeat=1):
    """Check out every token's cart in parallel threads, `repeat` times each."""

    def one(token):
        client = app.test_client()
        return client.post("/api/v1/orders", json=body or {}, headers={"Authorization": f"Bearer {token}"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, [t for t in tokens for _ in range(repeat)]))


def checkout(client, headers, key=None, **body):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/orders", headers={**headers, **extra}, json=body)


def paid_order(client, shop, quantity=2, location=None, fulfilment="pickup", **body):
    add_to_cart(client, shop.buyer_headers, shop.sku, location or shop.counter, quantity, fulfilment=fulfilment)
    order = checkout(client, shop.buyer_headers, **body).json
    client.post(f"/api/v1/orders/{order['id']}/payments", headers=shop.buyer_headers, json={"gateway": "points"})
    return client.get(f"/api/v1/orders/{order['id']}", headers=shop.buyer_headers).json

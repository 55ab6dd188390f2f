from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from shop.auth.models import Role
from shop.inventory.models import StockLevel
from shop.points import service as points
from shop.points.models import PointsKind


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


def level(session, location, sku) -> tuple[int, int]:
    row = session.execute(
        sa.select(StockLevel.on_hand, StockLevel.reserved)
        .where(StockLevel.location_id == location.id, StockLevel.sku_id == sku.id)
        .execution_options(populate_existing=True)
    ).one()
    return tuple(row)


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

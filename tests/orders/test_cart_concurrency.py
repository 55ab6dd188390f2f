"""Parallel adds of one SKU to one cart on PostgreSQL with real commits: one line, every unit counted."""

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from flask_jwt_extended import create_access_token

from shop.db import transaction
from shop.orders.models import CartLine
from tests.factories import Factory


def test_parallel_adds_of_the_same_sku_make_one_line_with_every_unit(committed_app):
    factory = committed_app.extensions["shop"]["sessionmaker"]
    with committed_app.app_context(), transaction(factory) as session:
        make = Factory(committed_app, session)
        counter = make.counter()
        sku = make.sku(price_fen=1000)
        make.stock(counter, sku, 100)
        buyer = make.user()
        token = create_access_token(identity=str(buyer.id))
    line = {"sku_id": sku.id, "quantity": 2, "location_id": counter.id, "fulfilment": "pickup"}

    def add(_):
        return committed_app.test_client().post(
            "/api/v1/cart/lines", json=line, headers={"Authorization": f"Bearer {token}"}
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(add, range(16)))
    assert {r.status_code for r in responses} == {201}
    assert {r.json["id"] for r in responses} == {responses[0].json["id"]}
    with transaction(factory) as session:
        lines = session.scalars(sa.select(CartLine).where(CartLine.user_id == buyer.id)).all()
        assert [(x.sku_id, x.quantity) for x in lines] == [(sku.id, 32)]

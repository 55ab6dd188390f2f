"""Parallel guessing of one pick-up code on PostgreSQL with real commits: exactly
PICKUP_MAX_ATTEMPTS guesses are counted, the rest are refused as locked, and so is the right code."""

from concurrent.futures import ThreadPoolExecutor

from shop.db import transaction
from shop.points import service as points
from shop.points.models import PointsKind
from tests.factories import Factory


def test_parallel_wrong_codes_cannot_pass_the_limit(committed_app):
    app = committed_app
    with app.app_context(), transaction(app.extensions["shop"]["sessionmaker"]) as session:
        make = Factory(app, session)
        hall = make.hall()
        counter = make.counter(hall)
        sku = make.sku(price_fen=1000)
        make.stock(counter, sku, 5)
        buyer = make.user()
        points.post(session, buyer.id, 10_000, PointsKind.ADJUST, note="test")
        buyer_headers, operator_headers = make.headers(buyer), make.headers(make.operator(hall))
        counter_id, sku_id = counter.id, sku.id

    client = app.test_client()
    line = {"sku_id": sku_id, "quantity": 1, "fulfilment": "pickup", "location_id": counter_id}
    assert client.post("/api/v1/cart/lines", headers=buyer_headers, json=line).status_code == 201
    order_id = client.post("/api/v1/orders", headers=buyer_headers, json={}).json["id"]
    paid = client.post(f"/api/v1/orders/{order_id}/payments", headers=buyer_headers, json={"gateway": "points"})
    assert paid.status_code == 201
    assert client.post(f"/api/v1/orders/{order_id}/ready", headers=operator_headers).status_code == 200
    code = client.get(f"/api/v1/orders/{order_id}", headers=buyer_headers).json["pickup_code"]
    wrong = [c for c in (f"{i:06d}" for i in range(41)) if c != code][:40]

    def guess(c):
        response = app.test_client().post(
            f"/api/v1/orders/{order_id}/pickup", headers=operator_headers, json={"code": c}
        )
        return response.status_code, response.json["error"]["code"]

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(guess, wrong))
    assert answers.count((409, "wrong_pickup_code")) == 5
    assert answers.count((409, "pickup_locked")) == 35

    shown = client.get(f"/api/v1/orders/{order_id}", headers=operator_headers).json
    assert shown["pickup_attempts"] == 5 and shown["pickup_locked_at"] is not None
    events = client.get(f"/api/v1/orders/{order_id}/events?size=100", headers=operator_headers).json["items"]
    assert len([e for e in events if e["note"].startswith("wrong pick-up code")]) == 5
    right = client.post(f"/api/v1/orders/{order_id}/pickup", headers=operator_headers, json={"code": code})
    assert right.status_code == 409 and right.json["error"]["code"] == "pickup_locked"

"""Supervision fixtures and helpers shared by its test modules."""

from __future__ import annotations

import sqlalchemy as sa

from shop.certification.models import Certification
from tests.orders.conftest import shop  # noqa: F401  (a hall, a counter, a certified SKU in stock, a buyer)

P = "/api/v1"


def cert_of(session, product) -> Certification:
    return session.scalar(
        sa.select(Certification).where(Certification.product_id == product.id).order_by(Certification.id.desc())
    )


def apply_body(product_id: int, base: str = "生产基地") -> dict:
    return {
        "product_id": product_id,
        "production_base": base,
        "expected_yearly_output": 1000,
        "output_unit": "kg",
        "households_benefiting": 3,
    }


def completed_order(client, shop, quantity=2):  # noqa: F811 (the fixture, passed in)
    """A pick-up order of the shop fixture's SKU, paid with points and handed over: completed."""
    from tests.orders.conftest import add_to_cart

    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, quantity)
    order = client.post(f"{P}/orders", headers=shop.buyer_headers, json={}).json
    paid = client.post(f"{P}/orders/{order['id']}/payments", headers=shop.buyer_headers, json={"gateway": "points"})
    assert paid.status_code == 201, paid.json
    code = client.get(f"{P}/orders/{order['id']}", headers=shop.buyer_headers).json["pickup_code"]
    assert client.post(f"{P}/orders/{order['id']}/ready", headers=shop.operator_headers).status_code == 200
    done = client.post(f"{P}/orders/{order['id']}/pickup", headers=shop.operator_headers, json={"code": code})
    assert done.status_code == 200 and done.json["status"] == "completed", done.json
    return done.json

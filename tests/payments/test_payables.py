"""The one payment flow (payments.payables) and the registry create_app builds: the same rules for a
shop order and a bulk order, gateways registered once."""

from __future__ import annotations

import pytest

from payments import payables
from payments.models import Payment
from payments.registry import Payments
from shop import clock
from shop.auth.models import Role
from shop.errors import InvalidInput
from shop.orders import service as orders
from shop.orders.models import Order
from shop.procurement import bulk_orders
from shop.settings import current as current_settings
from tests.orders.conftest import add_to_cart

P = "/api/v1/procurement"


def _order(client, shop, quantity=1):
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, quantity)
    response = client.post("/api/v1/orders", headers=shop.buyer_headers, json={})
    assert response.status_code == 201, response.json
    return response.json


def test_a_confirmed_transfer_of_a_shop_order_records_who_confirmed(client, session, shop, make):
    order = _order(client, shop)
    payment = client.post(
        f"/api/v1/orders/{order['id']}/payments", headers=shop.buyer_headers, json={"gateway": "offline"}
    ).json
    admin = make.user(Role.ADMIN)
    answer = client.post(
        f"/api/v1/payments/{payment['id']}/confirm", headers=make.headers(admin), json={"reference": "ICBC-1"}
    )
    assert answer.status_code == 200
    assert session.get(Payment, payment["id"]).confirmed_by_id == admin.id


def test_a_transfer_for_an_order_no_longer_payable_is_refused_the_same_way_for_both(client, shop, make, buyer_org):
    admin = make.headers(make.user(Role.ADMIN))
    order = _order(client, shop)
    payment = client.post(
        f"/api/v1/orders/{order['id']}/payments", headers=shop.buyer_headers, json={"gateway": "offline"}
    ).json
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=shop.buyer_headers).status_code == 200
    answer = client.post(f"/api/v1/payments/{payment['id']}/confirm", headers=admin, json={"reference": "r"})
    assert (answer.status_code, answer.json["error"]["code"]) == (409, "not_payable")
    assert answer.json["error"]["details"]["status"] == "cancelled"

    o = buyer_org
    bulk = client.post(
        f"{P}/organisations/{o.org.id}/bulk-orders",
        headers=o.headers["purchaser"],
        json={"title": "t", "supply_location_id": o.hall.id},
    ).json
    lines = [{"sku_code": o.sku.code, "quantity": 1, "delivery_address": "x"}]
    client.post(f"{P}/bulk-orders/{bulk['id']}/lines", headers=o.headers["purchaser"], json={"lines": lines})
    client.post(f"{P}/bulk-orders/{bulk['id']}/submit", headers=o.headers["purchaser"])
    client.post(f"{P}/bulk-orders/{bulk['id']}/approve", headers=o.headers["approver"], json={})
    paying = client.post(
        f"{P}/bulk-orders/{bulk['id']}/payments", headers=o.headers["finance"], json={"gateway": "offline"}
    ).json
    client.post(f"{P}/bulk-orders/{bulk['id']}/cancel", headers=o.headers["approver"], json={"reason": "no"})
    answer = client.post(
        f"{P}/bulk-orders/{bulk['id']}/payments/{paying['id']}/confirm",
        headers=o.headers["finance"],
        json={"reference": "r"},
    )
    assert (answer.status_code, answer.json["error"]["code"]) == (409, "not_payable")
    assert answer.json["error"]["details"]["status"] == "cancelled"


def test_the_app_registers_every_gateway_and_payable_once(app, client, session, shop):
    with app.app_context():
        settings = current_settings()
    registry = settings.payments
    assert registry is app.extensions["payments"]
    assert set(registry.gateway_names) == {"points", "offline", "stripe", "voucher"}
    assert settings.orders.payments is registry and settings.procurement.payments is registry
    order = _order(client, shop)
    payment = client.post(
        f"/api/v1/orders/{order['id']}/payments", headers=shop.buyer_headers, json={"gateway": "offline"}
    ).json
    payable = registry.resolve(session, session.get(Payment, payment["id"]))
    assert isinstance(payable, orders.OrderPayable) and payable.order is session.get(Order, order["id"])


def test_a_script_builds_its_own_registry_without_the_app():
    registry = Payments()
    assert set(registry.gateway_names) == {"points", "offline", "stripe"}
    with pytest.raises(InvalidInput):
        registry.gateway("voucher")
    with pytest.raises(InvalidInput):
        registry.gateway("stripe", allowed=bulk_orders.BULK_GATEWAYS[:1])
    with pytest.raises(ValueError):
        registry.register_payable("booking_id", lambda session, booking_id: None)


def test_gateway_keys_name_the_payable_kind_and_attempt():
    order = Order(id=7, created_at=clock.now())
    key = payables.gateway_key(orders.OrderPayable(order), 2)
    assert key.startswith("order-7-") and key.endswith("-attempt-2")

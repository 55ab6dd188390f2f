"""Sales in every channel, made through the API, for the statistics tests."""

import sqlalchemy as sa

from shop.statistics.models import SalesFact
from tests.orders.conftest import paid_order, shop  # noqa: F401  (a buyer, a counter with a certified SKU)
from tests.procurement.conftest import P, add_lines, buyer_org, new_order, voucher_order  # noqa: F401


def facts(session, **where) -> list[SalesFact]:
    stmt = sa.select(SalesFact).order_by(SalesFact.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(SalesFact, name) == value)
    return list(session.scalars(stmt.execution_options(populate_existing=True)))


def picked_up_order(client, shop, quantity=2):  # noqa: F811
    order = paid_order(client, shop, quantity=quantity)
    client.post(f"/api/v1/orders/{order['id']}/ready", headers=shop.operator_headers)
    done = client.post(
        f"/api/v1/orders/{order['id']}/pickup", headers=shop.operator_headers, json={"code": order["pickup_code"]}
    )
    assert done.status_code == 200, done.json
    return done.json


def received_bulk_order(client, o, lines):
    order = new_order(client, o)
    assert add_lines(client, o, order["id"], lines).status_code == 200
    assert client.post(f"{P}/bulk-orders/{order['id']}/submit", headers=o.headers["purchaser"]).status_code == 200
    assert (
        client.post(f"{P}/bulk-orders/{order['id']}/approve", headers=o.headers["approver"], json={}).status_code == 200
    )
    payment = client.post(f"{P}/bulk-orders/{order['id']}/payments", headers=o.headers["finance"], json={}).json
    confirmed = client.post(
        f"{P}/bulk-orders/{order['id']}/payments/{payment['id']}/confirm",
        headers=o.headers["finance"],
        json={"reference": "BANK-1"},
    )
    assert confirmed.status_code == 200, confirmed.json
    assert (
        client.post(f"{P}/bulk-orders/{order['id']}/fulfil", headers=o.headers["operator"], json={}).status_code == 200
    )
    received = client.post(f"{P}/bulk-orders/{order['id']}/receive", headers=o.headers["purchaser"], json={})
    assert received.status_code == 200, received.json
    return received.json

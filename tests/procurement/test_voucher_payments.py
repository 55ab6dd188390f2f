"""A value voucher pays a shop order: the whole total at once or not at all, recorded against the
order; a refund gives the value back (after expiry: the organisation's return rule)."""

from datetime import timedelta

import sqlalchemy as sa

from shop import clock
from shop.procurement import budgets
from shop.procurement.models import Voucher, VoucherRedemption
from tests.orders.conftest import add_to_cart, admin_headers
from tests.procurement.conftest import P, budget_of, voucher_order


def _order(client, shop, quantity=1):
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, quantity)
    response = client.post("/api/v1/orders", headers=shop.buyer_headers, json={})
    assert response.status_code == 201, response.json
    return response.json


def _pay(client, shop, order_id, code, **extra):
    return client.post(
        f"/api/v1/orders/{order_id}/payments",
        headers=shop.buyer_headers,
        json={"gateway": "voucher", "voucher_code": code, **extra},
    )


def _status(client, shop, order_id):
    return client.get(f"/api/v1/orders/{order_id}", headers=shop.buyer_headers).json["status"]


def _refund_all(client, make, order):
    lines = [{"line_id": line["id"], "quantity": line["quantity"]} for line in order["lines"]]
    return client.post(
        f"/api/v1/orders/{order['id']}/refunds", headers=admin_headers(make), json={"lines": lines, "reason": "r"}
    )


def _voucher(session, voucher_id):
    return session.get(Voucher, voucher_id, populate_existing=True)


def test_a_value_voucher_pays_the_whole_order_or_says_what_it_holds(client, session, make, buyer_org, shop):
    _, [item] = voucher_order(client, buyer_org, [{"voucher_value_fen": 8_000, "quantity": 1}])
    first = _order(client, shop)  # 5000 fen
    paid = _pay(client, shop, first["id"], item["qr_payload"])
    assert paid.status_code == 201, paid.json
    assert (paid.json["gateway"], paid.json["status"], paid.json["amount_fen"]) == ("voucher", "succeeded", 5_000)
    assert _status(client, shop, first["id"]) == "paid"
    assert _voucher(session, item["voucher"]["id"]).remaining_fen == 3_000
    voucher_id = item["voucher"]["id"]
    redemptions = client.get(f"{P}/vouchers/{voucher_id}/redemptions", headers=buyer_org.headers["purchaser"]).json
    [taken] = redemptions["items"]
    assert (taken["amount_fen"], taken["order_id"], taken["remaining_after_fen"]) == (5_000, first["id"], 3_000)

    second = _order(client, shop)
    short = _pay(client, shop, second["id"], item["code"])
    assert short.status_code == 409 and short.json["error"]["code"] == "voucher_not_redeemable"
    assert short.json["error"]["details"]["remaining_fen"] == 3_000
    assert _status(client, shop, second["id"]) == "pending_payment"
    assert _voucher(session, item["voucher"]["id"]).remaining_fen == 3_000

    unknown = _pay(client, shop, second["id"], "0000-0000-0000-0000")
    assert unknown.status_code == 404
    no_code = client.post(
        f"/api/v1/orders/{second['id']}/payments", headers=shop.buyer_headers, json={"gateway": "voucher"}
    )
    assert no_code.status_code == 422 and "voucher_code" in no_code.json["error"]["details"]["fields"]
    stray = client.post(
        f"/api/v1/orders/{second['id']}/payments",
        headers=shop.buyer_headers,
        json={"gateway": "points", "voucher_code": item["code"]},
    )
    assert stray.status_code == 422


def test_a_refund_gives_the_value_back_to_the_voucher(client, session, make, buyer_org, shop):
    _, [item] = voucher_order(client, buyer_org, [{"voucher_value_fen": 5_000, "quantity": 1}])
    order = _order(client, shop)
    assert _pay(client, shop, order["id"], item["code"]).status_code == 201
    assert _voucher(session, item["voucher"]["id"]).status.value == "redeemed"
    refund = _refund_all(client, make, order)
    assert refund.status_code == 201, refund.json
    voucher = _voucher(session, item["voucher"]["id"])
    assert (voucher.status.value, voucher.remaining_fen) == ("active", 5_000)
    rows = session.scalars(
        sa.select(VoucherRedemption.amount_fen)
        .where(VoucherRedemption.voucher_id == item["voucher"]["id"])
        .order_by(VoucherRedemption.id)
    ).all()
    assert rows == [5_000, -5_000]
    # the value is whole again: it pays another order
    again = _order(client, shop)
    assert _pay(client, shop, again["id"], item["code"]).status_code == 201


def test_a_refund_after_the_voucher_expired_follows_the_return_rule(client, session, make, buyer_org, shop):
    _, [item] = voucher_order(client, buyer_org, [{"voucher_value_fen": 5_000, "quantity": 1}], days=1)
    order = _order(client, shop)
    assert _pay(client, shop, order["id"], item["code"]).status_code == 201
    spent = budget_of(client, buyer_org)["spent_fen"]
    with clock.frozen_at(clock.now() + timedelta(days=2)):
        refund = _refund_all(client, make, order)
    assert refund.status_code == 201, refund.json
    voucher = _voucher(session, item["voucher"]["id"])
    assert (voucher.status.value, voucher.returned_fen) == ("expired", 5_000)
    assert budget_of(client, buyer_org)["spent_fen"] == spent - 5_000  # back to the budget (the org's rule)
    assert budgets.check(session) == []


def test_a_gift_box_voucher_does_not_pay_orders(client, buyer_org, shop):
    _, [item] = voucher_order(client, buyer_org, [{"sku_code": buyer_org.sku.code, "quantity": 1}])
    order = _order(client, shop)
    refused = _pay(client, shop, order["id"], item["code"])
    assert refused.status_code == 409 and refused.json["error"]["code"] == "voucher_not_redeemable"

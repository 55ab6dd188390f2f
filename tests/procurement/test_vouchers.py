"""Pickup vouchers: bought through a voucher order, codes kept only as hashes, redeemed online or at a
counter, in parts for value vouchers, never twice, and returned to the budget at expiry."""

from datetime import timedelta

import sqlalchemy as sa

from shop import clock
from shop.procurement import budgets, vouchers
from shop.procurement.models import Voucher
from tests.factories import level
from tests.procurement.conftest import P, budget_of, voucher_order


def test_vouchers_are_issued_at_payment_with_unguessable_hashed_codes(client, session, buyer_org):
    o = buyer_org
    order, items = voucher_order(
        client, o, [{"voucher_value_fen": 30_000, "quantity": 3, "recipient": "张三", "department": "工会办"}]
    )
    assert len(items) == 3
    assert client.get(f"{P}/bulk-orders/{order['id']}", headers=o.headers["purchaser"]).json["status"] == "fulfilled"
    codes = [i["code"] for i in items]
    assert len(set(codes)) == 3 and all(len(c) == 19 for c in codes)  # 16 characters in groups of four
    assert all(i["qr_payload"] == "cqxf-voucher:1:" + i["code"].replace("-", "") for i in items)
    stored = session.scalars(sa.select(Voucher).where(Voucher.bulk_order_id == order["id"])).all()
    for voucher in stored:
        row = {c.name: str(getattr(voucher, c.name)) for c in Voucher.__table__.columns}
        assert not any(code.replace("-", "") in value for code in codes for value in row.values())
        assert voucher.code_prefix == voucher.code_prefix.upper() and len(voucher.code_prefix) == 4
    # another secret derives other codes: the database alone does not give them away
    assert vouchers.derive_code("another-secret", stored[0].nonce) not in [c.replace("-", "") for c in codes]
    budget = budget_of(client, o)
    assert budget["spent_fen"] == 90_000


def test_value_vouchers_redeem_in_parts_online_and_at_the_counter(client, make, session, buyer_org):
    o = buyer_org
    _, items = voucher_order(client, o, [{"voucher_value_fen": 30_000, "quantity": 1}])
    code = items[0]["code"]
    member = make.headers(make.user())
    check = client.post(f"{P}/vouchers/check", headers=member, json={"code": code.lower()})
    assert check.status_code == 200 and check.json["remaining_fen"] == 30_000
    first = client.post(f"{P}/vouchers/redeem", headers=member, json={"code": code, "amount_fen": 10_000})
    assert first.status_code == 201 and first.json["remaining_after_fen"] == 20_000
    # the operator of the counter scans the QR payload
    scan = items[0]["qr_payload"]
    other_operator = make.headers(make.operator(make.hall()))
    refused = client.post(
        f"{P}/operator/vouchers/redeem",
        headers=other_operator,
        json={"code": scan, "location_id": o.counter.id, "lines": [{"sku_id": o.sku.id, "quantity": 1}]},
    )
    assert refused.status_code == 404
    second = client.post(
        f"{P}/operator/vouchers/redeem",
        headers=o.headers["operator"],
        json={"code": scan, "location_id": o.counter.id, "lines": [{"sku_id": o.sku.id, "quantity": 2}]},
    )
    assert second.status_code == 201 and second.json["channel"] == "counter"
    assert second.json["amount_fen"] == 20_000 and level(session, o.counter, o.sku) == (8, 0)
    again = client.post(f"{P}/vouchers/redeem", headers=member, json={"code": code, "amount_fen": 1})
    assert again.status_code == 409 and again.json["error"]["code"] == "voucher_not_redeemable"
    assert again.json["error"]["details"]["status"] == "redeemed"
    unknown = client.post(f"{P}/vouchers/redeem", headers=member, json={"code": "AAAA-BBBB-CCCC-DDDD", "amount_fen": 1})
    assert unknown.status_code == 404
    history = client.get(f"{P}/vouchers/{items[0]['voucher']['id']}/redemptions", headers=o.headers["purchaser"]).json
    assert [r["amount_fen"] for r in history["items"]] == [10_000, 20_000]
    assert client.get(f"{P}/vouchers/{items[0]['voucher']['id']}/redemptions", headers=member).status_code == 404


def test_gift_box_voucher_is_handed_over_once_from_counter_stock(client, session, buyer_org):
    o = buyer_org
    _, items = voucher_order(client, o, [{"sku_code": o.sku.code, "quantity": 2}])
    assert {i["voucher"]["gift_sku_id"] for i in items} == {o.sku.id}
    assert {i["voucher"]["value_fen"] for i in items} == {10_000}
    body = {"code": items[0]["code"], "location_id": o.counter.id}
    first = client.post(f"{P}/operator/vouchers/redeem", headers=o.headers["operator"], json=body)
    assert first.status_code == 201, first.json
    assert level(session, o.counter, o.sku) == (9, 0)
    second = client.post(f"{P}/operator/vouchers/redeem", headers=o.headers["operator"], json=body)
    assert second.status_code == 409
    assert level(session, o.counter, o.sku) == (9, 0)
    online = client.post(f"{P}/vouchers/redeem", headers=o.headers["purchaser"], json={"code": items[1]["code"]})
    assert online.status_code == 422  # shipping needs the hall and an address
    shipped = client.post(
        f"{P}/vouchers/redeem",
        headers=o.headers["purchaser"],
        json={"code": items[1]["code"], "location_id": o.hall.id, "delivery_address": "渝中区 1号"},
    )
    assert shipped.status_code == 201
    assert level(session, o.hall, o.sku) == (999, 0)


def test_unredeemed_value_returns_to_the_budget_at_expiry_once(client, session, buyer_org):
    o = buyer_org
    _, items = voucher_order(client, o, [{"voucher_value_fen": 30_000, "quantity": 2}], days=10)
    client.post(
        f"{P}/vouchers/redeem", headers=o.headers["purchaser"], json={"code": items[0]["code"], "amount_fen": 5_000}
    )
    spent = budget_of(client, o)["spent_fen"]
    later = clock.now() + timedelta(days=11)
    with clock.frozen_at(later):
        assert vouchers.expire_due(session, later) == 2
        assert vouchers.expire_due(session, later) == 0
        late = client.post(
            f"{P}/vouchers/redeem", headers=o.headers["purchaser"], json={"code": items[1]["code"], "amount_fen": 1}
        )
        assert late.status_code == 409 and late.json["error"]["details"]["status"] == "expired"
    budget = budget_of(client, o)
    assert budget["spent_fen"] == spent - 25_000 - 30_000
    report = client.get(
        f"{P}/organisations/{o.org.id}/report?year={items[0]['voucher']['expires_at'][:4]}",
        headers=o.headers["finance"],
    ).json
    assert report["vouchers_returned_fen"] == 55_000 and report["vouchers_redeemed_fen"] == 5_000
    assert budgets.check(session) == []


def test_no_return_when_the_organisation_keeps_expired_value(client, session, buyer_org):
    o = buyer_org
    client.patch(
        f"{P}/organisations/{o.org.id}", headers=o.headers["approver"], json={"return_unredeemed_vouchers": False}
    )
    voucher_order(client, o, [{"voucher_value_fen": 30_000, "quantity": 1}], days=1)
    spent = budget_of(client, o)["spent_fen"]
    later = clock.now() + timedelta(days=2)
    assert vouchers.expire_due(session, later) == 1
    assert budget_of(client, o)["spent_fen"] == spent


def test_cli_expires_vouchers_and_checks_budgets(app, client, session, buyer_org):
    o = buyer_org
    voucher_order(client, o, [{"voucher_value_fen": 20_000, "quantity": 2}], days=1)
    runner = app.test_cli_runner()
    checked = runner.invoke(args=["procurement", "check"])
    assert checked.exit_code == 0 and "agree" in checked.output
    with clock.frozen_at(clock.now() + timedelta(days=2)):
        expired = runner.invoke(args=["procurement", "expire-vouchers"])
    assert expired.exit_code == 0 and "expired 2 vouchers" in expired.output
    assert budget_of(client, o)["spent_fen"] == 0

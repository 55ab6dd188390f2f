"""One sales fact per sale in every channel, written in the sale's transaction; the check command
proves the facts agree with their sources and finds a planted difference; backfill fills the gaps."""

import random

import pytest
import sqlalchemy as sa

from shop import clock
from shop.inventory import movements as inventory
from shop.points import service as points
from shop.points.models import PointsKind
from shop.statistics import facts as statistics
from shop.statistics.models import SalesFact
from tests.factories import level
from tests.orders.conftest import Shop, paid_order
from tests.statistics.conftest import P, facts, picked_up_order, received_bulk_order, voucher_order

KEY = "X-Counter-Key"


def test_a_completed_shop_order_is_a_fact_and_a_later_refund_a_negative_one(client, session, shop, make):
    order = picked_up_order(client, shop, quantity=2)
    line = order["lines"][0]
    [fact] = facts(session, channel="online")
    assert (fact.quantity, fact.amount_fen) == (2, line["total_fen"])
    assert (fact.product_id, fact.location_id, fact.buyer_type.value) == (
        shop.sku.product_id,
        shop.counter.id,
        "individual",
    )
    assert fact.eligible and fact.origin_district_id == shop.sku.product.origin_district_id
    refund = client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        headers=shop.operator_headers,
        json={"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "bad"},
    )
    assert refund.status_code == 201, refund.json
    rows = facts(session, channel="online")
    assert [(f.quantity, f.amount_fen) for f in rows] == [(2, line["total_fen"]), (-1, -refund.json["amount_fen"])]
    assert statistics.check(session) == []


def test_a_refund_before_completion_lowers_what_the_completion_counts(client, session, shop):
    order = paid_order(client, shop, quantity=2)
    line = order["lines"][0]
    refund = client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        headers=shop.operator_headers,
        json={"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "one broken"},
    ).json
    assert facts(session) == []
    client.post(f"/api/v1/orders/{order['id']}/ready", headers=shop.operator_headers)
    done = client.post(
        f"/api/v1/orders/{order['id']}/pickup", headers=shop.operator_headers, json={"code": order["pickup_code"]}
    )
    assert done.status_code == 200, done.json
    [fact] = facts(session)
    assert (fact.quantity, fact.amount_fen) == (1, line["total_fen"] - refund["amount_fen"])
    assert statistics.check(session) == []


def test_staffed_and_smart_counter_sales_are_facts_of_their_channel(client, session, shop, make):
    sold = client.post(
        f"/api/v1/locations/{shop.hall.id}/sales",
        headers=shop.operator_headers,
        json={"lines": [{"sku_id": shop.sku.id, "quantity": 2}]},
    )
    assert sold.status_code == 201, sold.json
    key = make.counter_key(shop.counter)
    body = {
        "event_id": "cab-1",
        "occurred_at": clock.now().isoformat(),
        "items": [{"sku_id": shop.sku.id, "quantity": 1}],
    }
    session_sale = client.post(f"/api/v1/counters/{shop.counter.id}/sales", json=body, headers={KEY: key})
    assert session_sale.status_code == 201, session_sale.json
    replay = client.post(f"/api/v1/counters/{shop.counter.id}/sales", json=body, headers={KEY: key})
    assert replay.status_code == 200
    rows = facts(session)
    assert [(f.channel.value, f.quantity, f.amount_fen, f.location_id) for f in rows] == [
        ("hall", 2, 2 * 5000, shop.hall.id),
        ("counter", 1, 5000, shop.counter.id),
    ]
    assert statistics.check(session) == []


def test_bulk_goods_count_when_received_under_the_organisation(client, session, buyer_org):
    o = buyer_org
    order = received_bulk_order(
        client, o, [{"sku_code": o.sku.code, "quantity": 4, "pickup_location_id": o.counter.id}]
    )
    [fact] = facts(session, channel="bulk")
    assert (fact.quantity, fact.amount_fen, fact.organisation_id) == (4, order["total_fen"], o.org.id)
    assert fact.buyer_type.value == "union" and fact.location_id == o.counter.id
    assert statistics.check(session) == []


def test_redeeming_value_at_a_counter_records_the_skus_taken_and_moves_stock(client, session, buyer_org):
    o = buyer_org
    _, items = voucher_order(client, o, [{"voucher_value_fen": 30_000, "quantity": 1}])
    assert facts(session) == []  # vouchers count when redeemed
    redeemed = client.post(
        f"{P}/operator/vouchers/redeem",
        headers=o.headers["operator"],
        json={"code": items[0]["code"], "location_id": o.counter.id, "lines": [{"sku_id": o.sku.id, "quantity": 2}]},
    )
    assert redeemed.status_code == 201, redeemed.json
    assert redeemed.json["amount_fen"] == 20_000 and redeemed.json["remaining_after_fen"] == 10_000
    assert level(session, o.counter, o.sku) == (8, 0)
    [fact] = facts(session)
    assert (fact.channel.value, fact.sku_id, fact.quantity, fact.amount_fen) == ("voucher", o.sku.id, 2, 20_000)
    assert fact.organisation_id == o.org.id
    no_goods = client.post(
        f"{P}/operator/vouchers/redeem",
        headers=o.headers["operator"],
        json={"code": items[0]["code"], "location_id": o.counter.id, "amount_fen": 100},
    )
    assert no_goods.status_code == 422
    assert statistics.check(session) == []


def test_check_finds_a_planted_difference_and_backfill_fills_a_missing_fact(app, client, session, shop):
    runner = app.test_cli_runner()
    inventory.sell(
        session, shop.hall.id, [{"sku_id": shop.sku.id, "quantity": 1}], now=clock.now(), counts_as_sale=False
    )
    [missing] = statistics.check(session)
    assert (missing.source, missing.expected_quantity, missing.facts_quantity) == ("movement", 1, 0)
    assert statistics.backfill(session) == {"movement": 1}
    assert statistics.backfill(session) == {}
    assert statistics.check(session) == []
    session.execute(
        sa.insert(SalesFact).values(
            source_key="movement:999999999",
            occurred_at=clock.now(),
            day=clock.now().date(),
            year=2026,
            quarter=4,
            month=12,
            channel="hall",
            buyer_type="individual",
            quantity=1,
            amount_fen=100,
        )
    )
    session.flush()
    checked = runner.invoke(args=["statistics", "check"])
    assert checked.exit_code == 1 and "movement 999999999" in checked.output


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_facts_agree_with_sources_after_a_random_mix_of_sales(client, session, make, buyer_org, seed):
    o = buyer_org
    rng = random.Random(seed)
    buyer = make.user()
    shop = Shop(o.hall, o.counter, make.operator(o.hall), o.sku, buyer, make.headers(buyer), o.headers["operator"])
    key = make.counter_key(o.counter)
    make.stock(o.counter, o.sku, 200)
    expected = {"online": 0, "hall": 0, "counter": 0, "bulk": 0, "voucher": 0}
    _, vouchers = voucher_order(client, o, [{"voucher_value_fen": 50_000, "quantity": 3}])
    completed = []
    for step in range(8):
        action = rng.choice(["order", "refund", "hall", "cabinet", "bulk", "redeem"])
        if action == "refund" and not completed:
            action = "order"
        if action == "order":
            points.post(session, buyer.id, 100_000, PointsKind.ADJUST, note="test")
            order = picked_up_order(client, shop, quantity=rng.randint(1, 3))
            completed.append(order)
            expected["online"] += order["lines"][0]["total_fen"]
        elif action == "refund":
            order = completed.pop()
            line = order["lines"][0]
            refund = client.post(
                f"/api/v1/orders/{order['id']}/refunds",
                headers=shop.operator_headers,
                json={"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "x"},
            )
            assert refund.status_code == 201, refund.json
            expected["online"] -= refund.json["amount_fen"]
        elif action == "hall":
            n = rng.randint(1, 4)
            assert (
                client.post(
                    f"/api/v1/locations/{o.hall.id}/sales",
                    headers=shop.operator_headers,
                    json={"lines": [{"sku_id": o.sku.id, "quantity": n}]},
                ).status_code
                == 201
            )
            expected["hall"] += n * 10_000
        elif action == "cabinet":
            n = rng.randint(1, 3)
            sold = client.post(
                f"/api/v1/counters/{o.counter.id}/sales",
                json={
                    "event_id": f"s{seed}-{step}",
                    "occurred_at": clock.now().isoformat(),
                    "items": [{"sku_id": o.sku.id, "quantity": n}],
                },
                headers={KEY: key},
            )
            assert sold.status_code == 201, sold.json
            expected["counter"] += n * 10_000
        elif action == "bulk":
            n = rng.randint(1, 5)
            order = received_bulk_order(
                client, o, [{"sku_code": o.sku.code, "quantity": n, "delivery_address": "解放碑 8号"}]
            )
            expected["bulk"] += order["total_fen"]
        else:
            voucher = rng.choice(vouchers)
            redeemed = client.post(
                f"{P}/operator/vouchers/redeem",
                headers=o.headers["operator"],
                json={
                    "code": voucher["code"],
                    "location_id": o.counter.id,
                    "lines": [{"sku_id": o.sku.id, "quantity": 1}],
                },
            )
            if redeemed.status_code == 201:
                expected["voucher"] += redeemed.json["amount_fen"]
    got = dict(
        session.execute(
            sa.select(SalesFact.channel, sa.func.sum(SalesFact.amount_fen)).group_by(SalesFact.channel)
        ).all()
    )
    assert {k: int(got.get(k, 0) or 0) for k in expected} == expected
    assert statistics.check(session) == []
    assert statistics.backfill(session) == {}

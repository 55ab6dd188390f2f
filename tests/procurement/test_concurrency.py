"""Parallel approvals against one budget and parallel redemptions of one voucher, on PostgreSQL with
real commits: the budget is never overspent and a code is never redeemed twice."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import sqlalchemy as sa
from flask_jwt_extended import create_access_token

from payments.models import Payment
from shop import clock
from shop.db import transaction
from shop.inventory import ledger
from shop.procurement import budgets, bulk_orders
from shop.procurement.bulk_orders import ProcurementSettings
from shop.procurement.models import Budget, BulkOrder, BulkOrderKind, BulkOrderStatus, VoucherRedemption
from tests.factories import Factory
from tests.orders.conftest import checkout_all, committed_shop
from tests.procurement.conftest import make_org

P = "/api/v1/procurement"


def _parallel(app, calls, workers=8):
    def one(call):
        method, url, token, body = call
        return getattr(app.test_client(), method)(url, json=body, headers={"Authorization": f"Bearer {token}"})

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, calls))


def _setup(app, *, orders: int, budget_fen: int, kind=BulkOrderKind.GOODS, quantity=1):
    """`orders` submitted orders of `quantity` units at 100 yuan each, against one budget."""
    factory = app.extensions["shop"]["sessionmaker"]
    now = clock.now()
    with app.app_context(), transaction(factory) as session:
        make = Factory(app, session)
        org, purchaser, approver, finance = make_org(make, session, headcount=1000, budget_fen=budget_fen)
        hall = make.hall()
        sku = make.sku(price_fen=10_000)
        make.stock(hall, sku, 1000)
        p_actor = make.actor(purchaser)
        ids = []
        for _ in range(orders):
            data = {"title": "t", "kind": kind, "supply_location_id": hall.id}
            if kind == BulkOrderKind.VOUCHERS:
                data["voucher_expires_at"] = now + timedelta(days=30)
            order = bulk_orders.create_bulk_order(session, p_actor, org.id, data=data, now=now)
            line = {"quantity": quantity}
            line.update(
                {"voucher_value_fen": 10_000}
                if kind == BulkOrderKind.VOUCHERS
                else {"sku_code": sku.code, "delivery_address": "x"}
            )
            bulk_orders.add_lines(session, p_actor, order.id, rows=[line], now=now)
            bulk_orders.submit(session, p_actor, order.id, now=now)
            ids.append(order.id)
        tokens = {
            who: create_access_token(identity=str(u.id)) for who, u in (("approver", approver), ("finance", finance))
        }
        return factory, org.id, ids, tokens, make.actor(approver), make.actor(finance), hall.id


def test_parallel_approvals_never_overspend_the_budget(committed_app):
    # 12 orders of 100 yuan, a budget of 500 yuan: exactly five approvals fit
    factory, org_id, ids, tokens, *_ = _setup(committed_app, orders=12, budget_fen=50_000)
    calls = [("post", f"{P}/bulk-orders/{i}/approve", tokens["approver"], {}) for i in ids]
    calls += [("post", f"{P}/bulk-orders/{i}/approve", tokens["approver"], {}) for i in ids[:4]]  # and twice some
    responses = _parallel(committed_app, calls)
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 5, statuses
    assert {r.json["error"]["code"] for r in responses if r.status_code != 200} <= {
        "insufficient_budget",
        "illegal_transition",
    }
    with transaction(factory) as session:
        budget = session.scalar(sa.select(Budget).where(Budget.organisation_id == org_id))
        assert (budget.available_fen, budget.committed_fen) == (0, 50_000)
        approved = session.scalar(
            sa.select(sa.func.count()).select_from(BulkOrder).where(BulkOrder.status == BulkOrderStatus.APPROVED)
        )
        assert approved == 5
        assert budgets.check(session) == []
        assert ledger.check_balances(session) == []


def test_parallel_redemptions_of_one_voucher_redeem_once(committed_app):
    factory, _org_id, ids, tokens, approver, finance, _hall = _setup(
        committed_app, orders=1, budget_fen=100_000, kind=BulkOrderKind.VOUCHERS
    )
    settings = ProcurementSettings(voucher_secret=committed_app.config["VOUCHER_CODE_SECRET"])
    now = clock.now()
    with committed_app.app_context(), transaction(factory) as session:
        bulk_orders.approve(session, approver, ids[0], note="", now=now)
        payment = bulk_orders.start_payment(session, finance, ids[0], gateway_name="offline", now=now)
        bulk_orders.confirm_payment(session, finance, ids[0], payment.id, reference="r", settings=settings, now=now)
    codes = (
        committed_app.test_client()
        .get(f"{P}/bulk-orders/{ids[0]}/vouchers", headers={"Authorization": f"Bearer {tokens['finance']}"})
        .json["items"]
    )
    code = codes[0]["code"]
    # ten holders of the same code try at once, each for 60 of its 100 yuan; then ten for 40
    calls = [("post", f"{P}/vouchers/redeem", tokens["finance"], {"code": code, "amount_fen": 6_000})] * 10
    responses = _parallel(committed_app, calls)
    assert [r.status_code for r in responses].count(201) == 1
    calls = [("post", f"{P}/vouchers/redeem", tokens["finance"], {"code": code, "amount_fen": 4_000})] * 10
    responses = _parallel(committed_app, calls)
    assert [r.status_code for r in responses].count(201) == 1
    with transaction(factory) as session:
        total = session.scalar(sa.select(sa.func.sum(VoucherRedemption.amount_fen)))
        assert total == 10_000
        assert session.scalar(sa.select(sa.func.count()).select_from(VoucherRedemption)) == 2


def test_parallel_payments_with_one_voucher_never_overspend_it(committed_app):
    from shop.procurement.models import Voucher

    factory, _org_id, ids, tokens, approver, finance, _hall = _setup(
        committed_app, orders=1, budget_fen=100_000, kind=BulkOrderKind.VOUCHERS
    )
    settings = ProcurementSettings(voucher_secret=committed_app.config["VOUCHER_CODE_SECRET"])
    now = clock.now()
    with committed_app.app_context(), transaction(factory) as session:
        bulk_orders.approve(session, approver, ids[0], note="", now=now)
        payment = bulk_orders.start_payment(session, finance, ids[0], gateway_name="offline", now=now)
        bulk_orders.confirm_payment(session, finance, ids[0], payment.id, reference="r", settings=settings, now=now)
    code = (
        committed_app.test_client()
        .get(f"{P}/bulk-orders/{ids[0]}/vouchers", headers={"Authorization": f"Bearer {tokens['finance']}"})
        .json["items"][0]["code"]
    )
    # ten buyers hold the same 100-yuan code; each has an order of 30 yuan: three can be paid
    _, _, _, _, buyer_tokens = committed_shop(committed_app, stock=50, buyers=10, quantity=3)
    orders = [r.json["id"] for r in checkout_all(committed_app, buyer_tokens)]
    assert len(orders) == 10
    calls = [
        ("post", f"/api/v1/orders/{order_id}/payments", token, {"gateway": "voucher", "voucher_code": code})
        for order_id, token in zip(orders, buyer_tokens, strict=True)
    ]
    responses = _parallel(committed_app, calls + calls[:3])  # and some twice
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 3, statuses
    assert {r.json["error"]["code"] for r in responses if r.status_code != 201} <= {
        "voucher_not_redeemable",
        "not_payable",
        "illegal_transition",
    }
    with transaction(factory) as session:
        voucher = session.scalar(sa.select(Voucher))
        assert (voucher.remaining_fen, voucher.status.value) == (1_000, "active")
        taken = session.scalars(sa.select(VoucherRedemption.amount_fen)).all()
        assert sorted(taken) == [3_000, 3_000, 3_000]
        paid = session.scalar(sa.select(sa.func.count()).select_from(Payment).where(Payment.gateway == "voucher"))
        assert paid == 3

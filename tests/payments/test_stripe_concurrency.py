"""Races that matter for money, proven on PostgreSQL with real commits: parallel requests to pay one
order start one PaymentIntent, and a webhook racing its own redeliveries and reconciliation pays the
order exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from payments import payables
from payments.models import Payment, PaymentEvent
from shop import clock
from shop.db import transaction
from shop.inventory import ledger
from shop.orders.models import OrderEvent, OrderStatus
from shop.settings import current as current_settings
from tests.payments.conftest import configured, live_level, pay_live, redeliver


@pytest.fixture
def live_pg(request, is_postgres):
    if not is_postgres:
        pytest.skip("concurrency is proven on PostgreSQL")
    return request.getfixturevalue("live")


def test_parallel_requests_to_pay_one_order_start_one_intent(live_pg, relay):
    live = live_pg
    buyer = live.buyer(price_fen=2500)
    plain, keyed = live.order(buyer), live.order(buyer)

    def pay(order_id, key=None):
        headers = {**buyer.headers, **({"Idempotency-Key": key} if key else {})}
        response = live.client().post(
            f"/api/v1/orders/{order_id}/payments", headers=headers, json={"gateway": "stripe"}
        )
        return response.status_code, response.json

    with configured(live.app, STRIPE_API_BASE=relay.url), ThreadPoolExecutor(max_workers=8) as pool:
        first = list(pool.map(lambda _: pay(plain["id"]), range(8)))
        second = list(pool.map(lambda _: pay(keyed["id"], "same-key"), range(8)))
    for answers, order in ((first, plain), (second, keyed)):
        assert {status for status, _ in answers} == {201}, answers
        assert len({body["id"] for _, body in answers}) == 1
        assert len({body["external_id"] for _, body in answers}) == 1
        assert all(body["client_secret"] for _, body in answers)
        with transaction(live.factory) as session:
            assert session.scalar(sa.select(sa.func.count()).where(Payment.order_id == order["id"])) == 1
    assert len(relay.creations()) == 2  # one intent per order, however many asked


def test_a_webhook_its_redeliveries_and_reconciliation_racing_pay_once(live_pg):
    live = live_pg
    buyer = live.buyer(price_fen=1800)
    order = live.order(buyer, quantity=1)
    payment = pay_live(live, buyer, order["id"])
    intent_id = payment["external_id"]
    live.tap.lose.add(intent_id)  # keep the first delivery's signed bytes, answer Stripe 503
    live.stripe.pay(intent_id)
    lost = live.tap.wait_for(intent_id, "payment_intent.succeeded")
    live.tap.lose.discard(intent_id)
    with live.app.app_context():
        cfg = current_settings().payments

    def webhook(_):
        status, body = redeliver(live, lost.body, lost.signature)
        assert status == 200, body
        return "duplicate" if b'"duplicate":true' in body.replace(b" ", b"") else body.decode()

    def reconcile(_):
        with transaction(live.factory) as session:
            return payables.reconcile_payment(session, payment["id"], payments=cfg, now=clock.now())

    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [pool.submit(webhook, i) for i in range(6)] + [pool.submit(reconcile, i) for i in range(4)]
        outcomes = [f.result() for f in futures]
    webhook_outcomes, reconcile_outcomes = outcomes[:6], outcomes[6:]
    assert webhook_outcomes.count("duplicate") == 5  # stored once by its id, whoever delivered it
    paid = [o for o in reconcile_outcomes if o == "paid"] + [o for o in webhook_outcomes if '"paid"' in o]
    assert len(paid) == 1, outcomes

    with transaction(live.factory) as session:
        transitions = session.scalars(
            sa.select(OrderEvent.to_status).where(
                OrderEvent.order_id == order["id"], OrderEvent.to_status == OrderStatus.PAID
            )
        ).all()
        assert transitions == [OrderStatus.PAID]
        stored = session.scalars(sa.select(PaymentEvent.source).where(PaymentEvent.payment_id == payment["id"])).all()
        assert sorted(stored).count("webhook") == 1
        assert ledger.check_balances(session) == []
    assert live_level(live, buyer) == (9, 0)

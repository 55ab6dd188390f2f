"""End to end against localstripe: the buyer's payment is confirmed at localstripe with a test card,
and localstripe's signed webhook reaches our app, served on a loopback port, over real HTTP."""

from __future__ import annotations

import sqlalchemy as sa

from payments.models import PaymentEvent
from shop.db import transaction
from shop.inventory import ledger
from tests.payments.conftest import configured, live_level, pay_live, redeliver


def _order(live, buyer, order_id):
    return live.client().get(f"/api/v1/orders/{order_id}", headers=buyer.headers).json


def _payments(live, headers, order_id):
    return live.client().get(f"/api/v1/orders/{order_id}/payments", headers=headers).json["items"]


def _event_count(live, buyer, order_id) -> int:
    return live.client().get(f"/api/v1/orders/{order_id}/events", headers=buyer.headers).json["total"]


def test_card_payment_end_to_end_then_partial_full_and_refused_refunds(live):
    buyer = live.buyer(price_fen=5000)
    order = live.order(buyer, quantity=3)
    payment = pay_live(live, buyer, order["id"])
    intent_id = payment["external_id"]
    assert payment["status"] == "pending" and payment["gateway"] == "stripe" and payment["amount_fen"] == 15000
    assert payment["client_secret"].startswith(intent_id + "_secret_")
    intent = live.stripe.intent(intent_id)
    assert (intent["amount"], intent["currency"], intent["metadata"]["order_id"]) == (15000, "cny", str(order["id"]))

    live.stripe.pay(intent_id, "pm_card_visa")  # the buyer's browser confirms with a test card
    delivery = live.tap.wait_for(intent_id, "payment_intent.succeeded")
    assert delivery.status == 200 and delivery.answer == {"received": True, "duplicate": False, "outcome": "paid"}

    shown = _order(live, buyer, order["id"])
    assert shown["status"] == "paid" and shown["paid_fen"] == 15000 and len(shown["pickup_code"]) == 6
    assert live_level(live, buyer) == (7, 0)  # reserved units sold
    [history] = _payments(live, buyer.headers, order["id"])
    assert history["status"] == "succeeded" and history["reference"].startswith("ch_")
    assert history["client_secret"] is None  # never shown again
    assert [(e["source"], e["type"], e["outcome"]) for e in history["events"]] == [
        ("webhook", "payment_intent.succeeded", "paid")
    ]
    assert _payments(live, buyer.admin_headers, order["id"]) == [history]

    line_id = shown["lines"][0]["id"]
    refund_path = f"/api/v1/orders/{order['id']}/refunds"
    one_unit = {"lines": [{"line_id": line_id, "quantity": 1}], "reason": "bruised"}
    first = live.client().post(refund_path, headers={**buyer.operator_headers, "Idempotency-Key": "r-1"}, json=one_unit)
    assert first.status_code == 201, first.json
    assert first.json["kind"] == "refund" and first.json["amount_fen"] == 5000
    assert first.json["external_id"].startswith("re_")
    assert live.stripe.charge(intent_id)["amount_refunded"] == 5000
    keyed = {**buyer.operator_headers, "Idempotency-Key": "r-1"}
    replay = live.client().post(refund_path, headers=keyed, json=one_unit)
    assert replay.json["id"] == first.json["id"]
    assert live.stripe.charge(intent_id)["amount_refunded"] == 5000  # no second refund at Stripe
    assert _order(live, buyer, order["id"])["status"] == "partially_refunded"

    rest = live.client().post(
        refund_path,
        headers=buyer.admin_headers,
        json={"lines": [{"line_id": line_id, "quantity": 2}], "reason": "whole box"},
    )
    assert rest.status_code == 201 and rest.json["amount_fen"] == 10000
    final = _order(live, buyer, order["id"])
    assert final["status"] == "refunded" and final["refunded_fen"] == final["paid_fen"] == 15000
    assert live.stripe.charge(intent_id)["amount_refunded"] == 15000
    assert live_level(live, buyer) == (10, 0)

    over = live.client().post(refund_path, headers=buyer.admin_headers, json=one_unit)
    assert over.status_code == 409 and over.json["error"]["code"] == "not_refundable"
    assert live.stripe.charge(intent_id)["amount_refunded"] == 15000  # no money moved
    with transaction(live.factory) as session:
        assert ledger.check_balances(session) == []


def test_declined_card_leaves_the_order_payable_through_the_same_attempt(live):
    buyer = live.buyer(price_fen=3000)
    order = live.order(buyer, quantity=1)
    payment = pay_live(live, buyer, order["id"])
    intent_id = payment["external_id"]

    intent = live.stripe.pay(intent_id, "pm_card_chargeCustomerFail")
    assert intent["status"] == "requires_payment_method"
    delivery = live.tap.wait_for(intent_id, "payment_intent.payment_failed")
    assert delivery.status == 200 and delivery.answer["outcome"] == "failed"

    assert _order(live, buyer, order["id"])["status"] == "pending_payment"
    assert live_level(live, buyer) == (10, 1)  # still held for the buyer
    [history] = _payments(live, buyer.headers, order["id"])
    assert history["status"] == "pending" and history["failure_message"] == "Your card was declined."
    assert history["gateway_status"] == "requires_payment_method"

    again = pay_live(live, buyer, order["id"])  # "try another card": the same intent, a fresh secret
    assert (again["id"], again["external_id"]) == (payment["id"], intent_id)
    assert again["client_secret"].startswith(intent_id + "_secret_")

    # the buyer gives up: cancelling closes the intent at Stripe, so no card can be charged later
    cancelled = live.client().post(f"/api/v1/orders/{order['id']}/cancel", headers=buyer.headers)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert live.stripe.intent(intent_id)["status"] == "canceled"
    assert _payments(live, buyer.headers, order["id"])[0]["status"] == "cancelled"
    assert live_level(live, buyer) == (10, 0)


def test_duplicate_and_forged_deliveries_change_nothing(live):
    buyer = live.buyer(price_fen=2000)
    order = live.order(buyer, quantity=2)
    intent_id = pay_live(live, buyer, order["id"])["external_id"]
    live.stripe.pay(intent_id)
    delivery = live.tap.wait_for(intent_id, "payment_intent.succeeded")
    assert delivery.status == 200
    events_before = _event_count(live, buyer, order["id"])

    status, body = redeliver(live, delivery.body, delivery.signature)  # Stripe retries the same event
    assert status == 200 and b'"duplicate":true' in body.replace(b" ", b"")

    t, _, digest = delivery.signature.partition(",v1=")
    forged = f"{t},v1={'0' * len(digest)}"
    status, body = redeliver(live, delivery.body, forged)
    assert status == 400 and b"invalid_signature" in body
    tampered = delivery.body.replace(b'"amount": 4000', b'"amount": 1')
    assert tampered != delivery.body
    status, body = redeliver(live, tampered, delivery.signature)
    assert status == 400 and b"invalid_signature" in body

    assert _event_count(live, buyer, order["id"]) == events_before
    with transaction(live.factory) as session:
        stored = session.scalars(sa.select(PaymentEvent).where(PaymentEvent.object_id == intent_id)).all()
        assert [e.type for e in stored] == ["payment_intent.succeeded"]
    assert _order(live, buyer, order["id"])["status"] == "paid"


def test_reconcile_pays_the_order_whose_webhook_never_arrived(live):
    buyer = live.buyer(price_fen=1500)
    order = live.order(buyer, quantity=1)
    intent_id = pay_live(live, buyer, order["id"])["external_id"]
    live.tap.lose.add(intent_id)
    live.stripe.pay(intent_id)
    lost = live.tap.wait_for(intent_id, "payment_intent.succeeded")
    assert lost.status == 503
    assert _order(live, buyer, order["id"])["status"] == "pending_payment"

    runner = live.app.test_cli_runner()
    with configured(live.app, STRIPE_API_BASE="http://127.0.0.1:9"):  # Stripe unreachable: try later
        down = runner.invoke(args=["payments", "reconcile", "--older-than", "0"])
    assert down.exit_code == 1 and "payment_gateway_unavailable" in down.output
    assert _order(live, buyer, order["id"])["status"] == "pending_payment"
    result = runner.invoke(args=["payments", "reconcile", "--older-than", "0"])
    assert result.exit_code == 0, result.output
    assert "paid 1" in result.output
    assert _order(live, buyer, order["id"])["status"] == "paid"
    assert live_level(live, buyer) == (9, 0)
    [history] = _payments(live, buyer.headers, order["id"])
    assert [(e["source"], e["outcome"]) for e in history["events"]] == [("reconcile", "paid")]

    # Stripe delivers the lost event after all: applied already, nothing changes
    live.tap.lose.discard(intent_id)
    events_before = _event_count(live, buyer, order["id"])
    status, body = redeliver(live, lost.body, lost.signature)
    assert status == 200 and b"already_applied" in body
    assert _event_count(live, buyer, order["id"]) == events_before
    again = runner.invoke(args=["payments", "reconcile", "--older-than", "0"])
    assert again.exit_code == 0 and "paid" not in again.output

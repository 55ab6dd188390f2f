"""Stripe payments through our API against localstripe, with the events localstripe never sends
(canceled, charge.refunded, late or out-of-order ones) posted as payloads we sign ourselves with the
webhook secret. Each test runs in a transaction rolled back at its end."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from payments import payables
from payments import service as payments
from payments.models import Payment, PaymentEvent
from shop import clock
from shop.inventory import ledger
from shop.orders.models import Order, OrderStatus
from shop.points import service as points
from shop.settings import current as current_settings
from tests.factories import level
from tests.orders.conftest import add_to_cart, admin_headers
from tests.payments.conftest import configured, stripe_config
from tests.payments.stripe_peer import event, post_event, sign

pytestmark = pytest.mark.usefixtures("stripe_app")


def _order(client, shop, quantity=1):
    add_to_cart(client, shop.buyer_headers, shop.sku, shop.counter, quantity)
    response = client.post("/api/v1/orders", headers=shop.buyer_headers, json={})
    assert response.status_code == 201, response.json
    return response.json


def _pay(client, shop, order_id, gateway="stripe", key=None):
    headers = {**shop.buyer_headers, **({"Idempotency-Key": key} if key else {})}
    return client.post(f"/api/v1/orders/{order_id}/payments", headers=headers, json={"gateway": gateway})


def _paying(client, shop, quantity=1):
    order = _order(client, shop, quantity)
    payment = _pay(client, shop, order["id"])
    assert payment.status_code == 201, payment.json
    return order, payment.json


def _status(client, shop, order_id):
    return client.get(f"/api/v1/orders/{order_id}", headers=shop.buyer_headers).json["status"]


def _history(client, shop, order_id):
    return client.get(f"/api/v1/orders/{order_id}/payments", headers=shop.buyer_headers).json["items"]


def _succeeded(client, localstripe, intent_id):
    """The buyer pays at Stripe and Stripe's event reaches us."""
    intent = localstripe.pay(intent_id)
    assert intent["status"] == "succeeded"
    response = post_event(client, event("payment_intent.succeeded", intent))
    assert response.status_code == 200, response.json
    return response.json


# --- starting a payment ---------------------------------------------------------------------------


def test_paying_by_stripe_starts_one_intent_and_asking_again_returns_it(client, shop, localstripe, session):
    order, payment = _paying(client, shop, quantity=2)
    assert payment["status"] == "pending" and payment["amount_fen"] == order["total_fen"] == 10000
    assert payment["gateway_status"] == "requires_payment_method"
    intent = localstripe.intent(payment["external_id"])
    assert (intent["amount"], intent["currency"]) == (10000, "cny")
    assert intent["metadata"]["order_id"] == str(order["id"])
    assert payment["client_secret"] == intent["client_secret"]

    again = _pay(client, shop, order["id"]).json
    keyed = _pay(client, shop, order["id"], key="pay-1").json
    replay = _pay(client, shop, order["id"], key="pay-1").json
    assert {p["id"] for p in (again, keyed, replay)} == {payment["id"]}
    assert {p["external_id"] for p in (again, keyed, replay)} == {payment["external_id"]}
    assert replay["client_secret"] == intent["client_secret"]  # told again by Stripe, never stored
    assert session.scalar(sa.select(sa.func.count()).where(Payment.order_id == order["id"])) == 1
    # the history shows the attempt, without its secret
    [shown] = _history(client, shop, order["id"])
    assert shown["external_id"] == payment["external_id"] and shown["client_secret"] is None


def test_the_amount_comes_from_the_order_never_from_the_body(client, shop):
    order = _order(client, shop)
    response = client.post(
        f"/api/v1/orders/{order['id']}/payments",
        headers=shop.buyer_headers,
        json={"gateway": "stripe", "amount_fen": 1},
    )
    assert response.status_code == 422 and "amount_fen" in response.json["error"]["details"]["fields"]
    bad = _pay(client, shop, order["id"], gateway="bitcoin")
    assert bad.status_code == 422 and "gateway" in bad.json["error"]["details"]["fields"]


# --- events: paid once, duplicates and forgeries change nothing ------------------------------------


def test_a_signed_success_pays_the_order_once(client, shop, localstripe, session):
    order, payment = _paying(client, shop)
    intent = localstripe.pay(payment["external_id"])
    success = event("payment_intent.succeeded", intent)
    first = post_event(client, success)
    assert first.json == {"received": True, "duplicate": False, "outcome": "paid"}
    assert _status(client, shop, order["id"]) == "paid"
    assert level(session, shop.counter, shop.sku) == (9, 0)
    order_events = client.get(f"/api/v1/orders/{order['id']}/events", headers=shop.buyer_headers).json["total"]

    again = post_event(client, success)
    assert again.status_code == 200 and again.json["duplicate"] is True
    other_id = post_event(client, event("payment_intent.succeeded", intent))  # same news, another event
    assert other_id.json["outcome"] == "already_applied"
    assert client.get(f"/api/v1/orders/{order['id']}/events", headers=shop.buyer_headers).json["total"] == order_events
    assert level(session, shop.counter, shop.sku) == (9, 0)
    stored = session.scalars(sa.select(PaymentEvent.event_id).where(PaymentEvent.event_id == success["id"])).all()
    assert stored == [success["id"]]
    assert ledger.check_balances(session) == []


def test_forged_unsigned_stale_and_malformed_deliveries_are_refused(client, shop, localstripe, session, app):
    order, payment = _paying(client, shop)
    intent = localstripe.pay(payment["external_id"])
    success = event("payment_intent.succeeded", intent)
    payload = json.dumps(success).encode()

    forged = post_event(client, success, secret="whsec_guessed")
    assert forged.status_code == 400 and forged.json["error"]["code"] == "invalid_signature"
    unsigned = client.post("/api/v1/payments/stripe/webhook", data=payload, content_type="application/json")
    assert unsigned.status_code == 400 and unsigned.json["error"]["code"] == "invalid_signature"
    old = post_event(client, payload, signature=sign(payload, timestamp=int(time.time()) - 3600))
    assert old.status_code == 400 and old.json["error"]["code"] == "invalid_signature"
    tampered = payload.replace(b'"amount": 5000', b'"amount": 1')
    assert post_event(client, tampered, signature=sign(payload)).status_code == 400

    assert session.scalar(sa.select(sa.func.count()).select_from(PaymentEvent)) == 0
    assert _status(client, shop, order["id"]) == "pending_payment"

    not_utf8 = post_event(client, b"\xff not json")
    assert not_utf8.status_code == 400 and not_utf8.json["error"]["code"] == "invalid_signature"
    not_json = post_event(client, b"{not json")
    assert not_json.status_code == 422 and not_json.json["error"]["code"] == "invalid_event"
    no_data = post_event(client, {"id": "evt_x", "type": "payment_intent.succeeded", "created": 1})
    assert no_data.status_code == 422 and no_data.json["error"]["code"] == "invalid_event"
    with configured(app, STRIPE_WEBHOOK_SECRET=""):
        off = post_event(client, success)
    assert off.status_code == 503 and off.json["error"]["code"] == "payment_gateway_not_configured"
    assert _status(client, shop, order["id"]) == "pending_payment"


def test_events_not_about_our_payments_are_stored_and_ignored(client, localstripe):
    customer = post_event(client, event("customer.created", {"id": "cus_x", "object": "customer"}))
    assert customer.json["outcome"] == "ignored: not about a payment attempt"
    stranger = localstripe.client.v1.payment_intents.create(params={"amount": 100, "currency": "cny"}).to_dict()
    unknown = post_event(client, event("payment_intent.canceled", {**stranger, "status": "canceled"}))
    assert unknown.json["outcome"] == "ignored: unknown payment intent"


def test_news_older_than_what_we_know_changes_nothing(client, shop, localstripe, session):
    order, payment = _paying(client, shop)
    intent_id = payment["external_id"]
    now = int(time.time())
    declined = {**localstripe.intent(intent_id), "last_payment_error": {"message": "Your card was declined."}}
    assert post_event(client, event("payment_intent.payment_failed", declined, created=now)).json["outcome"] == "failed"
    older = {**declined, "last_payment_error": {"message": "Insufficient funds."}}
    stale = post_event(client, event("payment_intent.payment_failed", older, created=now - 60))
    assert stale.json["outcome"] == "stale"
    assert _history(client, shop, order["id"])[0]["failure_message"] == "Your card was declined."

    _succeeded(client, localstripe, intent_id)
    # a failure and a cancellation delivered after the success change nothing
    late_failure = post_event(client, event("payment_intent.payment_failed", declined, created=now + 5))
    late_cancel = post_event(client, event("payment_intent.canceled", {**declined, "status": "canceled"}))
    assert late_failure.json["outcome"] == late_cancel.json["outcome"] == "attempt_closed"
    [shown] = _history(client, shop, order["id"])
    assert shown["status"] == "succeeded" and shown["gateway_status"] == "succeeded"
    assert _status(client, shop, order["id"]) == "paid"


def test_a_cancelled_intent_leaves_the_order_payable_with_a_new_attempt(client, shop, localstripe):
    order, payment = _paying(client, shop)
    intent = {**localstripe.intent(payment["external_id"]), "status": "canceled"}
    response = post_event(client, event("payment_intent.canceled", intent))
    assert response.json["outcome"] == "cancelled_at_gateway"
    assert _status(client, shop, order["id"]) == "pending_payment"
    second = _pay(client, shop, order["id"]).json
    assert second["id"] != payment["id"] and second["external_id"] != payment["external_id"]
    assert [p["status"] for p in _history(client, shop, order["id"])] == ["cancelled", "pending"]


def test_a_cancelled_intent_of_an_order_past_its_time_expires_it(client, shop, localstripe, session):
    order, payment = _paying(client, shop)
    intent = {**localstripe.intent(payment["external_id"]), "status": "canceled"}
    with clock.frozen_at(clock.now() + timedelta(minutes=31)):
        post_event(client, event("payment_intent.canceled", intent))
    assert session.get(Order, order["id"], populate_existing=True).status == OrderStatus.CANCELLED
    assert level(session, shop.counter, shop.sku) == (10, 0)


# --- money that cannot pay the order goes back -------------------------------------------------------


def test_money_for_an_order_that_expired_meanwhile_goes_back_once(client, shop, localstripe, session):
    order, payment = _paying(client, shop)
    intent_id = payment["external_id"]
    intent = localstripe.pay(intent_id)  # the buyer pays just as the order runs out of time
    with clock.frozen_at(clock.now() + timedelta(minutes=31)):
        assert _status(client, shop, order["id"]) == "cancelled"
        answer = post_event(client, event("payment_intent.succeeded", intent))
    assert answer.json["outcome"] == "attempt_closed"
    [shown] = _history(client, shop, order["id"])
    assert shown["status"] == "returned" and shown["refunded_fen"] == 5000
    refunds = client.get(f"/api/v1/orders/{order['id']}/refunds", headers=shop.buyer_headers).json["items"]
    assert [(r["kind"], r["amount_fen"]) for r in refunds] == [("return", 5000)]
    assert refunds[0]["external_id"].startswith("re_")
    assert localstripe.charge(intent_id)["amount_refunded"] == 5000
    assert level(session, shop.counter, shop.sku) == (10, 0)  # the expired order sold nothing

    again = post_event(client, event("payment_intent.succeeded", intent))  # the same news again
    assert again.json["outcome"] == "already_applied"
    assert localstripe.charge(intent_id)["amount_refunded"] == 5000  # returned once


def test_an_amount_that_does_not_match_never_pays_the_order(client, shop, localstripe):
    order, payment = _paying(client, shop)
    intent = localstripe.pay(payment["external_id"])
    odd = {**intent, "amount": 1, "amount_received": 1}
    assert post_event(client, event("payment_intent.succeeded", odd)).json["outcome"] == "amount_mismatch"
    assert _status(client, shop, order["id"]) == "pending_payment"
    assert _history(client, shop, order["id"])[0]["status"] == "returned"
    assert localstripe.charge(payment["external_id"])["amount_refunded"] == 5000  # all of it went back
    second = _pay(client, shop, order["id"]).json
    intent2 = localstripe.pay(second["external_id"])
    reply = post_event(client, event("payment_intent.succeeded", {**intent2, "currency": "usd"}))
    assert reply.json["outcome"] == "amount_mismatch"
    assert _status(client, shop, order["id"]) == "pending_payment"


def test_paying_another_way_closes_the_open_intent_first(client, shop, localstripe, session):
    order, payment = _paying(client, shop)
    by_points = _pay(client, shop, order["id"], gateway="points")
    assert by_points.status_code == 201 and by_points.json["status"] == "succeeded"
    assert localstripe.intent(payment["external_id"])["status"] == "canceled"
    assert [p["status"] for p in _history(client, shop, order["id"])] == ["cancelled", "succeeded"]
    assert _status(client, shop, order["id"]) == "paid"


def test_a_card_payment_completing_blocks_paying_another_way_and_cancelling(client, shop, localstripe, session):
    order, payment = _paying(client, shop)
    intent = localstripe.pay(payment["external_id"])  # succeeded at Stripe; the event is on its way
    balance = points.balance(session, shop.buyer.id)
    by_points = _pay(client, shop, order["id"], gateway="points")
    assert by_points.status_code == 409 and by_points.json["error"]["code"] == "payment_in_progress"
    cancel = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=shop.buyer_headers)
    assert cancel.status_code == 409 and cancel.json["error"]["code"] == "payment_in_progress"
    assert points.balance(session, shop.buyer.id) == balance
    assert post_event(client, event("payment_intent.succeeded", intent)).json["outcome"] == "paid"
    # asking to pay by card again now answers with the succeeded attempt
    assert _pay(client, shop, order["id"]).status_code == 409


# --- refunds made at Stripe (charge.refunded) ---------------------------------------------------------


def test_a_refund_made_at_stripe_is_recorded_and_caps_later_refunds(client, shop, make, localstripe, session):
    order, payment = _paying(client, shop, quantity=2)
    intent_id = payment["external_id"]
    _succeeded(client, localstripe, intent_id)
    localstripe.refund_at_stripe(intent_id, 6000)  # in the Stripe dashboard
    refunded = event("charge.refunded", localstripe.charge(intent_id))
    answer = post_event(client, refunded)
    assert answer.json["outcome"] == "already_applied; outside refund of 6000 fen recorded"
    shown = client.get(f"/api/v1/orders/{order['id']}", headers=shop.buyer_headers).json
    assert (shown["status"], shown["paid_fen"], shown["refunded_fen"]) == ("partially_refunded", 10000, 6000)
    refunds = client.get(f"/api/v1/orders/{order['id']}/refunds", headers=shop.buyer_headers).json["items"]
    assert [(r["kind"], r["amount_fen"], r["lines"]) for r in refunds] == [("outside", 6000, [])]
    assert refunds[0]["external_id"].startswith("re_")
    assert level(session, shop.counter, shop.sku) == (8, 0)  # money only: no goods came back

    assert post_event(client, refunded).json["duplicate"] is True
    same = post_event(client, event("charge.refunded", localstripe.charge(intent_id)))
    assert same.json["outcome"].endswith("refunds already recorded")

    over = client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        headers=admin_headers(make),
        json={"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "reason": "one box"},
    )
    assert over.status_code == 409 and over.json["error"]["code"] == "refund_exceeds_payment"
    assert over.json["error"]["details"] == {"paid_fen": 10000, "refunded_fen": 6000, "requested_fen": 5000}
    assert localstripe.charge(intent_id)["amount_refunded"] == 6000  # nothing more left Stripe


def test_charge_refunded_before_the_success_event_pays_then_records(client, shop, localstripe):
    order, payment = _paying(client, shop)
    intent_id = payment["external_id"]
    intent = localstripe.pay(intent_id)
    localstripe.refund_at_stripe(intent_id, 1000)
    answer = post_event(client, event("charge.refunded", localstripe.charge(intent_id)))
    assert answer.json["outcome"] == "paid; outside refund of 1000 fen recorded"
    assert post_event(client, event("payment_intent.succeeded", intent)).json["outcome"] == "already_applied"
    shown = client.get(f"/api/v1/orders/{order['id']}", headers=shop.buyer_headers).json
    assert (shown["status"], shown["refunded_fen"]) == ("partially_refunded", 1000)


# --- reconciliation ---------------------------------------------------------------------------------


def test_reconcile_closes_at_stripe_the_intent_of_an_expired_order(client, shop, localstripe, session, app):
    order, payment = _paying(client, shop)
    later = clock.now() + timedelta(minutes=31)
    with app.app_context():
        cfg = current_settings().payments
    assert payments.to_reconcile(session, "stripe", pending_before=clock.now() - timedelta(minutes=10), limit=10) == []
    with clock.frozen_at(later):
        assert _status(client, shop, order["id"]) == "cancelled"  # expired here; the intent is open at Stripe
        assert payments.to_reconcile(session, "stripe", pending_before=later, limit=10) == [payment["id"]]
        outcome = payables.reconcile_payment(session, payment["id"], payments=cfg, now=later)
    assert outcome == "attempt_closed"
    assert localstripe.intent(payment["external_id"])["status"] == "canceled"
    assert payments.to_reconcile(session, "stripe", pending_before=later, limit=10) == []
    [shown] = _history(client, shop, order["id"])
    assert (shown["status"], shown["gateway_status"]) == ("cancelled", "canceled")


def test_reconcile_of_a_pending_attempt_past_the_order_time_expires_the_order(client, shop, localstripe, session, app):
    order, payment = _paying(client, shop)
    later = clock.now() + timedelta(minutes=31)
    with app.app_context():
        cfg = current_settings().payments
    outcome = payables.reconcile_payment(session, payment["id"], payments=cfg, now=later)
    assert outcome == "cancelled_at_gateway"
    assert localstripe.intent(payment["external_id"])["status"] == "canceled"
    with clock.frozen_at(later):
        assert _status(client, shop, order["id"]) == "cancelled"
    assert level(session, shop.counter, shop.sku) == (10, 0)


def test_reconcile_returns_money_that_came_after_the_order_expired(client, shop, localstripe, session, app):
    order, payment = _paying(client, shop)
    localstripe.pay(payment["external_id"])
    later = clock.now() + timedelta(minutes=31)
    with app.app_context():
        cfg = current_settings().payments
    with clock.frozen_at(later):
        assert _status(client, shop, order["id"]) == "cancelled"
    assert payables.reconcile_payment(session, payment["id"], payments=cfg, now=later) == "attempt_closed"
    assert _history(client, shop, order["id"])[0]["status"] == "returned"
    assert localstripe.charge(payment["external_id"])["amount_refunded"] == 5000


# --- when Stripe fails --------------------------------------------------------------------------------


def _pending_with_nothing_started(client, shop, session, order):
    assert _status(client, shop, order["id"]) == "pending_payment"
    assert session.scalar(sa.select(sa.func.count()).where(Payment.order_id == order["id"])) == 0


def test_stripe_unreachable_or_slow_is_503_and_the_order_stays_pending(client, shop, session, app, relay):
    order = _order(client, shop)
    with configured(app, STRIPE_API_BASE="http://127.0.0.1:9"):  # nothing listens there
        refused = _pay(client, shop, order["id"], key="k")
    assert refused.status_code == 503 and refused.json["error"]["code"] == "payment_gateway_unavailable"
    _pending_with_nothing_started(client, shop, session, order)

    relay.mode = "stall"
    started = time.monotonic()
    with configured(app, STRIPE_API_BASE=relay.url, STRIPE_TIMEOUT_SECONDS=0.3):
        slow = _pay(client, shop, order["id"], key="k")
    assert slow.status_code == 503 and time.monotonic() - started < 5
    _pending_with_nothing_started(client, shop, session, order)

    relay.mode, relay.status_code = "status", 500
    with configured(app, STRIPE_API_BASE=relay.url):
        broken = _pay(client, shop, order["id"], key="k")
    assert broken.status_code == 503
    _pending_with_nothing_started(client, shop, session, order)

    with configured(app, STRIPE_SECRET_KEY="sk_"):  # localstripe refuses the key: 401
        refused_key = _pay(client, shop, order["id"], key="k")
    assert refused_key.status_code == 502 and refused_key.json["error"]["code"] == "payment_gateway_error"
    assert refused_key.json["error"]["details"]["provider_status"] == 401
    _pending_with_nothing_started(client, shop, session, order)

    with configured(app, STRIPE_SECRET_KEY=""):
        off = _pay(client, shop, order["id"], key="k")
    assert off.status_code == 503 and off.json["error"]["code"] == "payment_gateway_not_configured"

    works = _pay(client, shop, order["id"], key="k")  # the same key works once Stripe answers
    assert works.status_code == 201 and works.json["status"] == "pending"


def test_a_lost_answer_is_retried_with_the_same_idempotency_key(client, shop, session, app, relay):
    order = _order(client, shop)
    relay.mode = "forward_then_drop"  # Stripe creates the intent, the answer never comes back
    with configured(app, STRIPE_API_BASE=relay.url):
        lost = _pay(client, shop, order["id"])
        assert lost.status_code == 503
        _pending_with_nothing_started(client, shop, session, order)
        relay.mode = "forward"
        retried = _pay(client, shop, order["id"])
    assert retried.status_code == 201
    first, second = relay.creations()
    # Stripe answers a repeated key with the intent it created the first time (localstripe ignores
    # keys, so it made a second, unconfirmable one: nobody ever saw its client secret)
    assert first.idempotency_key == second.idempotency_key
    assert first.idempotency_key.startswith(f"order-{order['id']}-") and first.idempotency_key.endswith(":intent")


def test_a_refund_stripe_did_not_answer_changes_nothing_and_is_retried_as_the_same(
    client, shop, make, session, app, relay, localstripe
):
    order, payment = _paying(client, shop, quantity=2)
    _succeeded(client, localstripe, payment["external_id"])
    body = {"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "reason": "damaged"}
    headers = {**admin_headers(make), "Idempotency-Key": "refund-1"}
    relay.mode = "forward_then_drop"
    with configured(app, STRIPE_API_BASE=relay.url):
        lost = client.post(f"/api/v1/orders/{order['id']}/refunds", headers=headers, json=body)
        assert lost.status_code == 503
        shown = client.get(f"/api/v1/orders/{order['id']}", headers=shop.buyer_headers).json
        assert (shown["status"], shown["refunded_fen"]) == ("paid", 0)
        assert client.get(f"/api/v1/orders/{order['id']}/refunds", headers=shop.buyer_headers).json["total"] == 0
        assert level(session, shop.counter, shop.sku) == (8, 0)
        relay.mode = "forward"
        retried = client.post(f"/api/v1/orders/{order['id']}/refunds", headers=headers, json=body)
    assert retried.status_code == 201 and retried.json["amount_fen"] == 5000
    first, second = relay.creations("/v1/refunds")
    assert first.idempotency_key == second.idempotency_key


def test_payment_history_is_for_the_buyer_operators_and_admins(client, shop, make, localstripe):
    order, payment = _paying(client, shop)
    _succeeded(client, localstripe, payment["external_id"])
    path = f"/api/v1/orders/{order['id']}/payments"
    stranger = make.headers(make.user())
    assert client.get(path, headers=stranger).status_code == 404
    for headers in (shop.buyer_headers, shop.operator_headers, admin_headers(make)):
        [shown] = client.get(path, headers=headers).json["items"]
        assert shown["external_id"] == payment["external_id"] and shown["status"] == "succeeded"


def test_stripe_settings_are_checked_at_start(engine):
    from shop import create_app
    from tests.conftest import TEST_CONFIG

    with pytest.raises(ValueError, match="paypal"):
        create_app({**TEST_CONFIG, "ENGINE": engine, **stripe_config(""), "STRIPE_PAYMENT_METHOD_TYPES": "card,paypal"})


def test_oversized_or_odd_events_are_bad_input_never_a_server_error(client):
    huge = post_event(client, b'{"pad": "' + b"x" * (1024 * 1024) + b'"}')
    assert huge.status_code == 413 and huge.json["error"]["code"] == "payload_too_large"
    long_id = post_event(client, event("payment_intent.succeeded", {"id": "pi_x"}, event_id="evt_" + "x" * 300))
    assert long_id.status_code == 422 and "id" in long_id.json["error"]["details"]["fields"]
    no_status = post_event(client, event("payment_intent.succeeded", {"id": "pi_x", "amount": 1}))
    assert no_status.status_code == 422 and no_status.json["error"]["code"] == "invalid_event"
    odd_charge = post_event(client, event("charge.refunded", {"id": "ch_x", "payment_intent": ["pi_x"]}))
    assert odd_charge.status_code == 422
    not_an_object = post_event(client, [1, 2, 3])
    assert not_an_object.status_code == 422 and not_an_object.json["error"]["code"] == "invalid_event"

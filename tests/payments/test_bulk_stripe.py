"""An organisation's bulk order paid by Stripe, through the same webhook and reconciliation as shop
orders, against localstripe: paid once under the order's lock, the budget commitment becomes spend,
money that cannot pay the order goes back, a lost webhook is made up by reconciliation."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from payments import payables
from payments.models import Payment, Refund
from shop import clock
from shop.inventory import ledger
from shop.procurement import budgets
from shop.procurement.models import BulkOrder
from shop.settings import current as current_settings
from tests.factories import level
from tests.payments.stripe_peer import event, post_event
from tests.procurement.conftest import P, add_lines, budget_of, new_order

pytestmark = pytest.mark.usefixtures("stripe_app")


def _approved(client, o, quantity=2):
    order = new_order(client, o)
    lines = [{"sku_code": o.sku.code, "quantity": quantity, "delivery_address": "解放碑 8号"}]
    assert add_lines(client, o, order["id"], lines).status_code == 200
    assert client.post(f"{P}/bulk-orders/{order['id']}/submit", headers=o.headers["purchaser"]).status_code == 200
    approved = client.post(f"{P}/bulk-orders/{order['id']}/approve", headers=o.headers["approver"], json={})
    assert approved.status_code == 200, approved.json
    return approved.json


def _pay(client, o, order_id, gateway="stripe", key=None):
    headers = {**o.headers["finance"], **({"Idempotency-Key": key} if key else {})}
    return client.post(f"{P}/bulk-orders/{order_id}/payments", headers=headers, json={"gateway": gateway})


def _status(client, o, order_id):
    return client.get(f"{P}/bulk-orders/{order_id}", headers=o.headers["finance"]).json["status"]


def _history(client, o, order_id):
    return client.get(f"{P}/bulk-orders/{order_id}/payments", headers=o.headers["finance"]).json["items"]


def test_a_bulk_order_paid_by_stripe_spends_its_commitment_once(client, session, localstripe, buyer_org):
    o = buyer_org
    order = _approved(client, o)
    assert budget_of(client, o)["committed_fen"] == 20_000
    started = _pay(client, o, order["id"], key="bulk-pay-1")
    assert started.status_code == 201, started.json
    payment = started.json
    assert (payment["status"], payment["amount_fen"], payment["currency"]) == ("pending", 20_000, "CNY")
    intent = localstripe.intent(payment["external_id"])
    assert (intent["amount"], intent["currency"]) == (20_000, "cny")
    assert intent["metadata"]["bulk_order_id"] == str(order["id"]) and "order_id" not in intent["metadata"]
    assert payment["client_secret"] == intent["client_secret"]
    # asking again (or replaying the key) returns the open attempt, never a second intent
    again, replay = _pay(client, o, order["id"]).json, _pay(client, o, order["id"], key="bulk-pay-1").json
    assert again["id"] == replay["id"] == payment["id"] and replay["client_secret"] == intent["client_secret"]
    assert session.scalar(sa.select(sa.func.count()).where(Payment.bulk_order_id == order["id"])) == 1
    # only finance pays
    assert _pay(client, o, order["id"]).status_code == 201
    refused = client.post(
        f"{P}/bulk-orders/{order['id']}/payments", headers=o.headers["purchaser"], json={"gateway": "stripe"}
    )
    assert refused.status_code == 403

    paid_intent = localstripe.pay(payment["external_id"])
    success = event("payment_intent.succeeded", paid_intent)
    first = post_event(client, success)
    assert first.json == {"received": True, "duplicate": False, "outcome": "paid"}
    assert _status(client, o, order["id"]) == "paid"
    budget = budget_of(client, o)
    assert (budget["committed_fen"], budget["spent_fen"]) == (0, 20_000)
    assert level(session, o.hall, o.sku) == (998, 0)
    [shown] = _history(client, o, order["id"])
    assert (shown["status"], shown["gateway_status"], shown["client_secret"]) == ("succeeded", "succeeded", None)

    assert post_event(client, success).json["duplicate"] is True
    assert post_event(client, event("payment_intent.succeeded", paid_intent)).json["outcome"] == "already_applied"
    events = client.get(f"{P}/bulk-orders/{order['id']}/events", headers=o.headers["finance"]).json["items"]
    assert [e["to_status"] for e in events].count("paid") == 1
    budget = budget_of(client, o)
    assert (budget["committed_fen"], budget["spent_fen"]) == (0, 20_000)
    assert budgets.check(session) == [] and ledger.check_balances(session) == []


def test_an_amount_that_does_not_match_goes_back_and_the_order_stays_payable(client, session, localstripe, buyer_org):
    o = buyer_org
    order = _approved(client, o, quantity=1)
    payment = _pay(client, o, order["id"]).json
    intent = localstripe.pay(payment["external_id"])
    odd = {**intent, "amount": 1, "amount_received": 1}
    assert post_event(client, event("payment_intent.succeeded", odd)).json["outcome"] == "amount_mismatch"
    assert _status(client, o, order["id"]) == "approved"
    [shown] = _history(client, o, order["id"])
    assert (shown["status"], shown["refunded_fen"]) == ("returned", 10_000)
    assert localstripe.charge(payment["external_id"])["amount_refunded"] == 10_000
    [refund] = session.scalars(sa.select(Refund).where(Refund.bulk_order_id == order["id"])).all()
    assert (refund.kind.value, refund.amount_fen, refund.order_id) == ("return", 10_000, None)
    assert refund.external_id.startswith("re_")
    assert budget_of(client, o)["committed_fen"] == 10_000  # still committed, still payable

    second = _pay(client, o, order["id"]).json
    assert second["id"] != payment["id"] and second["status"] == "pending"


def test_money_for_a_bulk_order_no_longer_payable_goes_back(client, session, localstripe, buyer_org):
    o = buyer_org
    order = _approved(client, o, quantity=1)
    payment = _pay(client, o, order["id"]).json
    intent = localstripe.pay(payment["external_id"])  # succeeded at Stripe, the event still on its way
    # cancelling now is refused: the card payment is completing
    cancel = client.post(
        f"{P}/bulk-orders/{order['id']}/cancel", headers=o.headers["approver"], json={"reason": "wrong"}
    )
    assert cancel.status_code == 409 and cancel.json["error"]["code"] == "payment_in_progress"
    # a cancel that won a race with the payment (made here behind the API's back)
    session.execute(sa.update(BulkOrder).where(BulkOrder.id == order["id"]).values(status="cancelled"))
    answer = post_event(client, event("payment_intent.succeeded", intent))
    assert answer.json["outcome"] == "order_not_payable"
    [shown] = _history(client, o, order["id"])
    assert (shown["status"], shown["refunded_fen"]) == ("returned", 10_000)
    assert localstripe.charge(payment["external_id"])["amount_refunded"] == 10_000
    assert post_event(client, event("payment_intent.succeeded", intent)).json["outcome"] == "already_applied"
    assert localstripe.charge(payment["external_id"])["amount_refunded"] == 10_000  # returned once


def test_reconcile_pays_a_bulk_order_whose_webhook_was_lost(client, session, localstripe, buyer_org, app):
    o = buyer_org
    order = _approved(client, o)
    payment = _pay(client, o, order["id"]).json
    localstripe.pay(payment["external_id"])  # the webhook never arrives
    with app.app_context():
        cfg = current_settings().payments
    assert payables.reconcile_payment(session, payment["id"], payments=cfg, now=clock.now()) == "paid"
    assert _status(client, o, order["id"]) == "paid"
    budget = budget_of(client, o)
    assert (budget["committed_fen"], budget["spent_fen"]) == (0, 20_000)
    assert payables.reconcile_payment(session, payment["id"], payments=cfg, now=clock.now()) == "already_applied"
    assert budget_of(client, o)["spent_fen"] == 20_000


def test_paying_by_transfer_closes_the_open_intent_and_cancel_closes_it_too(client, localstripe, buyer_org):
    o = buyer_org
    order = _approved(client, o, quantity=1)
    card = _pay(client, o, order["id"]).json
    transfer = _pay(client, o, order["id"], gateway="offline").json
    assert localstripe.intent(card["external_id"])["status"] == "canceled"
    assert [p["status"] for p in _history(client, o, order["id"])] == ["cancelled", "pending"]
    confirm = client.post(
        f"{P}/bulk-orders/{order['id']}/payments/{card['id']}/confirm",
        headers=o.headers["finance"],
        json={"reference": "x"},
    )
    assert confirm.status_code in (409, 422)  # a Stripe attempt is never confirmed by hand

    other = _approved(client, o, quantity=1)
    open_card = _pay(client, o, other["id"]).json
    cancelled = client.post(
        f"{P}/bulk-orders/{other['id']}/cancel", headers=o.headers["approver"], json={"reason": "not needed"}
    )
    assert cancelled.status_code == 200, cancelled.json
    assert localstripe.intent(open_card["external_id"])["status"] == "canceled"
    assert _history(client, o, other["id"])[0]["status"] == "cancelled"
    assert transfer["gateway"] == "offline"

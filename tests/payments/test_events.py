"""The rules that turn a gateway's news into what happens to an attempt and its order, tested without
a database or a network: every order of delivery, with duplicates, ends the same way."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from payments.events import (
    Action,
    IntentState,
    charge_state,
    decide,
    intent_state,
    is_stale,
    latest_refund_id,
    newer_status,
)
from payments.models import PAYMENT_TRANSITIONS, PaymentStatus

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
P = PaymentStatus


def state(status="succeeded", *, at=0, amount=5000, currency="cny", failure=None, intent="pi_1") -> IntentState:
    return IntentState(
        intent_id=intent,
        status=status,
        amount_fen=amount,
        currency=currency,
        failure_message=failure,
        observed_at=T0 + timedelta(seconds=at),
    )


@pytest.mark.parametrize(
    ("payment", "awaits", "news", "action", "reason"),
    [
        (P.PENDING, True, state(), Action.MARK_PAID, "paid"),
        (P.PENDING, True, state(amount=4999), Action.RETURN_MONEY, "amount_mismatch"),
        (P.PENDING, True, state(currency="usd"), Action.RETURN_MONEY, "amount_mismatch"),
        (P.PENDING, True, state(currency="CNY"), Action.MARK_PAID, "paid"),
        (P.PENDING, False, state(), Action.RETURN_MONEY, "order_not_payable"),
        (P.CANCELLED, True, state(), Action.RETURN_MONEY, "attempt_closed"),
        (P.CANCELLED, False, state(), Action.RETURN_MONEY, "attempt_closed"),
        (P.SUCCEEDED, False, state(), Action.NOTHING, "already_applied"),
        (P.RETURNED, True, state(), Action.NOTHING, "already_applied"),
        (P.PENDING, True, state("canceled"), Action.CANCEL, "cancelled_at_gateway"),
        (P.SUCCEEDED, False, state("canceled"), Action.NOTHING, "attempt_closed"),
        (P.CANCELLED, True, state("canceled"), Action.NOTHING, "attempt_closed"),
        (P.PENDING, True, state("requires_payment_method", failure="declined"), Action.RECORD_FAILURE, "failed"),
        (P.SUCCEEDED, False, state("requires_payment_method", failure="declined"), Action.NOTHING, "attempt_closed"),
        (P.PENDING, True, state("requires_payment_method"), Action.NOTHING, "in_progress"),
        (P.PENDING, True, state("processing"), Action.NOTHING, "in_progress"),
        (P.PENDING, True, state("requires_action"), Action.NOTHING, "in_progress"),
    ],
)
def test_the_rule_table(payment, awaits, news, action, reason):
    decision = decide(
        payment_status=payment,
        order_awaits_payment=awaits,
        amount_fen=5000,
        currency="CNY",
        last_seen_at=None,
        state=news,
    )
    assert (decision.action, decision.reason) == (action, reason)


def test_every_move_the_rules_make_is_a_legal_transition():
    targets = {Action.MARK_PAID: P.SUCCEEDED, Action.RETURN_MONEY: P.RETURNED, Action.CANCEL: P.CANCELLED}
    for payment, awaits in itertools.product(PaymentStatus, (True, False)):
        for news in (state(), state(amount=1), state("canceled"), state("requires_payment_method", failure="x")):
            decision = decide(
                payment_status=payment,
                order_awaits_payment=awaits,
                amount_fen=5000,
                currency="CNY",
                last_seen_at=None,
                state=news,
            )
            if decision.action in targets:
                assert targets[decision.action] in PAYMENT_TRANSITIONS[payment], (payment, news.status)


def test_news_older_than_the_last_is_stale_to_the_second():
    assert not is_stale(None, state(at=0))
    assert not is_stale(T0 + timedelta(seconds=5, microseconds=900_000), state(at=5))  # same second
    assert is_stale(T0 + timedelta(seconds=6), state(at=5))
    assert newer_status(None, None, state("processing"))
    assert not newer_status("succeeded", T0, state("requires_payment_method", at=10))
    assert not newer_status("processing", T0 + timedelta(seconds=10), state("requires_payment_method", at=0))
    assert newer_status("processing", T0 + timedelta(seconds=10), state("canceled", at=0))  # terminal wins


# --- a model of one order with its attempts, applying the rules the way the order side does ------------


@dataclass
class Attempt:
    status: PaymentStatus = P.PENDING
    failure: str | None = None
    gateway_status: str | None = None
    seen_at: datetime | None = None


@dataclass
class OrderModel:
    attempts: dict[str, Attempt]
    awaits_payment: bool = True
    paid: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    processed: set[str] = field(default_factory=set)

    def deliver(self, event_id: str, news: IntentState) -> str:
        if event_id in self.processed:  # stored by id: a second delivery does nothing
            return "duplicate"
        self.processed.add(event_id)
        attempt = self.attempts[news.intent_id]
        decision = decide(
            payment_status=attempt.status,
            order_awaits_payment=self.awaits_payment,
            amount_fen=5000,
            currency="CNY",
            last_seen_at=attempt.seen_at,
            state=news,
        )
        if newer_status(attempt.gateway_status, attempt.seen_at, news):
            attempt.gateway_status = news.status
            if attempt.seen_at is None or news.observed_at > attempt.seen_at:
                attempt.seen_at = news.observed_at
        target = {Action.MARK_PAID: P.SUCCEEDED, Action.RETURN_MONEY: P.RETURNED, Action.CANCEL: P.CANCELLED}.get(
            decision.action
        )
        if target is not None:
            assert target in PAYMENT_TRANSITIONS[attempt.status]
            attempt.status = target
        if decision.action == Action.MARK_PAID:
            self.paid.append(news.intent_id)
            self.awaits_payment = False
            for other in self.attempts.values():  # the order closes its other open attempts
                if other.status == P.PENDING:
                    other.status = P.CANCELLED
        elif decision.action == Action.RETURN_MONEY:
            self.returned.append(news.intent_id)
        elif decision.action == Action.RECORD_FAILURE:
            attempt.failure = news.failure_message
        return decision.reason


def deliveries(events: list[tuple[str, IntentState]], copies: int = 2):
    """Every distinct order of delivering each event `copies` times."""
    return set(itertools.permutations([e for e in events for _ in range(copies)]))


def test_a_paid_intent_pays_once_whatever_the_order_and_duplicates_of_its_events():
    life = [
        ("evt_a", state("requires_payment_method", at=0, failure="Your card was declined.")),
        ("evt_b", state("requires_payment_method", at=3, failure="Insufficient funds.")),
        ("evt_c", state("succeeded", at=7)),
    ]
    orders = deliveries(life)
    assert len(orders) == 90
    for sequence in orders:
        model = OrderModel({"pi_1": Attempt()})
        for event_id, news in sequence:
            model.deliver(event_id, news)
        attempt = model.attempts["pi_1"]
        assert model.paid == ["pi_1"] and model.returned == [], sequence
        assert (attempt.status, attempt.gateway_status) == (P.SUCCEEDED, "succeeded")


def test_a_cancelled_intent_never_pays_and_leaves_the_order_payable():
    life = [
        ("evt_a", state("requires_payment_method", at=0, failure="Your card was declined.")),
        ("evt_b", state("canceled", at=4)),
    ]
    for sequence in deliveries(life):
        model = OrderModel({"pi_1": Attempt()})
        for event_id, news in sequence:
            model.deliver(event_id, news)
        assert model.attempts["pi_1"].status == P.CANCELLED and model.awaits_payment
        assert model.paid == model.returned == []
        assert model.attempts["pi_1"].gateway_status == "canceled"


def test_the_newest_decline_is_the_one_shown_whatever_the_order():
    life = [
        ("evt_a", state("requires_payment_method", at=0, failure="Your card was declined.")),
        ("evt_b", state("requires_payment_method", at=3, failure="Insufficient funds.")),
    ]
    for sequence in deliveries(life):
        model = OrderModel({"pi_1": Attempt()})
        for event_id, news in sequence:
            model.deliver(event_id, news)
        assert model.attempts["pi_1"].failure == "Insufficient funds."


def test_two_attempts_that_both_took_money_pay_once_and_return_once():
    """A buyer who paid in two tabs: whichever success arrives first pays, the other goes back."""
    life = [
        ("evt_a", state("succeeded", at=1, intent="pi_1")),
        ("evt_b", state("succeeded", at=2, intent="pi_2")),
        ("evt_c", state("requires_payment_method", at=0, failure="declined", intent="pi_2")),
    ]
    for sequence in deliveries(life):
        model = OrderModel({"pi_1": Attempt(), "pi_2": Attempt()})
        for event_id, news in sequence:
            model.deliver(event_id, news)
        assert len(model.paid) == 1 and len(model.returned) == 1, sequence
        assert set(model.paid + model.returned) == {"pi_1", "pi_2"}
        assert not model.awaits_payment


def test_money_for_an_order_no_longer_awaiting_it_goes_back_once():
    life = [("evt_a", state("succeeded", at=1)), ("evt_b", state("succeeded", at=1))]  # two events, same news
    for sequence in deliveries(life):
        model = OrderModel({"pi_1": Attempt()}, awaits_payment=False)
        for event_id, news in sequence:
            model.deliver(event_id, news)
        assert model.returned == ["pi_1"] and model.paid == []


# --- reading Stripe's objects ---------------------------------------------------------------------------


def test_reading_a_payment_intent_as_stripe_and_localstripe_send_it():
    stripe_shape = {
        "id": "pi_1",
        "status": "succeeded",
        "amount": 5000,
        "amount_received": 5000,
        "currency": "cny",
        "latest_charge": "ch_1",
        "last_payment_error": None,
        "client_secret": "pi_1_secret_x",
    }
    read = intent_state(stripe_shape, T0)
    assert (read.amount_fen, read.charge_id, read.refunded_fen, read.client_secret) == (
        5000,
        "ch_1",
        0,
        "pi_1_secret_x",
    )
    local_shape = {**stripe_shape, "amount_received": None, "latest_charge": {"id": "ch_2", "amount_refunded": 700}}
    read = intent_state(local_shape, T0)
    assert (read.amount_fen, read.charge_id, read.refunded_fen) == (5000, "ch_2", 700)
    declined = {**stripe_shape, "status": "requires_payment_method", "last_payment_error": {"code": "card_declined"}}
    assert intent_state(declined, T0).failure_message == "card_declined"


def test_reading_a_refunded_charge():
    charge = {
        "id": "ch_1",
        "payment_intent": "pi_1",
        "status": "succeeded",
        "amount": 5000,
        "amount_refunded": 3000,
        "currency": "cny",
        "refunds": {"data": [{"id": "re_1", "created": 10}, {"id": "re_2", "created": 20}]},
    }
    read = charge_state(charge, T0)
    assert (read.intent_id, read.status, read.amount_fen, read.refunded_fen) == ("pi_1", "succeeded", 5000, 3000)
    assert latest_refund_id(charge) == "re_2"
    assert latest_refund_id({**charge, "refunds": None}) is None

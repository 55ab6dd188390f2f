"""Applying a gateway's news about one attempt to the thing the attempt pays, whatever it is.

What paying (or money going back) means for that thing is the owner's business: the owner hands a
`Payable` for its row, locked, and the rules here (payments.events.decide) do the rest the same way
for every owner. Webhooks and reconciliation take a `resolve(session, payment) -> Payable` (the
registry's, payments.registry), so this package never imports its owners."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from payments import service as payments
from payments.errors import InvalidEvent, PaymentInProgress
from payments.events import (
    TERMINAL,
    Action,
    IntentState,
    charge_state,
    decide,
    intent_state,
    latest_refund_id,
    newer_status,
)
from payments.models import EventSource, Payment, PaymentEvent, PaymentStatus, RefundKind
from payments.stripe_gateway import StripeGateway
from shop import clock

RETURN_REASONS = {
    "amount_mismatch": "The amount or currency taken did not match the order; the money was sent back.",
    "attempt_closed": "This attempt had been closed; the money that came through it was sent back.",
    "order_not_payable": "The order no longer awaited payment (paid another way, cancelled or expired); "
    "the money was sent back.",
}
OUTSIDE_REFUND = "Refunded at the payment provider, outside this API."
STRIPE_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.processing",
        "payment_intent.requires_action",
        "charge.refunded",
    }
)


@dataclass(frozen=True)
class OutsideRefund:
    """What a payable made of money refunded at the gateway: the amount it recorded against itself
    (0: nothing left to refund) and the earned points it took back."""

    amount_fen: int
    points_clawed_back: int = 0
    note: str = ""


class Payable(Protocol):
    """What an attempt pays, its row locked by whoever made this."""

    kind: str  # names its attempts at the gateway: "order", "bulk"
    id: int
    created_at: datetime  # with kind and id, keeps gateway keys apart across databases
    amount_fen: int  # what is owed, as the server computed it
    status: str  # said in the 409 when it does not await payment

    def owner(self) -> dict[str, int]:
        """Its column on the payment row and its id: {"order_id": 7}."""

    def awaits_payment(self) -> bool:
        """Whether a succeeded attempt may pay it now."""

    def past_due(self, now: datetime) -> bool:
        """Whether its time to be paid is up (an open attempt is then closed at the gateway)."""

    def mark_paid(self, session: Session, payment: Payment, *, actor_id: int | None, now: datetime) -> None:
        """The attempt succeeded and pays it (`actor_id`: who confirmed, None for the gateway's news)."""

    def take_outside_refund(self, session: Session, payment: Payment, amount_fen: int, now: datetime) -> OutsideRefund:
        """`amount_fen` of the attempt that paid it was refunded at the gateway: apply it."""

    def after_news(self, session: Session, now: datetime) -> None:
        """Anything due once the news is applied (a shop order past its time expires)."""


Resolve = Callable[[Session, Payment], Payable]


def short(gateway_id: str | None) -> str | None:
    """A gateway id for a reference column (Stripe's are far shorter; an oddity never fails a write)."""
    return gateway_id[:100] if gateway_id else None


def apply_intent_state(
    session: Session,
    payable: Payable,
    payment: Payment,
    state: IntentState,
    *,
    source: EventSource,
    stripe: StripeGateway,
    now: datetime,
) -> str:
    """Apply what the gateway says about one attempt. The caller holds the owner's row lock and has
    re-read the payment under it; the rules (payments.events.decide) make a repeat a no-op."""
    decision = decide(
        payment_status=payment.status,
        order_awaits_payment=payable.awaits_payment(),
        amount_fen=payment.amount_fen,
        currency=payment.currency,
        last_seen_at=payment.gateway_seen_at,
        state=state,
    )
    status_news = newer_status(payment.gateway_status, payment.gateway_seen_at, state)
    if status_news:
        payment.gateway_status = state.status
        if state.observed_at and (payment.gateway_seen_at is None or state.observed_at > payment.gateway_seen_at):
            payment.gateway_seen_at = state.observed_at
    if decision.action == Action.MARK_PAID:
        payment.transition(PaymentStatus.SUCCEEDED, at=now)
        payment.reference = short(state.charge_id) or payment.reference
        payable.mark_paid(session, payment, actor_id=None, now=now)
    elif decision.action == Action.RETURN_MONEY:
        return_money(session, payable, payment, state, reason=decision.reason, stripe=stripe, now=now)
    elif decision.action == Action.RECORD_FAILURE:
        payment.failure_message = (state.failure_message or "")[:500]
    elif decision.action == Action.CANCEL:
        payment.transition(PaymentStatus.CANCELLED, at=now)
    if source != EventSource.WEBHOOK and (decision.action != Action.NOTHING or status_news):
        payments.record_event(
            session,
            gateway_name=payment.gateway,
            source=source,
            type=f"payment_intent.{state.status}",
            object_id=state.intent_id,
            payment_id=payment.id,
            occurred_at=state.observed_at,
            outcome=decision.reason,
            now=now,
        )
    session.flush()
    return decision.reason


def return_money(
    session: Session,
    payable: Payable,
    payment: Payment,
    state: IntentState,
    *,
    reason: str,
    stripe: StripeGateway,
    now: datetime,
) -> None:
    """Money came through an attempt that cannot pay: send all of it back, once."""
    if state.refunded_fen:  # part went back at the gateway already
        payments.record_gateway_refund(
            session,
            payment,
            amount_fen=state.refunded_fen,
            kind=RefundKind.OUTSIDE,
            reference=short(state.charge_id),
            external_id=None,
            reason=OUTSIDE_REFUND,
            now=now,
        )
    external_id, returned = None, 0
    if state.amount_fen > state.refunded_fen:
        external_id, returned = stripe.return_money(payment)
    payment.refunded_fen = state.refunded_fen + returned
    payment.reference = short(state.charge_id) or payment.reference
    payment.failure_message = RETURN_REASONS[reason]
    payment.transition(PaymentStatus.RETURNED, at=now)
    if returned:
        payments.record_gateway_refund(
            session,
            payment,
            amount_fen=returned,
            kind=RefundKind.RETURN,
            reference=short(state.charge_id),
            external_id=external_id,
            reason=RETURN_REASONS[reason],
            now=now,
        )


# --- while paying: one open Stripe attempt at a time ------------------------------------------------


def reuse_stripe_attempt(
    session: Session, payable: Payable, attempts: list[Payment], *, stripe: StripeGateway, now: datetime
) -> Payment | None:
    """An attempt still open at Stripe, with a fresh client secret, instead of a second intent that
    could be paid as well (or the attempt that succeeded meanwhile); None if there is none."""
    for payment in attempts:
        state = stripe.retrieve(payment.external_id)
        apply_intent_state(session, payable, payment, state, source=EventSource.CHECKOUT, stripe=stripe, now=now)
        if payment.status == PaymentStatus.PENDING:
            payment.client_secret = state.client_secret
            return payment
        if payment.status == PaymentStatus.SUCCEEDED:  # paid already; the webhook is on its way
            return payment
    return None


def close_stripe_attempts(
    session: Session, payable: Payable, attempts: list[Payment], *, stripe: StripeGateway, now: datetime
) -> None:
    """Before paying another way or cancelling, close the open Stripe intents so no money can arrive
    through them afterwards. One that is completing (or has succeeded, the news still on its way)
    cannot be closed: refuse, its result settles the matter."""
    if not attempts:
        return
    for payment in attempts:
        state = stripe.cancel(payment.external_id)
        if state.status in ("succeeded", "processing"):
            raise PaymentInProgress(payment_id=payment.id, provider_status=state.status)
        apply_intent_state(session, payable, payment, state, source=EventSource.CHECKOUT, stripe=stripe, now=now)


# --- news from the gateway: webhooks, reconciliation -------------------------------------------------


def record_outside_refund(
    session: Session, payable: Payable, payment: Payment, charge: IntentState, refund_id: str | None, now: datetime
) -> str:
    """A refund made at the gateway (its dashboard), learned from charge.refunded: the money is
    recorded on the attempt and, as far as the payable takes it, against the payable."""
    if payment.status != PaymentStatus.SUCCEEDED:
        return "no order refund"
    outside = charge.refunded_fen - payment.refunded_fen  # the gateway's total minus what we recorded
    if outside <= 0:
        return "refunds already recorded"
    payment.refunded_fen += outside
    taken = payable.take_outside_refund(session, payment, outside, now)
    if taken.amount_fen <= 0:
        return "order refunded already"
    payments.record_gateway_refund(
        session,
        payment,
        amount_fen=taken.amount_fen,
        points_clawed_back=taken.points_clawed_back,
        kind=RefundKind.OUTSIDE,
        reference=short(charge.charge_id),
        external_id=refund_id,
        reason=OUTSIDE_REFUND,
        now=now,
    )
    return f"outside refund of {taken.amount_fen} fen recorded{taken.note}"


def handle_stripe_event(
    session: Session, event: dict, *, resolve: Resolve, stripe: StripeGateway, now: datetime
) -> PaymentEvent | None:
    """A verified Stripe event, processed once: stored by its id first (None: seen before, nothing
    done), then applied to its attempt and to what the attempt pays, under that row's lock."""
    try:
        kind, obj = str(event["type"]), event["data"]["object"]
        occurred = clock.datetime_from_timestamp(int(event["created"]))
        intent_id = None
        if kind.startswith("payment_intent."):
            intent_id = obj["id"]
        elif kind.startswith("charge."):
            intent_id = obj.get("payment_intent")
        state = None
        if kind in STRIPE_EVENTS and intent_id:
            state = charge_state(obj, occurred) if kind.startswith("charge.") else intent_state(obj, occurred)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InvalidEvent(reason=f"unreadable event: {error!r}") from error
    row = payments.record_event(
        session,
        gateway_name="stripe",
        source=EventSource.WEBHOOK,
        event_id=str(event["id"]),
        type=kind,
        object_id=intent_id or obj.get("id"),
        payload=event,
        occurred_at=occurred,
        now=now,
    )
    if row is None:
        return None
    if state is None:
        row.outcome = "ignored: not about a payment attempt"
        return row
    payment = payments.find_by_external_id(session, "stripe", state.intent_id)
    if payment is None:
        row.outcome = "ignored: unknown payment intent"
        return row
    row.payment_id = payment.id
    payable = resolve(session, payment)
    session.refresh(payment)
    outcome = apply_intent_state(session, payable, payment, state, source=EventSource.WEBHOOK, stripe=stripe, now=now)
    if kind == "charge.refunded":
        outcome += "; " + record_outside_refund(session, payable, payment, state, latest_refund_id(obj), now)
    payable.after_news(session, now)
    row.outcome = outcome
    session.flush()
    return row


def reconcile_payment(
    session: Session, payment_id: int, *, resolve: Resolve, stripe: StripeGateway, now: datetime
) -> str:
    """Ask Stripe about one attempt and apply what it says, as its webhook would have. An attempt we
    closed, or one whose owner no longer awaits it, is closed at Stripe too (unless money already came)."""
    payment = payments.get_payment(session, payment_id)
    state = stripe.retrieve(payment.external_id)
    payable = resolve(session, payment)
    session.refresh(payment)
    closing = payment.status != PaymentStatus.PENDING or not payable.awaits_payment() or payable.past_due(now)
    if closing and state.status not in TERMINAL and state.status != "processing":
        state = stripe.cancel(payment.external_id)
    outcome = apply_intent_state(session, payable, payment, state, source=EventSource.RECONCILE, stripe=stripe, now=now)
    payable.after_news(session, now)
    return outcome

"""What a gateway's news about one payment attempt means, decided without a database or a network.

The order side applies a decision under the order's row lock; the rules here make duplicate and
out-of-order news harmless: money that arrived is never ignored (it pays the order or goes back),
a success is final, and news older than what we know already changes nothing but the record."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from payments.models import PaymentStatus

# Stripe PaymentIntent statuses after which nothing more happens to the intent.
TERMINAL = frozenset({"succeeded", "canceled"})


@dataclass(frozen=True)
class IntentState:
    """What the gateway says about one attempt (a Stripe PaymentIntent), at one moment."""

    intent_id: str
    status: str  # the gateway's own word: succeeded, canceled, requires_payment_method, processing, …
    amount_fen: int  # received when succeeded, else asked
    currency: str
    failure_message: str | None = None
    charge_id: str | None = None
    refunded_fen: int = 0  # already refunded at the gateway when this was observed
    observed_at: datetime | None = None
    client_secret: str | None = None


class Action(enum.StrEnum):
    MARK_PAID = "mark_paid"  # the attempt succeeded and pays the order
    RETURN_MONEY = "return_money"  # money arrived that the order cannot take: send it back in full
    RECORD_FAILURE = "record_failure"  # a confirmation failed; the attempt stays open for another try
    CANCEL = "cancel"  # the gateway cancelled the attempt; the order stays payable (or expires)
    NOTHING = "nothing"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str


def decide(
    *,
    payment_status: PaymentStatus,
    order_awaits_payment: bool,
    amount_fen: int,
    currency: str,
    last_seen_at: datetime | None,
    state: IntentState,
) -> Decision:
    """One rule table for webhooks, reconciliation and the answers the gateway gives while paying."""
    if state.status == "succeeded":
        if payment_status in (PaymentStatus.SUCCEEDED, PaymentStatus.RETURNED):
            return Decision(Action.NOTHING, "already_applied")
        if state.amount_fen != amount_fen or state.currency.lower() != currency.lower():
            return Decision(Action.RETURN_MONEY, "amount_mismatch")
        if payment_status != PaymentStatus.PENDING:
            return Decision(Action.RETURN_MONEY, "attempt_closed")
        if not order_awaits_payment:
            return Decision(Action.RETURN_MONEY, "order_not_payable")
        return Decision(Action.MARK_PAID, "paid")
    if payment_status != PaymentStatus.PENDING:
        return Decision(Action.NOTHING, "attempt_closed")
    if state.status == "canceled":
        return Decision(Action.CANCEL, "cancelled_at_gateway")
    if state.failure_message:
        if is_stale(last_seen_at, state):
            return Decision(Action.NOTHING, "stale")
        return Decision(Action.RECORD_FAILURE, "failed")
    return Decision(Action.NOTHING, "in_progress")


def is_stale(last_seen_at: datetime | None, state: IntentState) -> bool:
    """Older than what we know already. Stripe stamps events in whole seconds, so news within the
    same second as the last is not stale."""
    if last_seen_at is None or state.observed_at is None:
        return False
    return int(state.observed_at.timestamp()) < int(last_seen_at.timestamp())


def newer_status(current: str | None, last_seen_at: datetime | None, state: IntentState) -> bool:
    """Whether `state` should replace the status we hold: a terminal status is never replaced, and
    an older observation never replaces a newer one."""
    if current in TERMINAL:
        return False
    return state.status in TERMINAL or not is_stale(last_seen_at, state)


# --- reading Stripe's objects (plain dicts, as a webhook or the API sends them) ------------------


def _charge_id_and_refunded(charge) -> tuple[str | None, int]:
    if isinstance(charge, dict):
        return charge.get("id"), int(charge.get("amount_refunded") or 0)
    return (charge if isinstance(charge, str) else None), 0


def intent_state(intent: dict, observed_at: datetime | None) -> IntentState:
    """A PaymentIntent object → IntentState."""
    status = str(intent["status"])
    amount = intent.get("amount_received") if status == "succeeded" else None
    charge_id, refunded = _charge_id_and_refunded(intent.get("latest_charge"))
    error = intent.get("last_payment_error") or {}
    return IntentState(
        intent_id=str(intent["id"]),
        status=status,
        amount_fen=int(amount if amount is not None else intent["amount"]),
        currency=str(intent["currency"]),
        failure_message=(error.get("message") or error.get("code")) if isinstance(error, dict) else None,
        charge_id=charge_id,
        refunded_fen=refunded,
        observed_at=observed_at,
        client_secret=intent.get("client_secret"),
    )


def charge_state(charge: dict, observed_at: datetime | None) -> IntentState:
    """A succeeded Charge (as in charge.refunded) says its PaymentIntent succeeded with that money."""
    return IntentState(
        intent_id=str(charge["payment_intent"]),
        status="succeeded" if charge.get("status") == "succeeded" or charge.get("paid") else str(charge.get("status")),
        amount_fen=int(charge["amount"]),
        currency=str(charge["currency"]),
        charge_id=str(charge["id"]),
        refunded_fen=int(charge.get("amount_refunded") or 0),
        observed_at=observed_at,
    )


def latest_refund_id(charge: dict) -> str | None:
    refunds = (charge.get("refunds") or {}).get("data") if isinstance(charge.get("refunds"), dict) else None
    if not refunds:
        return None
    return max(refunds, key=lambda r: (r.get("created") or 0, r.get("id") or "")).get("id")

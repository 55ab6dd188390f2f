"""The one payment flow, for anything that is a `Payable` (payments.intents.Payable): a shop order, an
organisation's bulk order, and whatever comes next.

- `start`: start an attempt for what the payable owes, reuse the attempt open at Stripe (a retry, a
  second tab: never a second intent that could be paid as well), or close it at Stripe before paying
  another way; a gateway that settles at once (points, a voucher) pays the payable there and then.
- `confirm_offline`: record the bank transfer of an offline attempt, and who confirmed it.
- `with_client_secret`: an answer replayed for an Idempotency-Key gets the Stripe client secret again
  (it is never stored).
- `handle_stripe_event`, `reconcile_payment`: the gateway's news, applied to the payable the attempt
  pays (found through the registry), refunds made at the gateway included
  (payments.intents.record_outside_refund).

A payable slice writes none of this; it gives a Payable for its row and registers at start-up. A
service booking, say, plugs in like this:

    # payments/models.py: OWNER_COLUMNS gains "booking_id" (a column on payments and refunds, migrated)

    # shop/bookings/service.py
    @dataclass
    class BookingPayable(payables.RowPayable):  # id, created_at, amount_fen, status, owner() of `row`
        booking: Booking
        kind, column = "booking", "booking_id"
        row = property(lambda self: self.booking)

        def awaits_payment(self): return self.booking.status == BookingStatus.PENDING_PAYMENT
        def past_due(self, now): return self.booking.hold_expires_at <= now
        def mark_paid(self, session, payment, *, actor_id, now): confirm_slot(session, self.booking, actor_id, now)
        def take_outside_refund(self, session, payment, amount_fen, now): return OutsideRefund(amount_fen)
        def after_news(self, session, now): release_if_due(session, self.booking, now)

    def payable(session, booking_id): return BookingPayable(lock(session, booking_id))

    def pay_booking(session, actor, booking_id, *, gateway_name, payments, now):
        return payables.start(session, payable(session, booking_id), payments=payments,
                              gateway_name=gateway_name, actor_id=actor.user_id, payer_id=actor.user_id, now=now)

    # shop/settings.py, build(): at start-up, beside orders and procurement
    registry.register_payable("booking_id", bookings.service.payable)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from payments import intents
from payments import service as payments_service
from payments.errors import NotPayable
from payments.intents import OutsideRefund, Payable
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.registry import Payments
from shop.db import transaction
from shop.errors import DomainError, NotFound

__all__ = [
    "OutsideRefund",
    "Payable",
    "Payments",
    "RowPayable",
    "close_attempts",
    "confirm_offline",
    "gateway_key",
    "handle_stripe_event",
    "reconcile_payment",
    "start",
    "with_client_secret",
]


class RowPayable:
    """What most payables share: one row (`row`) with its id, creation instant, `total_fen` owed and a
    status enum, named on the payment by `column`."""

    kind: str
    column: str

    @property
    def row(self) -> Any:
        raise NotImplementedError

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def created_at(self) -> datetime:
        return self.row.created_at

    @property
    def amount_fen(self) -> int:
        return self.row.total_fen

    @property
    def status(self) -> str:
        return self.row.status.value

    def owner(self) -> dict[str, int]:
        return {self.column: self.row.id}


def gateway_key(payable: Payable, attempt: int) -> str:
    """Names one Stripe attempt of a payable, for Stripe's idempotency keys: the same again after a
    rolled-back request (the count of committed attempts has not moved), and distinct across databases
    that share a Stripe account (the payable's creation instant, to the microsecond)."""
    created = int(payable.created_at.timestamp() * 1_000_000)
    return f"{payable.kind}-{payable.id}-{created}-attempt-{attempt}"


def _attempt_args(payable: Payable) -> tuple[int | None, dict]:
    owner = dict(payable.owner())
    return owner.pop("order_id", None), owner


def start(
    session: Session,
    payable: Payable,
    *,
    payments: Payments,
    gateway_name: str,
    actor_id: int,
    payer_id: int,
    now: datetime,
    details: Mapping | None = None,
    allowed: Iterable[str] | None = None,
) -> Payment:
    """Start paying what the payable owes through `gateway_name` (one of `allowed`); see the module."""
    if not payable.awaits_payment():
        raise NotPayable(status=payable.status)
    gateway = payments.gateway(gateway_name, allowed)
    order_id, others = _attempt_args(payable)
    key = None
    if gateway_name == payments.stripe.name:
        attempts = payments_service.open_attempts(session, order_id, "stripe", **others)
        reused = intents.reuse_stripe_attempt(session, payable, attempts, stripe=payments.stripe, now=now)
        if reused is not None:
            return reused
        key = gateway_key(payable, payments_service.count_attempts(session, order_id, "stripe", **others) + 1)
    else:
        close_attempts(session, payable, payments=payments, now=now)
    payment = payments_service.start_payment(
        session,
        **payable.owner(),
        buyer_id=payer_id,
        amount_fen=payable.amount_fen,
        gateway=gateway,
        gateway_key=key,
        details=details,
        now=now,
    )
    if payment.status == PaymentStatus.SUCCEEDED:
        payable.mark_paid(session, payment, actor_id=actor_id, now=now)
    return payment


def close_attempts(session: Session, payable: Payable, *, payments: Payments, now: datetime) -> None:
    """Before the payable is paid another way or cancelled, close its open Stripe intents (409
    `payment_in_progress` if one is completing; see payments.intents.close_stripe_attempts)."""
    order_id, others = _attempt_args(payable)
    attempts = payments_service.open_attempts(session, order_id, "stripe", **others)
    intents.close_stripe_attempts(session, payable, attempts, stripe=payments.stripe, now=now)


def confirm_offline(
    session: Session,
    payable: Payable,
    payment: Payment | None,
    *,
    payments: Payments,
    reference: str,
    actor_id: int,
    now: datetime,
) -> Payment:
    """Record the transfer that paid an offline attempt of the payable, and who confirmed it; the
    payable is paid. Refused (409) if it no longer awaits payment: the transfer must go back."""
    if payment is None or payment.owner() != dict(payable.owner()):
        raise NotFound("No such payment.")
    if not payable.awaits_payment():
        raise NotPayable(
            "It is no longer awaiting payment; return the transfer.",
            status=payable.status,
        )
    payments.gateway(payment.gateway).confirm(session, payment, reference=reference, now=now)
    payment.confirmed_by_id = actor_id
    session.flush()
    payable.mark_paid(session, payment, actor_id=actor_id, now=now)
    return payment


def with_client_secret(payment: Payment, *, payments: Payments) -> Payment:
    """A replayed answer of a pending Stripe attempt: the secret is never stored, Stripe tells it again."""
    if (
        payment.gateway == payments.stripe.name
        and payment.status == PaymentStatus.PENDING
        and not payment.client_secret
    ):
        payment.client_secret = payments.stripe.retrieve(payment.external_id).client_secret
    return payment


def handle_stripe_event(session: Session, event: dict, *, payments: Payments, now: datetime) -> PaymentEvent | None:
    return intents.handle_stripe_event(session, event, resolve=payments.resolve, stripe=payments.stripe, now=now)


def reconcile_payment(session: Session, payment_id: int, *, payments: Payments, now: datetime) -> str:
    return intents.reconcile_payment(session, payment_id, resolve=payments.resolve, stripe=payments.stripe, now=now)


def reconcile_pending(
    factory: sessionmaker[Session], *, payments: Payments, pending_before: datetime, limit: int, clock
) -> tuple[dict[str, int], list[tuple[int, DomainError]]]:
    """Ask Stripe about attempts pending since before `pending_before` (a webhook may have been lost)
    and apply what it says, each attempt in its own transaction: the outcomes counted, and the
    attempts Stripe could not be asked about (safe to ask again later). The one body of
    `flask payments reconcile` and the worker's `payments.reconcile` job."""
    with transaction(factory) as session:
        ids = payments_service.to_reconcile(session, "stripe", pending_before=pending_before, limit=limit)
    outcomes: dict[str, int] = {}
    failed: list[tuple[int, DomainError]] = []
    for payment_id in ids:
        try:
            with transaction(factory, write=True) as session:
                outcome = reconcile_payment(session, payment_id, payments=payments, now=clock.now())
        except DomainError as error:
            failed.append((payment_id, error))
            continue
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes, failed

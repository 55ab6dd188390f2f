"""What a payment attempt pays: a shop order or an organisation's bulk order.

Stripe's news (the webhook) and reconciliation are the same for both; they are dispatched here on the
payment row (`order_id` or `bulk_order_id`) to the owner's `Payable`, so that `payments/` knows
neither owner and neither owner knows the other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from payments import intents
from payments.models import Payment, PaymentEvent
from shop.orders import service as orders
from shop.procurement import bulk_orders


@dataclass(frozen=True)
class PayableSettings:
    orders: orders.OrderSettings
    procurement: bulk_orders.ProcurementSettings

    @property
    def payments(self):
        return self.orders.payments


def resolver(settings: PayableSettings) -> intents.Resolve:
    def resolve(session: Session, payment: Payment) -> intents.Payable:
        """Lock the owner's row and hand it over."""
        if payment.bulk_order_id is not None:
            return bulk_orders.payable(session, payment.bulk_order_id, settings.procurement)
        return orders.payable(session, payment.order_id)

    return resolve


def handle_stripe_event(
    session: Session, event: dict, *, settings: PayableSettings, now: datetime
) -> PaymentEvent | None:
    return intents.handle_stripe_event(session, event, resolve=resolver(settings), settings=settings.payments, now=now)


def reconcile_payment(session: Session, payment_id: int, *, settings: PayableSettings, now: datetime) -> str:
    return intents.reconcile_payment(
        session, payment_id, resolve=resolver(settings), settings=settings.payments, now=now
    )

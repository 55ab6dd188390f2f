"""The gateway protocol and the gateways that need no outside engine (Stripe: stripe_gateway.py).

A gateway starts a payment attempt (it may succeed at once), confirms it when proof arrives, and
refunds. Gateways move money or points; what a payment means for what it pays is the payable's
business (payments.payables). Gateways are built once at start-up and registered by name
(payments.registry); they keep no state of one payment: what one attempt needs beyond the payment
row (a voucher's code) comes in `details`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from payments.models import Payment, PaymentStatus
from shop.errors import InvalidInput
from shop.points import service as points
from shop.points.models import PointsKind


@dataclass(frozen=True)
class RefundResult:
    points_returned: int = 0  # points the gateway gave back (points payments)
    external_id: str | None = None  # the gateway's id of the refund


class Gateway(Protocol):
    name: str

    def start(self, session: Session, payment: Payment, *, buyer_id: int, details: Mapping, now: datetime) -> None:
        """Begin the attempt (`details`: what the payer gave besides the gateway's name, such as a
        voucher's code); a gateway that can settle at once moves it to succeeded."""

    def confirm(self, session: Session, payment: Payment, *, reference: str, now: datetime) -> None:
        """Record proof that the money arrived."""

    def refund(
        self,
        session: Session,
        payment: Payment,
        *,
        buyer_id: int,
        actor_id: int | None,
        amount_fen: int,
        reference: str | None,
        order_id: int | None,
    ) -> RefundResult:
        """Give `amount_fen` back (`actor_id`: who refunds)."""


@dataclass(frozen=True)
class PointsGateway:
    """Pays the cash total with points at the configured value of a point."""

    point_value_fen: int
    name: str = "points"

    def points_for(self, amount_fen: int) -> int:
        return -(-amount_fen // self.point_value_fen)  # round up: never pay less than owed

    def start(self, session: Session, payment: Payment, *, buyer_id: int, details: Mapping, now: datetime) -> None:
        payment.points_used = self.points_for(payment.amount_fen)
        if payment.points_used:
            points.post(
                session,
                buyer_id,
                -payment.points_used,
                PointsKind.SPEND,
                order_id=payment.order_id,
                note="paid with points",
            )
        payment.transition(PaymentStatus.SUCCEEDED, at=now)

    def confirm(self, session: Session, payment: Payment, *, reference: str, now: datetime) -> None:
        raise InvalidInput("A points payment needs no confirmation.", fields={"gateway": ["Settles at once."]})

    def refund(self, session, payment, *, buyer_id, actor_id, amount_fen, reference, order_id) -> RefundResult:
        returned = min(self.points_for(amount_fen), payment.points_used)
        if returned:
            points.post(session, buyer_id, returned, PointsKind.RETURN, order_id=order_id, note="refund")
        return RefundResult(points_returned=returned)


@dataclass(frozen=True)
class OfflineTransferGateway:
    """A bank transfer: pending until an admin or finance officer records the transfer reference."""

    name: str = "offline"

    def start(self, session: Session, payment: Payment, *, buyer_id: int, details: Mapping, now: datetime) -> None:
        return None  # stays pending

    def confirm(self, session: Session, payment: Payment, *, reference: str, now: datetime) -> None:
        payment.reference = reference
        payment.transition(PaymentStatus.SUCCEEDED, at=now)

    def refund(self, session, payment, *, buyer_id, actor_id, amount_fen, reference, order_id) -> RefundResult:
        if not reference:
            raise InvalidInput(
                "An offline refund needs the reference of the transfer back.",
                fields={"reference": ["Required for offline payments."]},
            )
        return RefundResult()

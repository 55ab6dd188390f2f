"""Payment attempts and refunds, kept apart from what they mean for an order (the order side decides)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from payments.gateways import Gateway, OfflineTransferGateway, PointsGateway
from payments.models import Payment, PaymentStatus, Refund
from shop.errors import InvalidInput, NotFound
from shop.paging import paginate

GATEWAYS = ("points", "offline")


def gateway(name: str, point_value_fen: int = 1) -> Gateway:
    if name == "points":
        return PointsGateway(point_value_fen=point_value_fen)
    if name == "offline":
        return OfflineTransferGateway()
    raise InvalidInput("Unknown payment gateway.", fields={"gateway": [f"One of {', '.join(GATEWAYS)}."]})


def start_payment(
    session: Session, *, order_id: int, buyer_id: int, amount_fen: int, gateway: Gateway, now: datetime
) -> Payment:
    """A new attempt replaces any attempt still pending for the order."""
    cancel_pending(session, order_id, now=now)
    payment = Payment(
        order_id=order_id, gateway=gateway.name, status=PaymentStatus.PENDING, amount_fen=amount_fen, created_at=now
    )
    session.add(payment)
    session.flush()
    gateway.start(session, payment, buyer_id=buyer_id, now=now)
    session.flush()
    return payment


def get_payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("No such payment.")
    return payment


def confirm_payment(session: Session, payment: Payment, *, reference: str, now: datetime) -> None:
    gateway(payment.gateway).confirm(session, payment, reference=reference, now=now)
    session.flush()


def cancel_pending(session: Session, order_id: int, *, now: datetime) -> None:
    for payment in session.scalars(
        sa.select(Payment).where(Payment.order_id == order_id, Payment.status == PaymentStatus.PENDING)
    ):
        payment.transition(PaymentStatus.CANCELLED, at=now)


def succeeded_payment(session: Session, order_id: int) -> Payment | None:
    return session.scalar(
        sa.select(Payment).where(Payment.order_id == order_id, Payment.status == PaymentStatus.SUCCEEDED)
    )


def refund_payment(
    session: Session, *, order_id: int, buyer_id: int, amount_fen: int, reference: str | None, point_value_fen: int
) -> int:
    """Give money back through the gateway that took it; returns points the gateway returned."""
    payment = succeeded_payment(session, order_id)
    if payment is None or amount_fen == 0:
        return 0
    return gateway(payment.gateway, point_value_fen).refund(
        session, payment, buyer_id=buyer_id, amount_fen=amount_fen, reference=reference, order_id=order_id
    )


def record_refund(
    session: Session,
    *,
    order_id: int,
    amount_fen: int,
    lines: list[dict],
    points_returned: int,
    points_clawed_back: int,
    reference: str | None,
    reason: str,
    actor_id: int,
    now: datetime,
) -> Refund:
    payment = succeeded_payment(session, order_id)
    refund = Refund(
        order_id=order_id,
        payment_id=payment.id if payment else None,
        amount_fen=amount_fen,
        lines=lines,
        points_returned=points_returned,
        points_clawed_back=points_clawed_back,
        reference=reference,
        reason=reason,
        created_by_id=actor_id,
        created_at=now,
    )
    session.add(refund)
    session.flush()
    return refund


def list_payments(session: Session, order_id: int, *, page: int, size: int):
    return paginate(
        session, sa.select(Payment).where(Payment.order_id == order_id), order_by=Payment.id, page=page, size=size
    )


def list_refunds(session: Session, order_id: int, *, page: int, size: int):
    return paginate(
        session, sa.select(Refund).where(Refund.order_id == order_id), order_by=Refund.id, page=page, size=size
    )


def get_refund(session: Session, refund_id: int) -> Refund:
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFound("No such refund.")
    return refund

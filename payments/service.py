"""Payment rows: attempts, refunds and gateway events, kept apart from what they mean for what they pay
(the flow over them, for any payable, is payments.payables)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from payments.events import TERMINAL
from payments.gateways import Gateway, RefundResult
from payments.models import OWNER_COLUMNS, EventSource, Payment, PaymentEvent, PaymentStatus, Refund, RefundKind
from payments.stripe_gateway import StripeSettings
from shop.errors import NotFound
from shop.paging import paginate


@dataclass(frozen=True)
class PaymentSettings:
    point_value_fen: int = 1
    stripe: StripeSettings = field(default_factory=StripeSettings)


def owned_by(order_id: int | None = None, bulk_order_id: int | None = None, **owner: int) -> sa.ColumnElement[bool]:
    """The attempts of one thing paid: owned_by(order_id=7), owned_by(bulk_order_id=3), owned_by(**payment.owner())."""
    owner = {k: v for k, v in {"order_id": order_id, "bulk_order_id": bulk_order_id, **owner}.items() if v is not None}
    if len(owner) != 1 or not set(owner) <= set(OWNER_COLUMNS):
        raise ValueError(f"a payment pays one thing: one of {OWNER_COLUMNS}")
    ((column, value),) = owner.items()
    return getattr(Payment, column) == value


def start_payment(
    session: Session,
    *,
    order_id: int | None = None,
    bulk_order_id: int | None = None,
    buyer_id: int,
    amount_fen: int,
    gateway: Gateway,
    now: datetime,
    gateway_key: str | None = None,
    details: Mapping | None = None,
) -> Payment:
    """A new attempt replaces any attempt still pending for the order (the caller closes attempts
    open at an outside gateway first)."""
    cancel_pending(session, order_id, bulk_order_id=bulk_order_id, now=now)
    payment = Payment(
        order_id=order_id,
        bulk_order_id=bulk_order_id,
        gateway=gateway.name,
        status=PaymentStatus.PENDING,
        amount_fen=amount_fen,
        currency="CNY",
        gateway_key=gateway_key,
        created_at=now,
    )
    session.add(payment)
    session.flush()
    gateway.start(session, payment, buyer_id=buyer_id, details=details or {}, now=now)
    session.flush()
    return payment


def get_payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("No such payment.")
    return payment


def find_by_external_id(session: Session, gateway_name: str, external_id: str) -> Payment | None:
    return session.scalar(sa.select(Payment).where(Payment.gateway == gateway_name, Payment.external_id == external_id))


def open_attempts(
    session: Session, order_id: int | None, gateway_name: str, *, bulk_order_id: int | None = None
) -> list[Payment]:
    """Attempts of the order (or bulk order) still pending at that gateway, oldest first."""
    return list(
        session.scalars(
            sa.select(Payment)
            .where(
                owned_by(order_id, bulk_order_id),
                Payment.gateway == gateway_name,
                Payment.status == PaymentStatus.PENDING,
            )
            .order_by(Payment.id)
            .execution_options(populate_existing=True)
        )
    )


def count_attempts(
    session: Session, order_id: int | None, gateway_name: str, *, bulk_order_id: int | None = None
) -> int:
    return session.scalar(
        sa.select(sa.func.count()).where(owned_by(order_id, bulk_order_id), Payment.gateway == gateway_name)
    )


def cancel_pending(
    session: Session, order_id: int | None = None, *, bulk_order_id: int | None = None, now: datetime
) -> None:
    for payment in session.scalars(
        sa.select(Payment).where(owned_by(order_id, bulk_order_id), Payment.status == PaymentStatus.PENDING)
    ):
        payment.transition(PaymentStatus.CANCELLED, at=now)


def succeeded_payment(
    session: Session, order_id: int | None = None, *, bulk_order_id: int | None = None
) -> Payment | None:
    """The payment that paid the order or the bulk order (at most one: a unique index says so)."""
    return session.scalar(
        sa.select(Payment).where(owned_by(order_id, bulk_order_id), Payment.status == PaymentStatus.SUCCEEDED)
    )


def refund_payment(
    session: Session,
    payment: Payment | None,
    *,
    buyer_id: int,
    amount_fen: int,
    reference: str | None,
    actor_id: int | None,
    gateway: Callable[[str], Gateway],
) -> RefundResult:
    """Give `amount_fen` of a succeeded attempt back through the gateway that took it (`gateway`: the
    registry's lookup by name), and count it on the attempt. Nothing paid, nothing to give back."""
    if payment is None or amount_fen == 0:
        return RefundResult()
    result = gateway(payment.gateway).refund(
        session,
        payment,
        buyer_id=buyer_id,
        actor_id=actor_id,
        amount_fen=amount_fen,
        reference=reference,
        order_id=payment.order_id,
    )
    payment.refunded_fen += amount_fen
    session.flush()
    return result


def record_gateway_refund(
    session: Session,
    payment: Payment,
    *,
    amount_fen: int,
    kind: RefundKind,
    reference: str | None,
    external_id: str | None,
    reason: str,
    now: datetime,
    points_clawed_back: int = 0,
) -> Refund:
    """Money of an attempt went back at the gateway (sent back by us, or refunded there): recorded
    against whatever the attempt pays."""
    return record_refund(
        session,
        **payment.owner(),
        amount_fen=amount_fen,
        lines=[],
        points_returned=0,
        points_clawed_back=points_clawed_back,
        reference=reference,
        external_id=external_id,
        reason=reason,
        actor_id=None,
        now=now,
        kind=kind,
        payment=payment,
    )


def record_refund(
    session: Session,
    *,
    order_id: int | None = None,
    bulk_order_id: int | None = None,
    amount_fen: int,
    lines: list[dict],
    points_returned: int,
    points_clawed_back: int,
    reference: str | None,
    reason: str,
    actor_id: int | None,
    now: datetime,
    kind: RefundKind = RefundKind.REFUND,
    payment: Payment | None = None,
    external_id: str | None = None,
) -> Refund:
    payment = payment or (succeeded_payment(session, order_id) if order_id is not None else None)
    refund = Refund(
        order_id=order_id,
        bulk_order_id=bulk_order_id,
        payment_id=payment.id if payment else None,
        kind=kind,
        amount_fen=amount_fen,
        lines=lines,
        points_returned=points_returned,
        points_clawed_back=points_clawed_back,
        reference=reference,
        external_id=external_id,
        reason=reason,
        created_by_id=actor_id,
        created_at=now,
    )
    session.add(refund)
    session.flush()
    return refund


def record_event(
    session: Session,
    *,
    gateway_name: str,
    source: EventSource,
    type: str,
    now: datetime,
    event_id: str | None = None,
    object_id: str | None = None,
    payment_id: int | None = None,
    payload: dict | None = None,
    occurred_at: datetime | None = None,
    outcome: str = "",
) -> PaymentEvent | None:
    """Store what the gateway told us. A webhook event is stored once by its id: None means it was
    stored already (a duplicate delivery; a concurrent one waits for the first and then sees it)."""
    values = {
        "gateway": gateway_name,
        "source": source,
        "event_id": event_id,
        "type": type,
        "object_id": object_id,
        "payment_id": payment_id,
        "payload": payload,
        "occurred_at": occurred_at,
        "received_at": now,
        "outcome": outcome,
    }
    if event_id is None:
        event = PaymentEvent(**values)
        session.add(event)
        session.flush()
        return event
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    new_id = session.scalar(
        insert(PaymentEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["gateway", "event_id"])
        .returning(PaymentEvent.id)
    )
    return None if new_id is None else session.get(PaymentEvent, new_id)


def to_reconcile(session: Session, gateway_name: str, *, pending_before: datetime, limit: int) -> list[int]:
    """Attempts to ask the gateway about: pending for a while (a webhook may be lost), and attempts we
    closed on our side whose intent is not known to be closed at the gateway."""
    stmt = (
        sa.select(Payment.id)
        .where(
            Payment.gateway == gateway_name,
            Payment.external_id.is_not(None),
            sa.or_(
                sa.and_(Payment.status == PaymentStatus.PENDING, Payment.created_at <= pending_before),
                sa.and_(
                    Payment.status == PaymentStatus.CANCELLED,
                    sa.or_(Payment.gateway_status.is_(None), Payment.gateway_status.not_in(sorted(TERMINAL))),
                ),
            ),
        )
        .order_by(Payment.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def list_payments(session: Session, order_id: int, *, page: int, size: int):
    return paginate(
        session,
        sa.select(Payment).options(selectinload(Payment.events)).where(Payment.order_id == order_id),
        order_by=Payment.id,
        page=page,
        size=size,
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

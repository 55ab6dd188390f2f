"""The life of an order: pay, cancel or expire, prepare, hand over, complete (checkout is in
`shop.orders.checkout`, refunds in `shop.orders.refunds`).

Every state change goes through Order.transition and locks the order row first, so a payment, a
cancel and an expiry racing for one order cannot both win."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from payments import payables
from payments import service as payments
from payments.models import Payment
from payments.registry import Payments
from shop.attempts import count_wrong
from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.bookings import holds as booking_holds
from shop.errors import Forbidden, NotFound
from shop.inventory import reservations
from shop.inventory.models import Location
from shop.orders.errors import (
    NotAwaitingPickup,
    NotDelivery,
    NotPickup,
    NotReady,
    NotShipped,
    PickupLocked,
    WrongPickupCode,
)
from shop.orders.models import Fulfilment, Order, OrderEvent, OrderStatus
from shop.paging import paginate
from shop.points import service as points
from shop.points.models import PointsKind
from shop.promotions import quoting
from shop.promotions import service as offers
from shop.statistics import facts as sales_facts


@dataclass(frozen=True)
class OrderSettings:
    payment_minutes: int = 30
    points: quoting.PointsSettings = field(default_factory=quoting.PointsSettings)
    earn_per_yuan: int = 1
    earn_per_yuan_deep_poverty: int = 2
    # the gateways (built once at start-up, with the voucher gateway procurement registers)
    payments: Payments = field(default_factory=Payments)
    pickup_max_attempts: int = 5  # wrong pick-up codes before the code is locked


# --- references of the stock an order holds ---------------------------------------------------


def gift_reference(order: Order, promotion_id: int) -> str:
    return f"{order.reservation_reference}:gift:{promotion_id}"


def hold_references(order: Order) -> list[str]:
    gifts = [gift_reference(order, line.gift_promotion_id) for line in order.lines if line.gift_promotion_id]
    return [order.reservation_reference, *gifts]


# --- reading ---------------------------------------------------------------------------------


def lock(session: Session, order_id: int) -> Order:
    """The order with its row locked (every state change starts here)."""
    return _lock(session, order_id)


def _lock(session: Session, order_id: int) -> Order:
    order = session.scalar(
        sa.select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound("No such order.")
    return order


def _can_operate(session: Session, actor: Actor, order: Order) -> bool:
    if actor.is_admin:
        return True
    location = session.get(Location, order.location_id)
    return location is not None and location.within(actor.scopes(Role.HALL_OPERATOR))


def _visible(session: Session, actor: Actor, order: Order | None) -> Order:
    if order is None or not (order.buyer_id == actor.user_id or _can_operate(session, actor, order)):
        raise NotFound("No such order.")
    return order


def get_order(session: Session, actor: Actor, order_id: int, *, now: datetime) -> Order:
    expire_due(session, now, order_ids=[order_id])
    order = session.scalar(sa.select(Order).options(selectinload(Order.lines)).where(Order.id == order_id))
    return _visible(session, actor, order)


def list_my_orders(session: Session, actor: Actor, *, status: OrderStatus | None, now: datetime, page: int, size: int):
    expire_due(session, now, buyer_id=actor.user_id)
    stmt = sa.select(Order).options(selectinload(Order.lines)).where(Order.buyer_id == actor.user_id)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    return paginate(session, stmt, order_by=Order.id.desc(), page=page, size=size)


def list_location_orders(
    session: Session, actor: Actor, *, location_id: int | None, status: OrderStatus | None, page: int, size: int
):
    """Operators: the orders of the locations they run (admins: all)."""
    stmt = sa.select(Order).options(selectinload(Order.lines))
    if not actor.is_admin:
        scopes = actor.scopes(Role.HALL_OPERATOR)
        if not scopes:
            raise Forbidden("Only hall operators see the orders of locations.")
        mine = sa.select(Location.id).where(sa.or_(*[Location.path.contains(f"/{s}/") for s in scopes]))
        stmt = stmt.where(Order.location_id.in_(mine))
    if location_id is not None:
        stmt = stmt.where(Order.location_id == location_id)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    return paginate(session, stmt, order_by=Order.id.desc(), page=page, size=size)


def list_events(session: Session, actor: Actor, order_id: int, *, page: int, size: int):
    _visible(session, actor, session.get(Order, order_id))
    stmt = sa.select(OrderEvent).where(OrderEvent.order_id == order_id)
    return paginate(session, stmt, order_by=OrderEvent.id, page=page, size=size)


# --- paying ----------------------------------------------------------------------------------


def mark_paid(session: Session, order: Order, *, actor_id: int | None, now: datetime) -> None:
    order.transition(OrderStatus.PAID, actor_id=actor_id, at=now)
    order.paid_fen, order.paid_at = order.total_fen, now
    if order.fulfilment == Fulfilment.PICKUP:
        order.pickup_code = f"{secrets.randbelow(1_000_000):06d}"
    if order.fulfilment == Fulfilment.BOOKING:
        booking_holds.confirm_order(session, order, actor_id=actor_id, now=now)
    else:
        for reference in hold_references(order):
            reservations.commit_reservation(session, reference=reference, now=now)
    # Other attempts still open are closed here; money arriving through one later goes back.
    payments.cancel_pending(session, order.id, now=now)
    session.flush()


def pay_order(
    session: Session,
    actor: Actor,
    order_id: int,
    *,
    gateway_name: str,
    settings: OrderSettings,
    now: datetime,
    voucher_code: str | None = None,
) -> Payment:
    """Start a payment attempt for the order's total as the server computed it (payments.payables.start:
    a Stripe attempt open is reused, paying another way closes it first).

    Voucher: the whole total is taken off the value voucher whose code the buyer gives, in this
    transaction (shop.procurement.voucher_gateway)."""
    expire_due(session, now, order_ids=[order_id])
    order = _lock(session, order_id)
    if order.buyer_id != actor.user_id:
        raise NotFound("No such order.")
    return payables.start(
        session,
        OrderPayable(order),
        payments=settings.payments,
        gateway_name=gateway_name,
        actor_id=actor.user_id,
        payer_id=order.buyer_id,
        details={"voucher_code": voucher_code},
        now=now,
    )


def confirm_offline_payment(
    session: Session,
    actor: Actor,
    payment_id: int,
    *,
    reference: str,
    now: datetime,
    settings: OrderSettings | None = None,
) -> Payment:
    """An admin records the bank transfer that paid an order."""
    actor.require(Role.ADMIN)
    payment = payments.get_payment(session, payment_id)
    if payment.order_id is None:
        raise NotFound("No such order.")
    order = _lock(session, payment.order_id)
    return payables.confirm_offline(
        session,
        OrderPayable(order),
        payment,
        payments=(settings or OrderSettings()).payments,
        reference=reference,
        actor_id=actor.user_id,
        now=now,
    )


# --- cancel and expiry -----------------------------------------------------------------------


def _release_holds(session: Session, order: Order, now: datetime) -> None:
    if order.fulfilment == Fulfilment.BOOKING:
        booking_holds.release_order(session, order, actor_id=None, now=now, reason=f"order {order.number} not paid")
    else:
        for reference in hold_references(order):
            reservations.release_reservation(session, reference=reference, now=now)
    if order.coupon_id:
        offers.release_coupon(session, order.coupon_id, order.buyer_id)
    for line in order.lines:
        if line.rush_sale_id:
            offers.release_rush_sale(session, line.rush_sale_id, order.buyer_id, line.quantity)
        if line.gift_promotion_id:
            offers.release_gift(session, line.gift_promotion_id, line.quantity)
    held = order.points_redeemed + order.points_cost
    if held:
        points.post(
            session, order.buyer_id, held, PointsKind.RETURN, order_id=order.id, note=f"order {order.number} not paid"
        )
    payments.cancel_pending(session, order.id, now=now)


def cancel_order(
    session: Session, actor: Actor, order_id: int, *, now: datetime, settings: OrderSettings | None = None
) -> Order:
    order = _lock(session, order_id)
    if order.buyer_id != actor.user_id and not actor.is_admin:
        raise NotFound("No such order.")
    if order.status == OrderStatus.PENDING_PAYMENT:
        payables.close_attempts(session, OrderPayable(order), payments=(settings or OrderSettings()).payments, now=now)
    order.transition(OrderStatus.CANCELLED, actor_id=actor.user_id, at=now, reason="cancelled")
    _release_holds(session, order, now)
    session.flush()
    return order


def expire_due(
    session: Session,
    now: datetime,
    *,
    buyer_id: int | None = None,
    order_ids: list[int] | None = None,
    limit: int = 500,
) -> int:
    """Cancel unpaid orders past their time, releasing everything they held. Safe to run anywhere,
    any number of times at once: each order is locked and re-checked."""
    stmt = sa.select(Order.id).where(Order.status == OrderStatus.PENDING_PAYMENT, Order.expires_at <= now)
    if buyer_id is not None:
        stmt = stmt.where(Order.buyer_id == buyer_id)
    if order_ids is not None:
        stmt = stmt.where(Order.id.in_(order_ids))
    expired = 0
    for order_id in session.scalars(stmt.order_by(Order.id).limit(limit)).all():
        order = _lock(session, order_id)
        if order.status == OrderStatus.PENDING_PAYMENT and order.expires_at <= now:
            order.transition(OrderStatus.CANCELLED, actor_id=None, at=now, reason="expired unpaid")
            _release_holds(session, order, now)
            expired += 1
    session.flush()
    return expired


# --- fulfilment ------------------------------------------------------------------------------


def operated(session: Session, actor: Actor, order_id: int) -> Order:
    order = _lock(session, order_id)
    if not _can_operate(session, actor, order):
        raise NotFound("No such order.")
    return order


def mark_ready(session: Session, actor: Actor, order_id: int, *, now: datetime) -> Order:
    order = operated(session, actor, order_id)
    if order.fulfilment != Fulfilment.PICKUP:
        raise NotPickup("Only pick-up orders wait at a counter.")
    order.transition(OrderStatus.READY_FOR_PICKUP, actor_id=actor.user_id, at=now)
    return order


def hand_over(
    session: Session, actor: Actor, order_id: int, *, code: str, settings: OrderSettings, now: datetime
) -> Order:
    """The operator of the order's counter checks the buyer's pick-up code.

    Each wrong code counts against the order, by one conditional UPDATE, so parallel guesses cannot
    pass the limit; the last allowed one locks the code (even the right code is then refused) until
    the buyer asks for a new one. Raises WrongPickupCode after counting: the caller commits."""
    order = operated(session, actor, order_id)
    if order.status != OrderStatus.READY_FOR_PICKUP:
        raise NotReady(status=order.status.value)
    limit = settings.pickup_max_attempts
    if order.pickup_locked_at is not None or order.pickup_attempts >= limit:  # a limit lowered since counts too
        locked_at = order.pickup_locked_at.isoformat() if order.pickup_locked_at else None
        raise PickupLocked(attempts=order.pickup_attempts, locked_at=locked_at)
    if order.pickup_code is not None and secrets.compare_digest(order.pickup_code, code):
        return _complete(session, order, actor_id=actor.user_id, settings=settings, now=now)
    attempts = count_wrong(session, order, attempts="pickup_attempts", locked_at="pickup_locked_at", limit=limit)
    if attempts is None:
        raise PickupLocked(attempts=order.pickup_attempts)
    _note(order, actor.user_id, now, f"wrong pick-up code ({attempts} of {limit})")
    if attempts >= limit:
        order.pickup_locked_at = now
        _note(
            order,
            actor.user_id,
            now,
            f"pick-up code locked after {attempts} wrong codes; the buyer may ask for a new one",
        )
    session.flush()
    raise WrongPickupCode(attempts=attempts, attempts_left=max(limit - attempts, 0), locked=attempts >= limit)


def _note(order: Order, actor_id: int | None, now: datetime, note: str) -> None:
    """An event that records something about the order without changing its state."""
    order.events.append(
        OrderEvent(from_status=order.status, to_status=order.status, actor_id=actor_id, at=now, note=note)
    )


PICKUP_CODE_STATES = (OrderStatus.PAID, OrderStatus.READY_FOR_PICKUP, OrderStatus.PARTIALLY_REFUNDED)


def renew_pickup_code(session: Session, actor: Actor, order_id: int, *, now: datetime) -> Order:
    """The buyer replaces the pick-up code (after a lock, or if someone saw it): the old one stops
    working and the count of wrong codes starts again."""
    order = _lock(session, order_id)
    if order.buyer_id != actor.user_id:
        raise NotFound("No such order.")
    if order.fulfilment != Fulfilment.PICKUP:
        raise NotPickup("Only pick-up orders have a pick-up code.")
    if order.pickup_code is None or order.status not in PICKUP_CODE_STATES or order.completed_at is not None:
        raise NotAwaitingPickup(status=order.status.value)
    order.pickup_code = f"{secrets.randbelow(1_000_000):06d}"
    order.pickup_attempts = 0
    order.pickup_locked_at = None
    _note(order, actor.user_id, now, "new pick-up code issued to the buyer")
    session.flush()
    return order


def ship(session: Session, actor: Actor, order_id: int, *, tracking_number: str, now: datetime) -> Order:
    order = operated(session, actor, order_id)
    if order.fulfilment != Fulfilment.DELIVERY:
        raise NotDelivery("Only delivery orders are shipped.")
    order.transition(OrderStatus.SHIPPED, actor_id=actor.user_id, at=now, reason=tracking_number)
    order.tracking_number = tracking_number
    return order


def confirm_delivery(session: Session, actor: Actor, order_id: int, *, settings: OrderSettings, now: datetime) -> Order:
    """The buyer (or the hall) confirms a shipped order arrived."""
    order = _lock(session, order_id)
    if order.buyer_id != actor.user_id and not _can_operate(session, actor, order):
        raise NotFound("No such order.")
    if order.status != OrderStatus.SHIPPED and not (
        order.status == OrderStatus.PARTIALLY_REFUNDED and order.tracking_number
    ):
        raise NotShipped("The order has not been shipped.", status=order.status.value)
    return _complete(session, order, actor_id=actor.user_id, settings=settings, now=now)


def complete_booking_order(
    session: Session, order: Order, *, actor_id: int | None, settings: OrderSettings, now: datetime
) -> Order:
    """Every booking of a paid booking order is settled (checked in, a no-show or cancelled): the
    order completes as a handed-over order does (points earned, the sale's facts written). The
    caller holds the order's row lock."""
    if order.fulfilment != Fulfilment.BOOKING:
        raise NotPickup("Only booking orders complete by their bookings.")
    return _complete(session, order, actor_id=actor_id, settings=settings, now=now)


def _complete(session: Session, order: Order, *, actor_id: int | None, settings: OrderSettings, now: datetime) -> Order:
    order.transition(OrderStatus.COMPLETED, actor_id=actor_id, at=now)
    order.completed_at = now
    earned = 0
    for line in order.lines:
        cash = line.total_fen - line.refunded_fen
        rate = settings.earn_per_yuan_deep_poverty if line.deep_poverty else settings.earn_per_yuan
        earned += cash // 100 * rate
    if earned:
        points.post(
            session, order.buyer_id, earned, PointsKind.EARN, order_id=order.id, note=f"order {order.number} completed"
        )
    order.points_earned = earned
    sales_facts.record_order_completed(session, order)
    return order


# --- points follow the money (refunds here and at the gateway) --------------------------------


def units_share(whole: int, quantity: int, done: int, part: int) -> int:
    """What `part` more units carry of `whole` spread over `quantity` units, `done` of them refunded
    already. Cumulative floors: refunding every unit, in any steps, returns exactly `whole`."""
    return whole * (done + part) // quantity - whole * done // quantity


def claw_back_points(session: Session, order: Order, amount: int) -> int:
    """Points earned by a completed order go back in proportion to the money refunded."""
    if not (order.points_earned and amount):
        return 0
    clawed = units_share(order.points_earned, order.paid_fen, order.refunded_fen, amount)
    if clawed:
        points.post(
            session,
            order.buyer_id,
            -clawed,
            PointsKind.CLAWBACK,
            order_id=order.id,
            note=f"refund of order {order.number}",
            allow_negative=True,
        )
    return clawed


# --- news from the payment gateway: webhooks, reconciliation ---------------------------------


@dataclass
class OrderPayable(payables.RowPayable):
    """A shop order as what a payment attempt pays (payments.intents.Payable); its row is locked."""

    order: Order
    kind = "order"
    column = "order_id"

    @property
    def row(self) -> Order:
        return self.order

    def awaits_payment(self) -> bool:
        return self.order.status == OrderStatus.PENDING_PAYMENT

    def past_due(self, now: datetime) -> bool:
        return self.order.expires_at <= now

    def mark_paid(self, session: Session, payment: Payment, *, actor_id: int | None, now: datetime) -> None:
        mark_paid(session, self.order, actor_id=actor_id, now=now)

    def take_outside_refund(
        self, session: Session, payment: Payment, amount_fen: int, now: datetime
    ) -> payables.OutsideRefund:
        """A refund made at the gateway: the money is recorded against the order; no goods or spent
        points are named, so stock and points stay, except earned points, which follow the money as
        in any refund."""
        order = self.order
        amount = min(amount_fen, order.paid_fen - order.refunded_fen)
        if amount <= 0:
            return payables.OutsideRefund(0)
        clawed = claw_back_points(session, order, amount)
        order.refunded_fen += amount
        fully = order.refunded_fen == order.paid_fen
        order.transition(
            OrderStatus.REFUNDED if fully else OrderStatus.PARTIALLY_REFUNDED,
            actor_id=None,
            at=now,
            reason="refunded at the payment provider",
        )
        return payables.OutsideRefund(amount, points_clawed_back=clawed)

    def after_news(self, session: Session, now: datetime) -> None:
        if self.order.status == OrderStatus.PENDING_PAYMENT and self.order.expires_at <= now:
            expire_due(session, now, order_ids=[self.order.id])


def payable(session: Session, order_id: int) -> OrderPayable:
    """The order, locked, as what its payment attempts pay."""
    return OrderPayable(_lock(session, order_id))


def register_payments(registry: Payments) -> None:
    """At start-up: shop orders are what payments' `order_id` pays."""
    registry.register_payable("order_id", payable)

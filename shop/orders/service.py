"""Checkout and the life of an order: pay, cancel or expire, prepare, hand over, complete, refund.

Every state change goes through Order.transition and locks the order row first, so a payment, a
cancel and an expiry racing for one order cannot both win."""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from payments import payables
from payments import service as payments
from payments.errors import RefundExceedsPayment
from payments.models import Payment
from payments.registry import Payments
from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.catalog.models import Product, Sku
from shop.errors import Conflict, Forbidden, InvalidInput, NotFound
from shop.inventory import service as inventory
from shop.inventory.errors import InsufficientStock
from shop.inventory.models import Location, china_today
from shop.orders import cart
from shop.orders.errors import (
    CartNotOrderable,
    NotAwaitingPickup,
    NotDelivery,
    NotPickup,
    NotReady,
    NotRefundable,
    NotShipped,
    PickupLocked,
    RefundExceedsQuantity,
    WrongPickupCode,
)
from shop.orders.models import Fulfilment, Order, OrderEvent, OrderLine, OrderStatus
from shop.paging import paginate
from shop.points import service as points
from shop.points.models import PointsKind
from shop.promotions import pricing, quoting
from shop.promotions import service as offers
from shop.promotions.errors import CouponRefused
from shop.promotions.models import Coupon
from shop.reference.models import Township

REFUNDABLE = (
    OrderStatus.PAID,
    OrderStatus.READY_FOR_PICKUP,
    OrderStatus.SHIPPED,
    OrderStatus.PARTIALLY_REFUNDED,
    OrderStatus.COMPLETED,
)


@dataclass(frozen=True)
class OrderSettings:
    payment_minutes: int = 30
    points: quoting.PointsSettings = field(default_factory=quoting.PointsSettings)
    earn_per_yuan: int = 1
    earn_per_yuan_deep_poverty: int = 2
    # the gateways (built once at start-up, with the voucher gateway procurement registers)
    payments: Payments = field(default_factory=Payments)
    pickup_max_attempts: int = 5  # wrong pick-up codes before the code is locked


# --- checkout --------------------------------------------------------------------------------


def quote_cart(
    session: Session,
    user_id: int,
    lines: list,
    *,
    coupon_code: str | None,
    points_requested: int,
    settings: OrderSettings,
    now: datetime,
) -> pricing.Quote | None:
    """Cart lines priced for their buyer now, as checkout prices them (None for no lines)."""
    if not lines:
        return None
    return quoting.quote(
        session,
        user_id=user_id,
        requested={str(line.id): line for line in lines},
        coupon_code=coupon_code,
        points_requested=points_requested,
        settings=settings.points,
        now=now,
    )


def checkout(
    session: Session,
    actor: Actor,
    *,
    line_ids: list[int] | None,
    coupon_code: str | None,
    points_requested: int,
    delivery_address: dict | None,
    settings: OrderSettings,
    now: datetime,
) -> Order:
    """Re-price the cart on the server, hold everything the order needs, and create it pending payment."""
    lines = cart.list_lines(session, actor.user_id, for_update=True)
    if line_ids is not None:
        lines = [line for line in lines if line.id in set(line_ids)]
        if len(lines) != len(set(line_ids)):
            raise InvalidInput("Some cart lines are not yours.", fields={"line_ids": ["Unknown lines."]})
    if not lines:
        raise InvalidInput("The cart is empty.", fields={"line_ids": ["Nothing to order."]})
    places: dict[tuple[int, Fulfilment], list[int]] = {}
    for line in lines:
        places.setdefault((line.location_id, line.fulfilment), []).append(line.id)
    if len(places) > 1:
        # e.g. one SKU for pick-up and for delivery: the buyer checks out each group as its own order
        raise InvalidInput(
            "One order is picked up or shipped from one place; check out those lines separately.",
            fields={"line_ids": ["Lines of different locations or fulfilments."]},
            groups=[
                {"location_id": location, "fulfilment": how.value, "line_ids": ids}
                for (location, how), ids in places.items()
            ],
        )
    location_id, fulfilment = next(iter(places))
    if fulfilment == Fulfilment.DELIVERY and not delivery_address:
        raise InvalidInput("A delivery needs an address.", fields={"delivery_address": ["Required for delivery."]})

    quote = quote_cart(
        session,
        actor.user_id,
        lines,
        coupon_code=coupon_code,
        points_requested=points_requested,
        settings=settings,
        now=now,
    )
    if quote.problems:
        raise CartNotOrderable(lines=[{"line_id": int(q.key), "problem": q.problem} for q in quote.lines if q.problem])
    if coupon_code and quote.coupon_problem:
        raise CouponRefused(quote.coupon_problem)

    order = Order(
        buyer_id=actor.user_id,
        status=OrderStatus.PENDING_PAYMENT,
        location_id=location_id,
        fulfilment=fulfilment,
        delivery_address=delivery_address if fulfilment == Fulfilment.DELIVERY else None,
        subtotal_fen=quote.subtotal_fen,
        discount_fen=quote.discount_fen,
        points_redeemed=quote.points_redeemed,
        points_redeemed_value_fen=quote.points_redeemed_value_fen,
        points_cost=quote.points_cost,
        total_fen=quote.total_fen,
        quote=_snapshot(quote),
        expires_at=now + timedelta(minutes=settings.payment_minutes),
        created_at=now,
    )
    order.events.append(
        OrderEvent(from_status=None, to_status=OrderStatus.PENDING_PAYMENT, actor_id=actor.user_id, at=now)
    )
    session.add(order)
    session.flush()
    order.number = f"{china_today(now):%Y%m%d}{order.id:06d}"
    _add_lines(session, order, quote)

    if quote.coupon_code:
        coupon_id = session.scalar(sa.select(Coupon.id).where(Coupon.code == quote.coupon_code))
        offers.claim_coupon(session, coupon_id, actor.user_id, now)
        order.coupon_id = coupon_id
    for line in order.lines:
        if line.rush_sale_id:
            offers.claim_rush_sale(session, line.rush_sale_id, actor.user_id, line.quantity, now)
    if quote.points_total:
        points.post(
            session,
            actor.user_id,
            -quote.points_total,
            PointsKind.SPEND,
            order_id=order.id,
            note=f"order {order.number}",
        )
    inventory.reserve_stock(
        session,
        location_id=location_id,
        reference=order.reservation_reference,
        lines=[{"sku_id": line.sku_id, "quantity": line.quantity} for line in order.lines],
        now=now,
    )
    for gift in quote.gifts:
        _add_gift(session, order, gift, now)
    cart.clear(session, actor.user_id, [line.id for line in lines])
    session.flush()
    if order.total_fen == 0:
        _mark_paid(session, order, actor_id=actor.user_id, now=now)
    return order


def _snapshot(quote) -> dict:
    """The quote as JSON, frozen with the order (plain data: the service stays free of the web layer)."""
    return dataclasses.asdict(quote)


def _add_lines(session: Session, order: Order, quote) -> None:
    skus = {
        sku.id: (sku, product, deep)
        for sku, product, deep in session.execute(
            sa.select(Sku, Product, sa.func.coalesce(Township.deep_poverty, False))
            .join(Product, Product.id == Sku.product_id)
            .outerjoin(Township, Township.id == Product.origin_township_id)
            .where(Sku.id.in_([q.sku_id for q in quote.lines]))
        ).all()
    }
    for q in quote.lines:
        sku, product, deep = skus[q.sku_id]
        order.lines.append(
            OrderLine(
                sku_id=sku.id,
                product_id=product.id,
                name=f"{product.name} {sku.name}".strip(),
                quantity=q.quantity,
                unit_price_fen=q.unit_price_fen,
                subtotal_fen=q.subtotal_fen,
                discount_fen=q.discount_fen,
                points_value_fen=q.points_value_fen,
                total_fen=q.total_fen,
                points_cost=q.points_cost,
                rush_sale_id=q.rush_sale_id,
                deep_poverty=bool(deep),
                adjustments=[a.__dict__ for a in q.adjustments],
            )
        )
    session.flush()


def _gift_reference(order: Order, promotion_id: int) -> str:
    return f"{order.reservation_reference}:gift:{promotion_id}"


def _add_gift(session: Session, order: Order, gift, now: datetime) -> None:
    """A gift is given while the promotion's gift stock lasts and the location has it; else it is skipped."""
    if not offers.claim_gift(session, gift.promotion_id, gift.quantity):
        return
    try:
        with session.begin_nested():
            inventory.reserve_stock(
                session,
                location_id=order.location_id,
                reference=_gift_reference(order, gift.promotion_id),
                lines=[{"sku_id": gift.sku_id, "quantity": gift.quantity}],
                now=now,
            )
    except (InsufficientStock, Conflict):
        offers.release_gift(session, gift.promotion_id, gift.quantity)
        return
    sku = session.get(Sku, gift.sku_id)
    order.lines.append(
        OrderLine(
            sku_id=sku.id,
            product_id=sku.product_id,
            name=f"{gift.label} 赠品 gift",
            quantity=gift.quantity,
            unit_price_fen=0,
            subtotal_fen=0,
            discount_fen=0,
            total_fen=0,
            gift_promotion_id=gift.promotion_id,
        )
    )
    session.flush()


def _references(order: Order) -> list[str]:
    gifts = [_gift_reference(order, line.gift_promotion_id) for line in order.lines if line.gift_promotion_id]
    return [order.reservation_reference, *gifts]


# --- reading ---------------------------------------------------------------------------------


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


def _mark_paid(session: Session, order: Order, *, actor_id: int | None, now: datetime) -> None:
    order.transition(OrderStatus.PAID, actor_id=actor_id, at=now)
    order.paid_fen, order.paid_at = order.total_fen, now
    if order.fulfilment == Fulfilment.PICKUP:
        order.pickup_code = f"{secrets.randbelow(1_000_000):06d}"
    for reference in _references(order):
        inventory.commit_reservation(session, reference=reference, now=now)
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
    for reference in _references(order):
        inventory.release_reservation(session, reference=reference, now=now)
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


def _operated(session: Session, actor: Actor, order_id: int) -> Order:
    order = _lock(session, order_id)
    if not _can_operate(session, actor, order):
        raise NotFound("No such order.")
    return order


def mark_ready(session: Session, actor: Actor, order_id: int, *, now: datetime) -> Order:
    order = _operated(session, actor, order_id)
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
    order = _operated(session, actor, order_id)
    if order.status != OrderStatus.READY_FOR_PICKUP:
        raise NotReady(status=order.status.value)
    limit = settings.pickup_max_attempts
    if order.pickup_locked_at is not None or order.pickup_attempts >= limit:  # a limit lowered since counts too
        locked_at = order.pickup_locked_at.isoformat() if order.pickup_locked_at else None
        raise PickupLocked(attempts=order.pickup_attempts, locked_at=locked_at)
    if order.pickup_code is not None and secrets.compare_digest(order.pickup_code, code):
        return _complete(session, order, actor_id=actor.user_id, settings=settings, now=now)
    counted = session.execute(
        sa.update(Order)
        .where(Order.id == order.id, Order.pickup_locked_at.is_(None), Order.pickup_attempts < limit)
        .values(pickup_attempts=Order.pickup_attempts + 1),
        execution_options={"synchronize_session": False},
    ).rowcount
    session.refresh(order, ["pickup_attempts", "pickup_locked_at"])
    if not counted:
        raise PickupLocked(attempts=order.pickup_attempts)
    attempts = order.pickup_attempts
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
    order = _operated(session, actor, order_id)
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


def _complete(session: Session, order: Order, *, actor_id: int, settings: OrderSettings, now: datetime) -> Order:
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
    session.flush()
    return order


# --- refunds ---------------------------------------------------------------------------------


def _units_share(whole: int, quantity: int, done: int, part: int) -> int:
    """What `part` more units carry of `whole` spread over `quantity` units, `done` of them refunded
    already. Cumulative floors: refunding every unit, in any steps, returns exactly `whole`."""
    return whole * (done + part) // quantity - whole * done // quantity


def refund_order(
    session: Session,
    actor: Actor,
    order_id: int,
    *,
    lines: list[dict],
    reason: str,
    reference: str | None,
    settings: OrderSettings,
    now: datetime,
):
    """Refund units of some lines: money back through the payment's gateway (never more than was paid),
    spent points back, earned points clawed back, stock back to the location."""
    order = _operated(session, actor, order_id)
    if order.status not in REFUNDABLE:
        raise NotRefundable("This order cannot be refunded.", status=order.status.value)
    by_id = {line.id: line for line in order.lines}
    wanted: dict[int, int] = {}
    for item in lines:
        if item["line_id"] not in by_id:
            raise InvalidInput("Not a line of this order.", fields={"lines": [f"Unknown line {item['line_id']}."]})
        wanted[item["line_id"]] = wanted.get(item["line_id"], 0) + item["quantity"]
    amount = returned_points = 0
    detail = []
    back_to_stock: dict[str, dict[int, int]] = {}
    for line_id, quantity in sorted(wanted.items()):
        line = by_id[line_id]
        if line.refunded_quantity + quantity > line.quantity:
            raise RefundExceedsQuantity(
                "More units than are left to refund.",
                line_id=line_id,
                refundable=line.quantity - line.refunded_quantity,
            )
        done = line.refunded_quantity
        cash = _units_share(line.total_fen, line.quantity, done, quantity)
        returned_points += _units_share(
            line.points_value_fen, line.quantity, done, quantity
        ) // settings.points.point_value_fen + _units_share(line.points_cost, line.quantity, done, quantity)
        line.refunded_quantity += quantity
        line.refunded_fen += cash
        amount += cash
        detail.append({"line_id": line_id, "quantity": quantity, "amount_fen": cash})
        reference_key = (
            _gift_reference(order, line.gift_promotion_id) if line.gift_promotion_id else order.reservation_reference
        )
        back_to_stock.setdefault(reference_key, {})
        back_to_stock[reference_key][line.sku_id] = back_to_stock[reference_key].get(line.sku_id, 0) + quantity
    if order.refunded_fen + amount > order.paid_fen:
        raise RefundExceedsPayment(
            "A refund cannot exceed what was paid.",
            paid_fen=order.paid_fen,
            refunded_fen=order.refunded_fen,
            requested_fen=amount,
        )
    if returned_points:
        points.post(
            session,
            order.buyer_id,
            returned_points,
            PointsKind.RETURN,
            order_id=order.id,
            note=f"refund of order {order.number}",
        )
    clawed = _claw_back_points(session, order, amount)
    for reservation_reference, skus in back_to_stock.items():
        inventory.return_reserved(
            session, reference=reservation_reference, lines=skus, now=now, reason=f"refund of order {order.number}"
        )
    order.refunded_fen += amount
    fully = all(line.refunded_quantity == line.quantity for line in order.lines)
    order.transition(
        OrderStatus.REFUNDED if fully else OrderStatus.PARTIALLY_REFUNDED, actor_id=actor.user_id, at=now, reason=reason
    )
    session.flush()
    # Money moves last, once everything else here has succeeded; if the gateway fails, all of this rolls
    # back, and a retry asks the gateway for the same refund (its key names it).
    result = payments.refund_payment(
        session,
        order_id=order.id,
        buyer_id=order.buyer_id,
        amount_fen=amount,
        reference=reference,
        actor_id=actor.user_id,
        gateway=settings.payments.gateway,
    )
    refund = payments.record_refund(
        session,
        order_id=order.id,
        amount_fen=amount,
        lines=detail,
        points_returned=returned_points + result.points_returned,
        points_clawed_back=clawed,
        reference=reference,
        external_id=result.external_id,
        reason=reason,
        actor_id=actor.user_id,
        now=now,
    )
    session.flush()
    return refund


def _claw_back_points(session: Session, order: Order, amount: int) -> int:
    """Points earned by a completed order go back in proportion to the money refunded."""
    if not (order.points_earned and amount):
        return 0
    clawed = _units_share(order.points_earned, order.paid_fen, order.refunded_fen, amount)
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
        _mark_paid(session, self.order, actor_id=actor_id, now=now)

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
        clawed = _claw_back_points(session, order, amount)
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

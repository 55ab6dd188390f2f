"""Refunds of units of an order's lines: money back through the payment's gateway, spent points back,
earned points clawed back, stock back to the location."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from payments import service as payments
from payments.errors import RefundExceedsPayment
from shop.auth.actor import Actor
from shop.bookings import holds as booking_holds
from shop.errors import InvalidInput
from shop.inventory import reservations
from shop.orders.errors import NotRefundable, RefundExceedsQuantity
from shop.orders.models import Fulfilment, Order, OrderLine, OrderStatus
from shop.orders.service import OrderSettings, claw_back_points, gift_reference, operated, units_share
from shop.points import service as points
from shop.points.models import PointsKind
from shop.statistics import facts as sales_facts

REFUNDABLE = (
    OrderStatus.PAID,
    OrderStatus.READY_FOR_PICKUP,
    OrderStatus.SHIPPED,
    OrderStatus.PARTIALLY_REFUNDED,
    OrderStatus.COMPLETED,
)


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
    order = operated(session, actor, order_id)
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
        cash = units_share(line.total_fen, line.quantity, done, quantity)
        returned_points += units_share(
            line.points_value_fen, line.quantity, done, quantity
        ) // settings.points.point_value_fen + units_share(line.points_cost, line.quantity, done, quantity)
        line.refunded_quantity += quantity
        line.refunded_fen += cash
        amount += cash
        detail.append({"line_id": line_id, "quantity": quantity, "amount_fen": cash})
        reference_key = (
            gift_reference(order, line.gift_promotion_id) if line.gift_promotion_id else order.reservation_reference
        )
        back_to_stock.setdefault(reference_key, {})
        back_to_stock[reference_key][line.sku_id] = back_to_stock[reference_key].get(line.sku_id, 0) + quantity
    if order.fulfilment == Fulfilment.BOOKING:
        for item in detail:
            booking_holds.return_units(
                session, order, item["line_id"], item["quantity"], actor_id=actor.user_id, now=now
            )
        back_to_stock = {}
    return _pay_back(
        session,
        order,
        amount=amount,
        detail=detail,
        returned_points=returned_points,
        back_to_stock=back_to_stock,
        actor_id=actor.user_id,
        reason=reason,
        reference=reference,
        settings=settings,
        now=now,
    )


def refund_booking_line(
    session: Session,
    order: Order,
    line: OrderLine,
    *,
    share_bp: int,
    reference: str | None,
    actor_id: int,
    reason: str,
    settings: OrderSettings,
    now: datetime,
):
    """A cancelled booking: every unit of its line leaves the order and `share_bp` of the line's money
    (and of the points redeemed on it) comes back, through the same gateway as any refund. The
    caller holds the order's lock and gives the policy's share at the instant of cancellation."""
    if order.status not in REFUNDABLE:
        raise NotRefundable("This order cannot be refunded.", status=order.status.value)
    quantity = line.quantity - line.refunded_quantity
    if quantity <= 0:
        raise RefundExceedsQuantity("Nothing left to refund on this line.", line_id=line.id, refundable=0)
    done = line.refunded_quantity
    cash = units_share(line.total_fen, line.quantity, done, quantity) * share_bp // 10_000
    redeemed = units_share(line.points_value_fen, line.quantity, done, quantity) * share_bp // 10_000
    returned_points = redeemed // settings.points.point_value_fen
    line.refunded_quantity += quantity
    line.refunded_fen += cash
    detail = [{"line_id": line.id, "quantity": quantity, "amount_fen": cash}]
    return _pay_back(
        session,
        order,
        amount=cash,
        detail=detail,
        returned_points=returned_points,
        back_to_stock={},
        actor_id=actor_id,
        reason=reason,
        reference=reference,
        settings=settings,
        now=now,
    )


def _pay_back(
    session: Session,
    order: Order,
    *,
    amount: int,
    detail: list[dict],
    returned_points: int,
    back_to_stock: dict[str, dict[int, int]],
    actor_id: int,
    reason: str,
    reference: str | None,
    settings: OrderSettings,
    now: datetime,
):
    """The refund's money, points, stock and state: what every refund of an order ends with."""
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
    clawed = claw_back_points(session, order, amount)
    for reservation_reference, skus in back_to_stock.items():
        reservations.return_reserved(
            session, reference=reservation_reference, lines=skus, now=now, reason=f"refund of order {order.number}"
        )
    order.refunded_fen += amount
    fully = all(line.refunded_quantity == line.quantity for line in order.lines)
    order.transition(
        OrderStatus.REFUNDED if fully else OrderStatus.PARTIALLY_REFUNDED, actor_id=actor_id, at=now, reason=reason
    )
    session.flush()
    # Money moves last, once everything else here has succeeded; if the gateway fails, all of this rolls
    # back, and a retry asks the gateway for the same refund (its key names it).
    result = payments.refund_payment(
        session,
        payments.succeeded_payment(session, order.id),
        buyer_id=order.buyer_id,
        amount_fen=amount,
        reference=reference,
        actor_id=actor_id,
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
        actor_id=actor_id,
        now=now,
    )
    sales_facts.record_order_refund(session, order, refund)
    return refund

"""Checkout: re-price the cart on the server, hold everything the order needs (coupon, rush-sale
quota, points, stock, gifts) and create the order pending payment."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from shop import idempotency
from shop.addresses import service as addresses
from shop.auth.actor import Actor
from shop.bookings import holds
from shop.bookings.errors import ServiceMixedWithGoods
from shop.catalog.models import Sku
from shop.errors import Conflict, InvalidInput
from shop.inventory import reservations
from shop.inventory.errors import InsufficientStock
from shop.inventory.models import china_today
from shop.orders import cart
from shop.orders.errors import CartNotOrderable
from shop.orders.models import Fulfilment, Order, OrderEvent, OrderLine, OrderStatus
from shop.orders.service import OrderSettings, gift_reference, mark_paid
from shop.points import service as points
from shop.points.models import PointsKind
from shop.promotions import pricing, quoting
from shop.promotions import service as offers
from shop.promotions.errors import CouponRefused
from shop.promotions.models import Coupon


def quote_cart(
    session: Session,
    user_id: int,
    lines: list,
    *,
    coupon_code: str | None,
    points_requested: int,
    settings: OrderSettings,
    now: datetime,
    loaded: dict | None = None,
) -> pricing.Quote | None:
    """Cart lines priced for their buyer now, as checkout prices them (None for no lines). `loaded`
    receives the rows of the SKUs read, with their products and townships (see quoting.build_lines)."""
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
        loaded=loaded,
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
    address_id: int | None = None,
) -> Order:
    """Re-price the cart on the server, hold everything the order needs, and create it pending payment.
    A delivery goes to `delivery_address`, else to the address book's `address_id`, else to its default."""
    # the lines leave the cart at once (locked, like a SELECT … FOR UPDATE); a refusal below rolls back
    lines = cart.take_lines(session, actor.user_id, line_ids)
    if line_ids is not None and len(lines) != len(set(line_ids)):
        raise InvalidInput("Some cart lines are not yours.", fields={"line_ids": ["Unknown lines."]})
    if not lines:
        raise InvalidInput("The cart is empty.", fields={"line_ids": ["Nothing to order."]})
    places: dict[tuple[int, Fulfilment], list[int]] = {}
    for line in lines:
        places.setdefault((line.location_id, line.fulfilment), []).append(line.id)
    if len(places) > 1 and any(how == Fulfilment.BOOKING for _, how in places):
        raise ServiceMixedWithGoods(
            groups=[
                {"location_id": location, "fulfilment": how.value, "line_ids": ids}
                for (location, how), ids in places.items()
            ],
        )
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
        delivery_address = addresses.delivery_address(session, actor.user_id, address_id)
    if fulfilment == Fulfilment.DELIVERY and not delivery_address:
        raise InvalidInput("A delivery needs an address.", fields={"delivery_address": ["Required for delivery."]})

    loaded: dict = {}
    quote = quote_cart(
        session,
        actor.user_id,
        lines,
        coupon_code=coupon_code,
        points_requested=points_requested,
        settings=settings,
        now=now,
        loaded=loaded,
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
        number=order_number(session, now),
        events=[OrderEvent(from_status=None, to_status=OrderStatus.PENDING_PAYMENT, actor_id=actor.user_id, at=now)],
        lines=_order_lines(quote, loaded),
    )
    if quote.coupon_code:
        order.coupon_id = session.scalar(sa.select(Coupon.id).where(Coupon.code == quote.coupon_code))
    # the order, its event and its lines: one flush (the lines in one INSERT where the driver batches)
    session.add(order)
    session.flush()
    # what the INSERT stored, known here without reading it back
    set_committed_value(order, "number", number_of(order, now))
    # the Idempotency-Key's answer now, before the hot rows (stock, quotas) are locked
    idempotency.record_created(session, order.id)

    if quote.coupon_code:
        offers.claim_coupon(session, order.coupon_id, actor.user_id, now)
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
    if fulfilment == Fulfilment.BOOKING:
        # capacity of each slot, not stock; a gift (goods handed over at a counter) is not given
        by_key = {str(line.id): line for line in lines}
        booked = [(by_key[q.key], line) for q, line in zip(quote.lines, order.lines, strict=True)]
        holds.reserve_for_order(session, order, [(o, c.slot_id, c.party_size) for c, o in booked], now)
    else:
        # the quote has just checked each SKU (known, active, in force): the reservation does not again
        reservations.reserve_stock(
            session,
            location_id=location_id,
            reference=order.reservation_reference,
            lines=[{"sku_id": line.sku_id, "quantity": line.quantity} for line in order.lines],
            now=now,
            priced=True,
        )
        for gift in quote.gifts:
            _add_gift(session, order, gift, now)
    if order.total_fen == 0:
        mark_paid(session, order, actor_id=actor.user_id, now=now)
    session.flush()
    return order


def order_number(session: Session, now: datetime) -> sa.ColumnElement[str]:
    """The order's number, the buyer's day in China and the order's id, at least six digits
    (`20261201000123`), computed by the INSERT itself, so no UPDATE follows it. On PostgreSQL from the
    id the same row has just drawn from its sequence (the id's default comes first, in column order;
    `currval` is this connection's own: were it ever otherwise, the INSERT would fail, loudly, on the
    unset sequence or the unique number). On SQLite, whose writers take turns, from the rowid the row
    is about to get (max + 1). `number_of` says the same in Python."""
    day = sa.literal(f"{china_today(now):%Y%m%d}", sa.String)
    return day.concat(_ID_DIGITS[session.get_bind().dialect.name])


def _id_digits() -> dict[str, sa.ColumnElement[str]]:
    drawn = sa.cast(sa.func.currval(sa.func.pg_get_serial_sequence("orders", "id")), sa.String)
    next_id = sa.select(sa.func.coalesce(sa.func.max(Order.id), 0) + 1).scalar_subquery()
    return {
        "postgresql": sa.func.lpad(drawn, sa.func.greatest(6, sa.func.length(drawn)), "0"),
        "sqlite": sa.func.printf("%06d", next_id),
    }


_ID_DIGITS = _id_digits()  # built once


def number_of(order: Order, now: datetime) -> str:
    return f"{china_today(now):%Y%m%d}{order.id:06d}"


def _snapshot(quote) -> dict:
    """The quote as JSON, frozen with the order (plain data: the service stays free of the web layer)."""
    return dataclasses.asdict(quote)


def _order_lines(quote, loaded: dict) -> list[OrderLine]:
    """The order's lines from its quote, named from the SKUs and products pricing has just read."""
    lines = []
    for q in quote.lines:
        sku = loaded[q.sku_id]
        lines.append(
            OrderLine(
                sku_id=sku.sku_id,
                product_id=sku.product_id,
                name=f"{sku.product_name} {sku.sku_name}".strip(),
                quantity=q.quantity,
                unit_price_fen=q.unit_price_fen,
                subtotal_fen=q.subtotal_fen,
                discount_fen=q.discount_fen,
                points_value_fen=q.points_value_fen,
                total_fen=q.total_fen,
                points_cost=q.points_cost,
                rush_sale_id=q.rush_sale_id,
                deep_poverty=bool(sku.deep_poverty),
                adjustments=[a.__dict__ for a in q.adjustments],
            )
        )
    return lines


def _add_gift(session: Session, order: Order, gift, now: datetime) -> None:
    """A gift is given while the promotion's gift stock lasts and the location has it; else it is skipped."""
    if not offers.claim_gift(session, gift.promotion_id, gift.quantity):
        return
    try:
        with session.begin_nested():
            reservations.reserve_stock(
                session,
                location_id=order.location_id,
                reference=gift_reference(order, gift.promotion_id),
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

"""Checkout: re-price the cart on the server, hold everything the order needs (coupon, rush-sale
quota, points, stock, gifts) and create the order pending payment."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from shop import idempotency, jobs
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

    coupon_id = None
    if quote.coupon_code:
        coupon_id = session.scalar(sa.select(Coupon.id).where(Coupon.code == quote.coupon_code))
    order = _create_order(
        session,
        {
            "buyer_id": actor.user_id,
            "status": OrderStatus.PENDING_PAYMENT,
            "location_id": location_id,
            "fulfilment": fulfilment,
            "delivery_address": delivery_address if fulfilment == Fulfilment.DELIVERY else None,
            "subtotal_fen": quote.subtotal_fen,
            "discount_fen": quote.discount_fen,
            "points_redeemed": quote.points_redeemed,
            "points_redeemed_value_fen": quote.points_redeemed_value_fen,
            "points_cost": quote.points_cost,
            "total_fen": quote.total_fen,
            "paid_fen": 0,
            "refunded_fen": 0,
            "points_earned": 0,
            "coupon_id": coupon_id,
            "quote": _snapshot(quote),
            "pickup_code": None,
            "pickup_attempts": 0,
            "pickup_locked_at": None,
            "tracking_number": None,
            "expires_at": now + timedelta(minutes=settings.payment_minutes),
            "paid_at": None,
            "completed_at": None,
            "created_at": now,
        },
        _order_lines(quote, loaded),
        # the Idempotency-Key's answer with the order, before the hot rows (stock, quotas) are locked
        idempotency.take_claim(session),
        now,
    )

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


ORDERS, EVENTS, LINES = Order.__table__, OrderEvent.__table__, OrderLine.__table__
# checkout gives every column of the new order and of its lines a value (the number, computed by
# the INSERT, and the ids aside): the same values make the session's object of the order
_ORDER_COLUMNS = [c.name for c in ORDERS.c if c.name not in ("id", "number")]
_LINE_COLUMNS = [c.name for c in LINES.c if c.name not in ("id", "order_id")]


def _create_order(session: Session, values: dict, lines: list[dict], claimed_key: int | None, now: datetime) -> Order:
    """Write the new order, its first event and its lines, and the order's id as the answer of the
    Idempotency-Key row `claimed_key` (if any); answer the order as the session's object (as if
    loaded; its events load when asked for). PostgreSQL: one statement (data-modifying CTEs); SQLite:
    the order, the event, the lines, the key."""
    # named apart from every column: an UPDATE or INSERT would take a parameter named as one of its
    # columns as a value to set (the key's row has a created_at too)
    params = {f"new_{name}": value for name, value in values.items()}
    params.update(day=f"{china_today(now):%Y%m%d}", claimed=claimed_key)
    if session.get_bind().dialect.name == "postgresql":
        given = [{**line, "n": n} for n, line in enumerate(lines)]
        rows = session.execute(_CREATE_ORDER, {**params, "lines": given}).all()
        order_id, number, line_ids = rows[0].id, rows[0].number, [row.line_id for row in rows]
    else:
        order_id, number = session.execute(_INSERT_ORDER, params).one()
        session.execute(_INSERT_EVENT, {**params, "order_id": order_id})
        line_ids = session.execute(_INSERT_LINES, [{**line, "order_id": order_id} for line in lines]).scalars().all()
        idempotency.record(session, claimed_key, order_id)
    order = _as_loaded(Order, {"id": order_id, "number": number, **values})
    line_objects = [
        _as_loaded(OrderLine, {"id": line_id, "order_id": order_id, **line})
        for line_id, line in zip(line_ids, lines, strict=True)
    ]
    set_committed_value(order, "lines", line_objects)
    session.add(order)
    jobs.enqueue_after_commit(session, "orders.expire", eta=order.expires_at, order_ids=[order_id])
    return order


def _as_loaded(model: type, values: dict):
    """An object of `model` holding `values` (every column) as if loaded from its row: they go into its
    instance dict, as a query puts them, without the change tracking of setting each attribute."""
    obj = model()
    vars(obj).update(values)
    make_transient_to_detached(obj)
    return obj


def _number(dialect: str) -> sa.ColumnElement[str]:
    """The order's number, the buyer's day in China and the order's id, at least six digits
    (`20261201000123`), computed by the INSERT itself, so no UPDATE follows it. On PostgreSQL from the
    id the same row has just drawn from its sequence (the id's default comes first, in column order;
    `currval` is this connection's own: were it ever otherwise, the INSERT would fail, loudly, on the
    unset sequence or the unique number). On SQLite, whose writers take turns, from the rowid the row
    is about to get (max + 1)."""
    day = sa.bindparam("day", type_=sa.String)
    if dialect == "postgresql":
        drawn = sa.cast(sa.func.currval(sa.func.pg_get_serial_sequence("orders", "id")), sa.String)
        return day.concat(sa.func.lpad(drawn, sa.func.greatest(6, sa.func.length(drawn)), "0"))
    next_id = sa.select(sa.func.coalesce(sa.func.max(ORDERS.c.id), 0) + 1).scalar_subquery()
    return day.concat(sa.func.printf("%06d", next_id))


def _insert_order(dialect: str) -> sa.Insert:
    values = {name: sa.bindparam(f"new_{name}", type_=ORDERS.c[name].type) for name in _ORDER_COLUMNS}
    return ORDERS.insert().values({**values, "number": _number(dialect)})


def _create_order_statement() -> sa.Select:
    """PostgreSQL: the order, its event, its lines (given as one JSON array, in order) and the key's
    answer in one statement; one row per line: the order's id and number, the line's id (ids ascend
    in line order)."""
    order = (
        _insert_order("postgresql")
        .returning(ORDERS.c.id, ORDERS.c.number, ORDERS.c.status, ORDERS.c.buyer_id, ORDERS.c.created_at)
        .cte("new_order")
    )
    event = EVENTS.insert().from_select(
        ["order_id", "from_status", "to_status", "actor_id", "at", "note"],
        sa.select(order.c.id, sa.null(), order.c.status, order.c.buyer_id, order.c.created_at, sa.literal("")),
    )
    answer = idempotency.record_statement(sa.select(order.c.id).scalar_subquery())
    given = (
        sa.func.json_to_recordset(sa.bindparam("lines", type_=sa.JSON))
        .table_valued(*[sa.column(name, LINES.c[name].type) for name in _LINE_COLUMNS], sa.column("n", sa.Integer))
        .render_derived("line", with_types=True)
    )
    lines = (
        LINES.insert()
        .from_select(
            ["order_id", *_LINE_COLUMNS],
            sa.select(order.c.id, *[given.c[name] for name in _LINE_COLUMNS])
            .select_from(order)
            .join(given, sa.true())
            .order_by(given.c.n),
        )
        .returning(LINES.c.id)
        .cte("new_lines")
    )
    return (
        sa.select(order.c.id, order.c.number, lines.c.id.label("line_id"))
        .select_from(order)
        .join(lines, sa.true())
        .order_by(lines.c.id)
        .add_cte(event.cte("new_event"), answer.cte("key_answered"))
    )


# Built once (every checkout runs them)
_CREATE_ORDER = _create_order_statement()
_INSERT_ORDER = _insert_order("sqlite").returning(ORDERS.c.id, ORDERS.c.number)
_INSERT_EVENT = EVENTS.insert().values(
    order_id=sa.bindparam("order_id", type_=EVENTS.c.order_id.type),
    from_status=None,
    to_status=sa.bindparam("new_status", type_=EVENTS.c.to_status.type),
    actor_id=sa.bindparam("new_buyer_id", type_=EVENTS.c.actor_id.type),
    at=sa.bindparam("new_created_at", type_=EVENTS.c.at.type),
    note="",
)
_INSERT_LINES = LINES.insert().returning(LINES.c.id, sort_by_parameter_order=True)


def _snapshot(quote) -> dict:
    """The quote as JSON, frozen with the order (plain data: the service stays free of the web layer)."""
    return dataclasses.asdict(quote)


def _order_lines(quote, loaded: dict) -> list[dict]:
    """The order's lines from its quote (every column), named from the SKUs and products pricing has
    just read."""
    lines = []
    for q in quote.lines:
        sku = loaded[q.sku_id]
        lines.append(
            {
                "sku_id": sku.sku_id,
                "product_id": sku.product_id,
                "name": f"{sku.product_name} {sku.sku_name}".strip(),
                "quantity": q.quantity,
                "unit_price_fen": q.unit_price_fen,
                "subtotal_fen": q.subtotal_fen,
                "discount_fen": q.discount_fen,
                "points_value_fen": q.points_value_fen,
                "total_fen": q.total_fen,
                "points_cost": q.points_cost,
                "rush_sale_id": q.rush_sale_id,
                "gift_promotion_id": None,
                "deep_poverty": bool(sku.deep_poverty),
                "adjustments": [a.__dict__ for a in q.adjustments],
                "refunded_quantity": 0,
                "refunded_fen": 0,
            }
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

"""The server-side cart of each buyer."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop import clock
from shop.bookings import holds
from shop.catalog.models import ProductKind, Sku
from shop.errors import InvalidInput, NotFound
from shop.inventory.models import Location, LocationKind
from shop.orders.errors import QuantityLimit
from shop.orders.models import CartLine, Fulfilment
from shop.promotions.models import RushSale

MAX_LINES = 200
MAX_QUANTITY = 10_000  # units of one line, however they got there (an add, more adds, an update)


def list_lines(session: Session, user_id: int) -> list[CartLine]:
    """The buyer's lines (checkout takes them with `take_lines`)."""
    return list(session.scalars(sa.select(CartLine).where(CartLine.user_id == user_id).order_by(CartLine.id)))


def take_lines(session: Session, user_id: int, line_ids: list[int] | None = None) -> list[sa.Row]:
    """Remove the buyer's lines (all, or those of `line_ids` that are theirs) and return them (rows
    with CartLine's columns), in one statement that also locks them: a second checkout of the same
    cart waits, then finds them gone. Checkout takes its lines so; if it fails, its transaction rolls
    back and the cart is whole again."""
    if line_ids is None:
        stmt, params = _TAKE_ALL, {"user_id": user_id}
    else:
        stmt, params = _TAKE_SOME, {"user_id": user_id, "line_ids": sorted(set(line_ids))}
    return sorted(session.execute(stmt, params), key=lambda line: line.id)


# Built once (checkout's hot path); plain rows, no ORM objects of deleted lines
_CART = CartLine.__table__
_TAKE = _CART.delete().where(_CART.c.user_id == sa.bindparam("user_id"))
_TAKE_ALL = _TAKE.returning(*_CART.c)
_TAKE_SOME = _TAKE.where(_CART.c.id.in_(sa.bindparam("line_ids", expanding=True))).returning(*_CART.c)


def _check_booking(session: Session, sku: Sku, data: dict) -> None:
    """A service line: booked for a slot and a party, sold online by the centre; its quantity is the
    units it takes (rooms, seats, places), enough for the party unless given."""
    if sku.product.kind != ProductKind.SERVICE or data["fulfilment"] != Fulfilment.BOOKING:
        raise InvalidInput(
            "Services are booked (fulfilment booking); goods are picked up or delivered.",
            fields={"fulfilment": ["booking for a service, pickup or delivery for goods."]},
        )
    if data.get("rush_sale_id") is not None:
        raise InvalidInput("Services are not sold in rush sales.", fields={"rush_sale_id": ["Not for a service."]})
    data["quantity"] = holds.check_cart_line(
        session, sku.id, data.get("slot_id"), data.get("party_size"), data.get("quantity"), clock.now()
    )
    centre = session.scalar(sa.select(Location.id).where(Location.kind == LocationKind.CENTRE, Location.is_active))
    if centre is None:
        raise InvalidInput("Bookings are not open: no operations centre.", fields={"sku_id": ["Not bookable."]})
    data["location_id"] = centre


def _check(session: Session, data: dict) -> None:
    sku = session.get(Sku, data["sku_id"])
    if sku is None:
        raise InvalidInput("Unknown SKU.", fields={"sku_id": ["Unknown."]})
    if sku.product.kind == ProductKind.SERVICE or data["fulfilment"] == Fulfilment.BOOKING:
        _check_booking(session, sku, data)
        return
    if data.get("slot_id") is not None or data.get("party_size") is not None:
        raise InvalidInput("Only services take a slot and a party.", fields={"slot_id": ["Not for goods."]})
    if data.get("location_id") is None or data.get("quantity") is None:
        raise InvalidInput(
            "Goods need a quantity and a location.", fields={"location_id": ["Required."], "quantity": ["Required."]}
        )
    location = session.get(Location, data["location_id"])
    if location is None or not location.is_active:
        raise InvalidInput("Unknown or closed location.", fields={"location_id": ["Unknown or inactive."]})
    if data["fulfilment"] == Fulfilment.DELIVERY and location.kind != LocationKind.HALL:
        raise InvalidInput("Deliveries leave from a hall.", fields={"location_id": ["Not a hall."]})
    if data["fulfilment"] == Fulfilment.PICKUP and location.kind not in (LocationKind.HALL, LocationKind.COUNTER):
        raise InvalidInput("Pick up at a hall or a counter.", fields={"location_id": ["Not a hall or counter."]})
    if data.get("rush_sale_id") is not None:
        rush = session.get(RushSale, data["rush_sale_id"])
        if rush is None or rush.sku_id != sku.id:
            raise InvalidInput("That rush sale is not for this SKU.", fields={"rush_sale_id": ["Mismatch."]})


def add_line(session: Session, user_id: int, *, data: dict) -> CartLine:
    """Add a SKU, or raise the quantity of the same SKU at the same place, fulfilment and offer.

    A pick-up and a delivery of one SKU from one hall are two lines (and two orders at checkout): the
    shopper who adds a delivery keeps the pick-up already in the cart."""
    data = dict(data)
    _check(session, data)
    if data["quantity"] > MAX_QUANTITY:
        raise QuantityLimit(max_quantity=MAX_QUANTITY, requested=data["quantity"])
    if data["fulfilment"] == Fulfilment.BOOKING:
        return _add_booking_line(session, user_id, data)
    data.pop("slot_id", None), data.pop("party_size", None)
    existing, inserted = _found_or_inserted(session, user_id, data, _same_line)
    if inserted:
        return existing
    # One conditional UPDATE: parallel adds cannot push the line past the limit either.
    added = session.execute(
        sa.update(CartLine)
        .where(CartLine.id == existing.id, CartLine.quantity + data["quantity"] <= MAX_QUANTITY)
        .values(quantity=CartLine.quantity + data["quantity"]),
        execution_options={"synchronize_session": False},
    ).rowcount
    session.refresh(existing)
    if not added:
        raise QuantityLimit(max_quantity=MAX_QUANTITY, quantity=existing.quantity, requested=data["quantity"])
    return existing


def _same_line(session: Session, user_id: int, data: dict) -> CartLine | None:
    return session.scalar(
        sa.select(CartLine).where(
            CartLine.user_id == user_id,
            CartLine.sku_id == data["sku_id"],
            CartLine.location_id == data["location_id"],
            CartLine.fulfilment == data["fulfilment"],
            CartLine.rush_sale_id.is_(None)
            if data.get("rush_sale_id") is None
            else CartLine.rush_sale_id == data["rush_sale_id"],
        )
    )


def _found_or_inserted(session: Session, user_id: int, data: dict, find) -> tuple[CartLine, bool]:
    """The line `find` finds in the cart, or a new one (True); the one a parallel add of the same
    line inserted first when the unique key refuses ours."""
    existing = find(session, user_id, data)
    if existing is None:
        line = _insert_line(session, user_id, data)
        if line is not None:
            return line, True
        existing = find(session, user_id, data)
    return existing, False


def _insert_line(session: Session, user_id: int, data: dict) -> CartLine | None:
    """The new line, or None when the same line was added in parallel and committed first (the unique
    key refused this one)."""
    count = session.scalar(sa.select(sa.func.count()).where(CartLine.user_id == user_id))
    if count >= MAX_LINES:
        raise InvalidInput(f"A cart holds at most {MAX_LINES} lines.", fields={"sku_id": ["Cart full."]})
    line = CartLine(user_id=user_id, **data)
    try:
        with session.begin_nested():
            session.add(line)
            session.flush()
    except IntegrityError:
        return None
    return line


def _add_booking_line(session: Session, user_id: int, data: dict) -> CartLine:
    """A slot booked again replaces the party and units of the line already in the cart."""
    existing, inserted = _found_or_inserted(session, user_id, data, _same_slot_line)
    if inserted:
        return existing
    existing.quantity, existing.party_size = data["quantity"], data["party_size"]
    session.flush()
    return existing


def _same_slot_line(session: Session, user_id: int, data: dict) -> CartLine | None:
    return session.scalar(
        sa.select(CartLine).where(
            CartLine.user_id == user_id, CartLine.sku_id == data["sku_id"], CartLine.slot_id == data["slot_id"]
        )
    )


def _own(session: Session, user_id: int, line_id: int) -> CartLine:
    line = session.get(CartLine, line_id)
    if line is None or line.user_id != user_id:
        raise NotFound("No such cart line.")
    return line


def update_line(session: Session, user_id: int, line_id: int, *, quantity: int) -> CartLine:
    line = _own(session, user_id, line_id)
    if line.fulfilment == Fulfilment.BOOKING:
        raise InvalidInput(
            "A booking line changes by adding its slot again with the new party.", fields={"quantity": ["Fixed."]}
        )
    if quantity > MAX_QUANTITY:
        raise QuantityLimit(max_quantity=MAX_QUANTITY, requested=quantity)
    line.quantity = quantity
    session.flush()
    return line


def remove_line(session: Session, user_id: int, line_id: int) -> None:
    session.delete(_own(session, user_id, line_id))
    session.flush()


def clear(session: Session, user_id: int, line_ids: list[int] | None = None) -> None:
    stmt = sa.delete(CartLine).where(CartLine.user_id == user_id)
    if line_ids is not None:
        stmt = stmt.where(CartLine.id.in_(line_ids))
    session.execute(stmt, execution_options={"synchronize_session": False})

"""What the shared order flows ask of bookings: the terms of a slot for pricing and the cart, and the
capacity an order holds (taken at checkout, confirmed with codes at payment, given back at expiry,
cancellation or refund). Orders call these; nothing here calls the order services."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.bookings import capacity
from shop.bookings.errors import PartySize, SlotNotBookable
from shop.bookings.models import Booking, BookingStatus, Offering, Slot
from shop.errors import InvalidInput

LIVE = (BookingStatus.HELD, BookingStatus.CONFIRMED)


@dataclass(frozen=True)
class SlotTerms:
    slot_id: int
    sku_id: int
    price_fen: int
    bookable: bool  # open, not started, offering active


def slot_terms(session: Session, slot_ids, now: datetime) -> dict[int, SlotTerms]:
    ids = sorted({s for s in slot_ids if s is not None})
    if not ids:
        return {}
    rows = session.execute(
        sa.select(Slot.id, Offering.sku_id, Slot.price_fen, Slot.is_closed, Slot.starts_at, Offering.is_active)
        .join(Offering, Offering.id == Slot.offering_id)
        .where(Slot.id.in_(ids))
    )
    return {
        slot_id: SlotTerms(slot_id, sku_id, price, bool(active) and not closed and starts_at > now)
        for slot_id, sku_id, price, closed, starts_at, active in rows
    }


def new_code() -> str:
    return f"{secrets.randbelow(100_000_000):08d}"


def units_for(offering: Offering, party_size: int, units: int | None) -> int:
    """The units a party takes: as asked, or enough for everyone (a room sleeps `guests_per_unit`)."""
    if not offering.min_party <= party_size <= offering.max_party:
        raise PartySize(min_party=offering.min_party, max_party=offering.max_party, party_size=party_size)
    needed = -(-party_size // offering.guests_per_unit)
    if units is None:
        return needed
    if not needed <= units <= party_size:
        raise PartySize(
            f"{party_size} guests take from {needed} to {party_size} units.",
            party_size=party_size,
            units=units,
        )
    return units


def check_cart_line(session: Session, sku_id: int, slot_id: int | None, party_size: int | None, units: int | None, now):
    """A service line of a cart: its slot belongs to the SKU's offering and is bookable, the party
    fits the offering. Returns the units it takes."""
    if slot_id is None or party_size is None:
        raise InvalidInput(
            "A service is booked for a slot and a party.",
            fields={"slot_id": ["Required for a service."], "party_size": ["Required for a service."]},
        )
    slot = session.get(Slot, slot_id)
    if slot is None or slot.offering.sku_id != sku_id:
        raise InvalidInput("That slot is not of this SKU.", fields={"slot_id": ["Not a slot of this SKU."]})
    if slot.is_closed or slot.starts_at <= now or not slot.offering.is_active:
        raise SlotNotBookable(slot_id=slot_id)
    return units_for(slot.offering, party_size, units)


def reserve_for_order(session: Session, order, lines: list[tuple], now: datetime) -> None:
    """Take capacity for each (order line, slot id, party size) of a booking order, slot by slot in id
    order (one conditional UPDATE each), and hold a booking per line until payment."""
    per_slot: dict[int, int] = {}
    for line, slot_id, _party in lines:
        per_slot[slot_id] = per_slot.get(slot_id, 0) + line.quantity
    for slot_id in sorted(per_slot):
        capacity.take(session, slot_id, per_slot[slot_id], now=now)
    offerings = dict(session.execute(sa.select(Slot.id, Slot.offering_id).where(Slot.id.in_(sorted(per_slot)))).all())
    for line, slot_id, party in lines:
        booking = Booking(
            slot_id=slot_id,
            offering_id=offerings[slot_id],
            order_id=order.id,
            order_line_id=line.id,
            units=line.quantity,
            party_size=party,
            amount_fen=line.total_fen,
            status=BookingStatus.HELD,
            created_at=now,
        )
        booking.record_transition(None, BookingStatus.HELD, actor_id=order.buyer_id, at=now, reason="checkout")
        session.add(booking)
    session.flush()


def confirm(session: Session, bookings: list[Booking], *, actor_id: int | None, now: datetime) -> None:
    """Paid: each held booking is confirmed with its own code."""
    for booking in bookings:
        if booking.status == BookingStatus.HELD:
            booking.transition(BookingStatus.CONFIRMED, actor_id=actor_id, at=now, reason="paid")
            booking.code, booking.confirmed_at = new_code(), now
    session.flush()


def release(session: Session, bookings: list[Booking], *, actor_id: int | None, now: datetime, reason: str) -> None:
    """Cancel live bookings and give their capacity back (unless the slot has started: then it is gone)."""
    for booking in bookings:
        if booking.status not in LIVE:
            continue
        booking.transition(BookingStatus.CANCELLED, actor_id=actor_id, at=now, reason=reason)
        booking.cancelled_at = now
        if booking.slot.starts_at > now:
            capacity.give_back(session, booking.slot_id, booking.units)
    session.flush()


def of_order(session: Session, order_id: int) -> list[Booking]:
    return list(session.scalars(sa.select(Booking).where(Booking.order_id == order_id).order_by(Booking.id)))


def confirm_order(session: Session, order, *, actor_id: int | None, now: datetime) -> None:
    confirm(session, of_order(session, order.id), actor_id=actor_id, now=now)


def release_order(session: Session, order, *, actor_id: int | None, now: datetime, reason: str) -> None:
    release(session, of_order(session, order.id), actor_id=actor_id, now=now, reason=reason)


def return_units(session: Session, order, line_id: int, units: int, *, actor_id: int | None, now: datetime) -> None:
    """Refunded units of a booking line: their capacity comes back; the booking is cancelled once
    none of its units is left."""
    booking = session.scalar(sa.select(Booking).where(Booking.order_line_id == line_id))
    if booking is None or booking.status not in LIVE:
        return
    if units >= booking.units:
        release(session, [booking], actor_id=actor_id, now=now, reason=f"refund of order {order.number}")
        return
    booking.units -= units
    if booking.slot.starts_at > now:
        capacity.give_back(session, booking.slot_id, units)
    session.flush()

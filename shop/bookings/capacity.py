"""The one door to a slot's `booked` count: take and give back capacity with one conditional UPDATE
each, exact under contention (`booked + n <= capacity` is checked by the database in the same
statement), and tell search that the product's open days may have changed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.bookings.errors import SlotFull, SlotNotBookable
from shop.bookings.models import Offering, Slot
from shop.catalog import version as catalog_version

SLOTS = Slot.__table__


def take(session: Session, slot_id: int, units: int, *, now: datetime) -> None:
    """Book `units` of the slot, or raise SlotFull (nothing changed) when fewer are left.

    One statement: `UPDATE booking_slots SET booked = booked + :n WHERE id = :slot AND booked + :n <=
    capacity AND NOT is_closed AND starts_at > :now`. Parallel takes of the last units cannot both win."""
    taken = session.execute(
        sa.update(SLOTS)
        .where(
            SLOTS.c.id == slot_id,
            SLOTS.c.booked + units <= SLOTS.c.capacity,
            SLOTS.c.is_closed.is_(False),
            SLOTS.c.starts_at > now,
        )
        .values(booked=SLOTS.c.booked + units)
        .returning(SLOTS.c.booked, SLOTS.c.capacity)
    ).first()
    if taken is None:
        _refuse(session, slot_id, units, now)
    if taken.booked >= taken.capacity:  # the slot filled up: the product may no longer be bookable
        catalog_version.mark_changed(session)
    _touch(session, [slot_id])


def give_back(session: Session, slot_id: int, units: int) -> None:
    """Return `units` to the slot (a hold expired, a booking cancelled)."""
    given = session.execute(
        sa.update(SLOTS)
        .where(SLOTS.c.id == slot_id, SLOTS.c.booked >= units)
        .values(booked=SLOTS.c.booked - units)
        .returning(SLOTS.c.booked, SLOTS.c.capacity)
    ).first()
    if given is not None and given.booked + units >= given.capacity > given.booked:  # a full slot opened
        catalog_version.mark_changed(session)
    _touch(session, [slot_id])


def _refuse(session: Session, slot_id: int, units: int, now: datetime):
    row = session.execute(
        sa.select(SLOTS.c.capacity, SLOTS.c.booked, SLOTS.c.is_closed, SLOTS.c.starts_at).where(SLOTS.c.id == slot_id)
    ).one_or_none()
    if row is None or row.is_closed or row.starts_at <= now:
        raise SlotNotBookable(slot_id=slot_id)
    raise SlotFull(slot_id=slot_id, requested=units, left=max(row.capacity - row.booked, 0))


def _touch(session: Session, slot_ids: list[int]) -> None:
    products = sa.select(Offering.product_id).join(Slot, Slot.offering_id == Offering.id).where(Slot.id.in_(slot_ids))
    calendar_changed(session, products)


def calendar_changed(session: Session, product_ids: sa.Select) -> None:
    """The open days of these products may have changed (a booking, a slot opened or closed): their
    search documents are rebuilt after commit."""
    # imported here: search's outbox imports the order models, whose flow (checkout) calls this module
    from search.outbox import enqueue_selected

    session.flush()
    enqueue_selected(session, product_ids)

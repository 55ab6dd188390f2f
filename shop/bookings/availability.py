"""What the public reads of the calendars: a product's slots of a month with what they have left, and
the date-range filter of the catalog and search (services with capacity left on some day)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.bookings.models import Offering, Slot
from shop.certification.query import product_in_force
from shop.errors import NotFound
from shop.inventory.models import china_today


def open_slot_exists(product_id, first: date | None, last: date | None, now: datetime) -> sa.ColumnElement[bool]:
    """SQL: the product has a slot with capacity left on a day from `first` to `last` (today at the
    earliest, Asia/Shanghai), of an active offering. The catalog's and the embedded search's filter."""
    start = max(first, china_today(now)) if first else china_today(now)
    conditions = [
        Offering.product_id == product_id,
        Offering.is_active,
        Slot.offering_id == Offering.id,
        Slot.is_closed.is_(False),
        Slot.booked < Slot.capacity,
        Slot.day >= start,
    ]
    if last is not None:
        conditions.append(Slot.day <= last)
    return sa.exists().where(*conditions)


def open_days(session: Session, product_ids: list[int], now: datetime) -> dict[int, list[str]]:
    """Per product, the days (ISO, Asia/Shanghai) from today with a slot with capacity left: what the
    engine's documents hold for the same filter."""
    rows = session.execute(
        sa.select(Offering.product_id, Slot.day)
        .join(Slot, Slot.offering_id == Offering.id)
        .where(
            Offering.product_id.in_(product_ids),
            Offering.is_active,
            Slot.is_closed.is_(False),
            Slot.booked < Slot.capacity,
            Slot.day >= china_today(now),
        )
        .distinct()
        .order_by(Offering.product_id, Slot.day)
    )
    days: dict[int, list[str]] = {}
    for product_id, day in rows:
        days.setdefault(product_id, []).append(day.isoformat())
    return days


def month_availability(session: Session, product_id: int, *, year: int, month: int, now: datetime) -> list[Slot]:
    """The slots of a certified product in a month (Asia/Shanghai days) not started yet, with what
    each has left (closed slots and full ones included, with 0 left)."""
    if not session.scalar(sa.select(product_in_force(product_id, now))):
        raise NotFound("No such product, or it is not certified now.")
    first = date(year, month, 1)
    after = date(year + (month == 12), month % 12 + 1, 1)
    return list(
        session.scalars(
            sa.select(Slot)
            .join(Offering, Offering.id == Slot.offering_id)
            .where(
                Offering.product_id == product_id,
                Offering.is_active,
                Slot.day >= first,
                Slot.day < after,
                Slot.starts_at > now,
            )
            .order_by(Slot.starts_at, Slot.id)
        )
    )

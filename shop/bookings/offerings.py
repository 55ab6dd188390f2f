"""The supplier's side: offerings of its service products and their calendars of slots; and how to
book a product, as its detail says (availability is in `shop.bookings.availability`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.bookings import capacity
from shop.bookings.models import DayType, Offering, Slot
from shop.catalog import version as catalog_version
from shop.catalog.models import Product, ProductKind, Sku
from shop.errors import Conflict, InvalidInput, NotFound
from shop.inventory.models import CHINA, china_today
from shop.suppliers.service import require_member

OFFERING_FIELDS = (
    "name",
    "meeting_point",
    "how_to_book",
    "guests_per_unit",
    "min_party",
    "max_party",
    "weekday_price_fen",
    "weekend_price_fen",
    "holiday_price_fen",
    "free_cancel_days",
    "late_refund_bp",
    "is_active",
)
MAX_CALENDAR_DAYS = 400
MAX_SLOTS_PER_CALL = 3000

HOW_TO_BOOK = (
    "Pick a slot with places left (GET /api/v1/bookings/products/{product_id}/availability?month=YYYY-MM), "
    'add it to the cart (POST /api/v1/cart/lines with sku_id, fulfilment "booking", slot_id and party_size), '
    "check out and pay; each booking then has its own code and QR payload, shown to the provider at the "
    "meeting point."
)


def _own_offering(session: Session, actor: Actor, offering_id: int) -> Offering:
    offering = session.get(Offering, offering_id)
    if offering is None:
        raise NotFound("No such offering.")
    product = session.get(Product, offering.product_id)
    require_member(actor, product.supplier_id)
    return offering


def _check_party(data: dict) -> None:
    if data["min_party"] > data["max_party"]:
        raise InvalidInput("The smallest party exceeds the largest.", fields={"max_party": ["Below min_party."]})


def create_offering(session: Session, actor: Actor, product_id: int, *, data: dict, now: datetime) -> Offering:
    """A supplier makes a SKU of its service product bookable."""
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound("No such product.")
    require_member(actor, product.supplier_id)
    if product.kind != ProductKind.SERVICE:
        raise InvalidInput("Only a service product has bookable units.", fields={"product_id": ["Not a service."]})
    sku = session.get(Sku, data["sku_id"])
    if sku is None or sku.product_id != product.id:
        raise InvalidInput("Not a SKU of this product.", fields={"sku_id": ["Not of this product."]})
    if session.scalar(sa.select(Offering.id).where(Offering.sku_id == sku.id)) is not None:
        raise Conflict("This SKU is bookable already.", sku_id=sku.id)
    data.setdefault("min_party", 1)
    _check_party(data)
    offering = Offering(product_id=product.id, created_at=now, **data)
    session.add(offering)
    session.flush()
    return offering


def update_offering(session: Session, actor: Actor, offering_id: int, *, data: dict) -> Offering:
    offering = _own_offering(session, actor, offering_id)
    for key in OFFERING_FIELDS:
        if key in data:
            setattr(offering, key, data[key])
    _check_party({"min_party": offering.min_party, "max_party": offering.max_party})
    capacity.calendar_changed(session, sa.select(sa.literal(offering.product_id)))
    return offering


def day_type(day: date, holidays: set[date]) -> DayType:
    if day in holidays:
        return DayType.HOLIDAY
    return DayType.WEEKEND if day.weekday() >= 5 else DayType.WEEKDAY


def add_slots(session: Session, actor: Actor, offering_id: int, *, data: dict, now: datetime) -> list[Slot]:
    """The calendar: for each day from `first_day` to `last_day` (on the `weekdays` given, 0 Monday),
    one slot per start time (Asia/Shanghai) lasting `minutes`, with `capacity` units, priced by the
    day's type (a `holidays` date, a weekend, else a weekday). Days already holding a slot at that
    start keep it."""
    offering = _own_offering(session, actor, offering_id)
    first, last = data["first_day"], data["last_day"]
    if last < first or (last - first).days >= MAX_CALENDAR_DAYS:
        raise InvalidInput(
            f"From 1 to {MAX_CALENDAR_DAYS} days, the last not before the first.",
            fields={"last_day": ["Out of range."]},
        )
    if first < china_today(now):
        raise InvalidInput("The calendar starts today or later.", fields={"first_day": ["In the past."]})
    weekdays = set(data.get("weekdays") or range(7))
    holidays = set(data.get("holidays") or ())
    wanted = []
    day = first
    while day <= last:
        if day.weekday() in weekdays:
            for start in data["start_times"]:
                starts = datetime.combine(day, start, tzinfo=CHINA)
                wanted.append((day, starts))
        day += timedelta(days=1)
    if len(wanted) > MAX_SLOTS_PER_CALL:
        raise InvalidInput(f"At most {MAX_SLOTS_PER_CALL} slots at once.", fields={"last_day": ["Too many slots."]})
    existing = set(
        session.scalars(
            sa.select(Slot.starts_at).where(Slot.offering_id == offering.id, Slot.day >= first, Slot.day <= last)
        )
    )
    slots = []
    for day, starts in wanted:
        if starts in existing:
            continue
        kind = day_type(day, holidays)
        slot = Slot(
            offering_id=offering.id,
            day=day,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=data["minutes"]),
            capacity=data["capacity"],
            booked=0,
            day_type=kind,
            price_fen=offering.price_for(kind),
            is_closed=False,
        )
        session.add(slot)
        slots.append(slot)
    capacity.calendar_changed(session, sa.select(sa.literal(offering.product_id)))
    return slots


def update_slot(session: Session, actor: Actor, slot_id: int, *, data: dict) -> Slot:
    """Change a slot's capacity (never below what is booked: one conditional UPDATE), price or
    whether it is closed to new bookings."""
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise NotFound("No such slot.")
    _own_offering(session, actor, slot.offering_id)
    if "capacity" in data:
        changed = session.execute(
            sa.update(Slot)
            .where(Slot.id == slot.id, Slot.booked <= data["capacity"])
            .values(capacity=data["capacity"]),
            execution_options={"synchronize_session": False},
        ).rowcount
        session.refresh(slot)
        catalog_version.mark_changed(session)  # a plain UPDATE no flush sees
        if not changed:
            raise Conflict("More units are booked than that capacity.", booked=slot.booked)
    for key in ("price_fen", "is_closed"):
        if key in data:
            setattr(slot, key, data[key])
    capacity.calendar_changed(session, sa.select(sa.literal(slot.offering.product_id)))
    return slot


def list_offerings(session: Session, product_id: int) -> list[Offering]:
    return list(
        session.scalars(
            sa.select(Offering).where(Offering.product_id == product_id, Offering.is_active).order_by(Offering.id)
        )
    )


def list_supplier_offerings(session: Session, actor: Actor, product_id: int) -> list[Offering]:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound("No such product.")
    require_member(actor, product.supplier_id)
    return list(session.scalars(sa.select(Offering).where(Offering.product_id == product_id).order_by(Offering.id)))


def booking_info(session: Session, product: Product) -> dict | None:
    """What a product's detail says about booking it (None for goods)."""
    if product.kind != ProductKind.SERVICE:
        return None
    offerings = list_offerings(session, product.id)
    return {
        "bookable": bool(offerings),
        "how_to_book": HOW_TO_BOOK.replace("{product_id}", str(product.id)),
        "offerings": offerings,
    }

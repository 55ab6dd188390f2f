"""Union recuperation trips (职工疗休养): a bulk order of kind `trip` books one slot place (or more)
per member of its roster. What the bulk-order flow asks of bookings: check the roster's rows, take
capacity at approval, confirm with codes at payment, give back at cancellation."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.bookings import capacity, holds
from shop.bookings.models import SETTLED, Booking, BookingStatus, Offering, Slot
from shop.procurement.models import BulkOrder, BulkOrderLine


def check_rows(session: Session, rows: list[dict], sku_ids: dict, now: datetime, bad, typed: set) -> None:
    """Each row is a member: a service SKU's code, a bookable slot of its offering, the member's name
    (`recipient`); no pick-up place or address. `sku_ids`: code → SKU id of the known codes; `typed`:
    (row, column) of cells already refused for their type."""
    slots = {
        slot.id: slot
        for slot in session.scalars(
            sa.select(Slot).where(Slot.id.in_({r["slot_id"] for r in rows if r.get("slot_id")}))
        )
    }
    for r in rows:
        n = r["row"]
        if not r.get("sku_code"):
            bad(n, "sku_code", "Required.")
        slot = slots.get(r.get("slot_id")) if r.get("slot_id") else None
        if not r.get("slot_id"):
            if (n, "slot_id") not in typed:
                bad(n, "slot_id", "Required.")
        elif slot is None:
            bad(n, "slot_id", f"No slot {r['slot_id']}.")
        elif r.get("sku_code") in sku_ids and slot.offering.sku_id != sku_ids[r["sku_code"]]:
            bad(n, "slot_id", f"Slot {slot.id} is not of {r['sku_code']!r}.")
        elif slot.is_closed or slot.starts_at <= now or not slot.offering.is_active:
            bad(n, "slot_id", f"Slot {slot.id} cannot be booked.")
        if not r.get("recipient"):
            bad(n, "recipient", "The member's name is required.")
        if r.get("pickup_location_id") or r.get("delivery_address"):
            bad(n, "delivery_address", "A trip has no destination; members meet at the offering's meeting point.")
        if r.get("voucher_value_fen") is not None:
            bad(n, "voucher_value_fen", "Only voucher orders have value vouchers.")


def _lines(session: Session, order: BulkOrder) -> list[BulkOrderLine]:
    return list(
        session.scalars(
            sa.select(BulkOrderLine)
            .where(BulkOrderLine.bulk_order_id == order.id, BulkOrderLine.cancelled_at.is_(None))
            .order_by(BulkOrderLine.row_number, BulkOrderLine.id)
        )
    )


def take_capacity(session: Session, order: BulkOrder, *, actor_id: int, now: datetime) -> None:
    """Approval: the roster's places are taken slot by slot (one conditional UPDATE per slot, in id
    order) and each member holds a booking until payment."""
    lines = _lines(session, order)
    per_slot: dict[int, int] = {}
    for line in lines:
        per_slot[line.slot_id] = per_slot.get(line.slot_id, 0) + line.quantity
    for slot_id in sorted(per_slot):
        capacity.take(session, slot_id, per_slot[slot_id], now=now)
    offerings = dict(session.execute(sa.select(Slot.id, Slot.offering_id).where(Slot.id.in_(sorted(per_slot)))).all())
    for line in lines:
        booking = Booking(
            slot_id=line.slot_id,
            offering_id=offerings[line.slot_id],
            bulk_order_id=order.id,
            bulk_line_id=line.id,
            guest_name=line.recipient,
            phone=line.phone,
            units=line.quantity,
            party_size=line.quantity,
            amount_fen=line.total_fen,
            status=BookingStatus.HELD,
            created_at=now,
        )
        booking.record_transition(
            None, BookingStatus.HELD, actor_id=actor_id, at=now, reason=f"approved {order.number}"
        )
        session.add(booking)
    session.flush()


def of_bulk_order(session: Session, order_id: int) -> list[Booking]:
    return list(session.scalars(sa.select(Booking).where(Booking.bulk_order_id == order_id).order_by(Booking.id)))


def confirm(session: Session, order: BulkOrder, *, actor_id: int | None, now: datetime) -> None:
    holds.confirm(session, of_bulk_order(session, order.id), actor_id=actor_id, now=now)


def release(session: Session, order: BulkOrder, *, actor_id: int | None, now: datetime) -> None:
    holds.release(
        session, of_bulk_order(session, order.id), actor_id=actor_id, now=now, reason=f"{order.number} cancelled"
    )


def all_settled(session: Session, order_id: int) -> bool:
    statuses = session.scalars(sa.select(Booking.status).where(Booking.bulk_order_id == order_id)).all()
    return bool(statuses) and all(status in SETTLED for status in statuses)


def offering_of_line(session: Session, line: BulkOrderLine) -> Offering:
    return session.scalar(
        sa.select(Offering).join(Slot, Slot.offering_id == Offering.id).where(Slot.id == line.slot_id)
    )

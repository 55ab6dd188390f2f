"""The life of a booking after checkout: the guest (or the organisation) reads it with its code,
cancels it under the offering's policy, asks for a new code; the provider lists a slot's guests,
checks them in by code (wrong codes counted and limited, as pick-up codes are) and records
no-shows. When every booking of a purchase is settled, the purchase completes (a shop order earns
its points and writes its sales facts; a union trip is fulfilled)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.attempts import count_wrong
from shop.auth.actor import Actor
from shop.bookings import holds, policy
from shop.bookings.errors import BookingCodeLocked, NotCancellable, NotCheckinTime, WrongBookingCode
from shop.bookings.models import SETTLED, Booking, BookingEvent, BookingStatus, Offering, Slot
from shop.catalog.models import Product
from shop.errors import IllegalTransition, NotFound
from shop.orders import refunds
from shop.orders import service as orders
from shop.orders.models import Order, OrderLine, OrderStatus
from shop.paging import paginate
from shop.procurement import access, trip_members
from shop.procurement.bulk_orders import ProcurementSettings
from shop.procurement.models import BulkOrder
from shop.suppliers.service import require_member

CHECKIN_OPENS = timedelta(hours=24)  # before the slot starts
CHECKIN_CLOSES = timedelta(hours=24)  # after the slot ends


def _lock(session: Session, booking_id: int) -> Booking | None:
    return session.scalar(
        sa.select(Booking).where(Booking.id == booking_id).with_for_update().execution_options(populate_existing=True)
    )


def _is_holder(session: Session, actor: Actor, booking: Booking) -> bool:
    """The buyer of its order, or a member of the organisation of its trip: they see the code."""
    if booking.order_id is not None:
        return session.scalar(sa.select(Order.buyer_id).where(Order.id == booking.order_id)) == actor.user_id
    organisation_id = session.scalar(sa.select(BulkOrder.organisation_id).where(BulkOrder.id == booking.bulk_order_id))
    return access.is_member(actor, organisation_id)


def _is_provider(session: Session, actor: Actor, offering_id: int) -> bool:
    supplier_id = session.scalar(
        sa.select(Product.supplier_id)
        .join(Offering, Offering.product_id == Product.id)
        .where(Offering.id == offering_id)
    )
    try:
        require_member(actor, supplier_id)
    except Exception:  # Forbidden: not the provider
        return False
    return True


def _disclose(booking: Booking) -> Booking:
    booking.shown_code = booking.code if booking.status == BookingStatus.CONFIRMED else None
    return booking


def get_booking(session: Session, actor: Actor, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("No such booking.")
    if _is_holder(session, actor, booking):
        return _disclose(booking)
    if _is_provider(session, actor, booking.offering_id):
        return booking  # the provider (or an admin) never reads the code: the guest shows it
    raise NotFound("No such booking.")


def list_my_bookings(session: Session, actor: Actor, *, page: int, size: int):
    stmt = sa.select(Booking).join(Order, Order.id == Booking.order_id).where(Order.buyer_id == actor.user_id)
    items, total = paginate(session, stmt, order_by=Booking.id.desc(), page=page, size=size)
    return [_disclose(b) for b in items], total


def list_trip_bookings(session: Session, actor: Actor, bulk_order_id: int, *, page: int, size: int):
    """The members' bookings of a union trip, with their codes, for the organisation to hand out."""
    order = session.get(BulkOrder, bulk_order_id)
    if order is None:
        raise NotFound("No such bulk order.")
    try:
        access.require(actor, order.organisation_id)
    except NotFound:
        raise NotFound("No such bulk order.") from None
    stmt = sa.select(Booking).where(Booking.bulk_order_id == bulk_order_id)
    items, total = paginate(session, stmt, order_by=Booking.id, page=page, size=size)
    return [_disclose(b) for b in items], total


def list_slot_guests(session: Session, actor: Actor, slot_id: int, *, page: int, size: int):
    """The provider's guest list of a slot (no codes)."""
    slot = session.get(Slot, slot_id)
    if slot is None or not _is_provider(session, actor, slot.offering_id):
        raise NotFound("No such slot.")
    stmt = sa.select(Booking).where(Booking.slot_id == slot_id, Booking.status != BookingStatus.HELD)
    return paginate(session, stmt, order_by=Booking.id, page=page, size=size)


def list_events(session: Session, actor: Actor, booking_id: int, *, page: int, size: int):
    get_booking(session, actor, booking_id)
    stmt = sa.select(BookingEvent).where(BookingEvent.booking_id == booking_id)
    return paginate(session, stmt, order_by=BookingEvent.id, page=page, size=size)


# --- cancelling --------------------------------------------------------------------------------


def cancel_booking(
    session: Session,
    actor: Actor,
    booking_id: int,
    *,
    reason: str,
    reference: str | None = None,
    order_settings: orders.OrderSettings,
    procurement_settings: ProcurementSettings,
    now: datetime,
) -> Booking:
    """The guest (or the organisation, for a trip member) cancels a paid booking: its capacity comes
    back and the policy's share at this instant is refunded through the existing refund flow. The
    provider may cancel too (weather, a closed road): then everything comes back."""
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("No such booking.")
    holder = _is_holder(session, actor, booking)
    provider = not holder and _is_provider(session, actor, booking.offering_id)
    if not (holder or provider):
        raise NotFound("No such booking.")
    if booking.bulk_order_id is not None:
        return trip_members.cancel_member(
            session,
            actor,
            booking,
            by_provider=provider,
            reason=reason,
            reference=reference,
            settings=procurement_settings,
            now=now,
        )
    order = orders.lock(session, booking.order_id)
    booking = _lock(session, booking_id)
    if booking.status != BookingStatus.CONFIRMED:
        raise NotCancellable(status=booking.status.value)
    share = policy.refund_share_bp(booking.offering, booking.slot, now, by_provider=provider)
    line = session.get(OrderLine, booking.order_line_id)
    refund = refunds.refund_booking_line(
        session,
        order,
        line,
        share_bp=share,
        reference=reference,
        actor_id=actor.user_id,
        reason=reason or ("cancelled by the provider" if provider else "cancelled by the guest"),
        settings=order_settings,
        now=now,
    )
    booking.refunded_fen = min(booking.amount_fen, refund.amount_fen)
    holds.release(session, [booking], actor_id=actor.user_id, now=now, reason=f"cancelled, {share} bp refunded")
    _settle_order(session, order, actor_id=actor.user_id, settings=order_settings, now=now)
    return _disclose(booking)


# --- at the meeting point ----------------------------------------------------------------------


def _provided(session: Session, actor: Actor, booking_id: int) -> Booking:
    """The booking, locked after its purchase (order, then booking: the order of every path)."""
    booking = session.get(Booking, booking_id)
    if booking is None or not _is_provider(session, actor, booking.offering_id):
        raise NotFound("No such booking.")
    if booking.order_id is not None:
        orders.lock(session, booking.order_id)
    else:
        trip_members.lock_order(session, booking.bulk_order_id)
    return _lock(session, booking_id)


def check_in(
    session: Session,
    actor: Actor,
    booking_id: int,
    *,
    code: str,
    order_settings: orders.OrderSettings,
    now: datetime,
) -> Booking:
    """The provider checks the guest's code. Each wrong code counts against the booking (one
    conditional UPDATE); the last allowed one locks the code until the guest asks for a new one.
    Raises WrongBookingCode after counting: the caller commits."""
    booking = _provided(session, actor, booking_id)
    if booking.status != BookingStatus.CONFIRMED:
        raise IllegalTransition("booking", booking.status.value, BookingStatus.CHECKED_IN.value)
    slot = booking.slot
    if not slot.starts_at - CHECKIN_OPENS <= now <= slot.ends_at + CHECKIN_CLOSES:
        raise NotCheckinTime(starts_at=slot.starts_at.isoformat(), ends_at=slot.ends_at.isoformat())
    limit = order_settings.pickup_max_attempts
    if booking.code_locked_at is not None or booking.code_attempts >= limit:
        raise BookingCodeLocked(attempts=booking.code_attempts)
    if booking.code is not None and secrets.compare_digest(booking.code, code):
        booking.transition(BookingStatus.CHECKED_IN, actor_id=actor.user_id, at=now)
        booking.checked_in_at = now
        _settle(session, booking, actor_id=actor.user_id, settings=order_settings, now=now)
        return booking
    attempts = count_wrong(session, booking, attempts="code_attempts", locked_at="code_locked_at", limit=limit)
    if attempts is None:
        raise BookingCodeLocked(attempts=booking.code_attempts)
    if attempts >= limit:
        booking.code_locked_at = now
    session.flush()
    raise WrongBookingCode(attempts=attempts, attempts_left=max(limit - attempts, 0), locked=attempts >= limit)


def mark_no_show(
    session: Session, actor: Actor, booking_id: int, *, order_settings: orders.OrderSettings, now: datetime
) -> Booking:
    """The provider records that the guest did not come (once the slot has started); nothing is
    refunded, the capacity stays used."""
    booking = _provided(session, actor, booking_id)
    if now < booking.slot.starts_at:
        raise NotCheckinTime(starts_at=booking.slot.starts_at.isoformat())
    booking.transition(BookingStatus.NO_SHOW, actor_id=actor.user_id, at=now, reason="did not come")
    _settle(session, booking, actor_id=actor.user_id, settings=order_settings, now=now)
    return booking


def renew_code(session: Session, actor: Actor, booking_id: int, *, now: datetime) -> Booking:
    """The guest replaces the code (after a lock, or if someone saw it)."""
    booking = _lock(session, booking_id)
    if booking is None or not _is_holder(session, actor, booking):
        raise NotFound("No such booking.")
    if booking.status != BookingStatus.CONFIRMED:
        raise IllegalTransition("booking", booking.status.value, booking.status.value)
    booking.code, booking.code_attempts, booking.code_locked_at = holds.new_code(), 0, None
    booking.events.append(
        BookingEvent(
            from_status=booking.status, to_status=booking.status, actor_id=actor.user_id, at=now, note="new code"
        )
    )
    session.flush()
    return _disclose(booking)


# --- completion --------------------------------------------------------------------------------


def _settle(session: Session, booking: Booking, *, actor_id: int, settings: orders.OrderSettings, now: datetime):
    if booking.order_id is not None:
        _settle_order(session, orders.lock(session, booking.order_id), actor_id=actor_id, settings=settings, now=now)
    else:
        trip_members.settle_by_id(session, booking.bulk_order_id, actor_id=actor_id, now=now)
    session.flush()


def _settle_order(session: Session, order: Order, *, actor_id: int, settings: orders.OrderSettings, now: datetime):
    """A paid booking order whose bookings are all settled, some not cancelled, completes."""
    bookings = holds.of_order(session, order.id)
    if order.status not in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED) or order.completed_at is not None:
        return
    if all(b.status in SETTLED for b in bookings) and any(b.status != BookingStatus.CANCELLED for b in bookings):
        orders.complete_booking_order(session, order, actor_id=actor_id, settings=settings, now=now)

"""The bookings slice's domain errors and their stable codes."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict, InvalidInput


class BookingsCode(StrEnum):
    SLOT_FULL = "slot_full"
    SLOT_NOT_BOOKABLE = "slot_not_bookable"
    PARTY_SIZE = "party_size"
    BOOKING_NOT_CANCELLABLE = "booking_not_cancellable"
    NOT_CHECKIN_TIME = "not_checkin_time"
    WRONG_BOOKING_CODE = "wrong_booking_code"
    BOOKING_CODE_LOCKED = "booking_code_locked"
    SERVICE_MIXED_WITH_GOODS = "service_mixed_with_goods"


class SlotFull(Conflict):
    code = BookingsCode.SLOT_FULL
    message = "Not enough capacity left in this slot."


class SlotNotBookable(Conflict):
    code = BookingsCode.SLOT_NOT_BOOKABLE
    message = "This slot cannot be booked (closed, started, or its offering is withdrawn)."


class PartySize(InvalidInput):
    code = BookingsCode.PARTY_SIZE
    message = "The party size is outside what the offering takes."


class NotCancellable(Conflict):
    code = BookingsCode.BOOKING_NOT_CANCELLABLE
    message = "This booking can no longer be cancelled."


class NotCheckinTime(Conflict):
    code = BookingsCode.NOT_CHECKIN_TIME
    message = "Not the time for this: guests check in around their slot, no-shows are marked after it starts."


class WrongBookingCode(Conflict):
    code = BookingsCode.WRONG_BOOKING_CODE
    message = "Wrong booking code."


class BookingCodeLocked(Conflict):
    code = BookingsCode.BOOKING_CODE_LOCKED
    message = "Too many wrong codes: the booking code is locked until the guest asks for a new one."


class ServiceMixedWithGoods(InvalidInput):
    code = BookingsCode.SERVICE_MIXED_WITH_GOODS
    message = "A service is booked in an order of its own: check out the service lines and the goods separately."

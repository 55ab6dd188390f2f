"""Offerings (the bookable units of a service product), their slots with capacity, and bookings.

A slot's `booked` is changed only by one conditional UPDATE (shop.bookings.capacity): never more
than its capacity, whatever runs at once."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import Base, enum_column, utcnow_column_default
from shop.transitions import StateMachine


class UnitKind(enum.StrEnum):
    ROOM = "room"  # a room of a homestay, per night
    SEAT = "seat"  # a seat of a session (a farm experience)
    PLACE = "place"  # a place on a guided tour


class DayType(enum.StrEnum):
    WEEKDAY = "weekday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"


class Offering(Base):
    """A bookable unit of a certified service product, sold through its one SKU."""

    __tablename__ = "booking_offerings"
    __table_args__ = (
        sa.CheckConstraint("min_party >= 1 AND max_party >= min_party", name="party_range"),
        sa.CheckConstraint("guests_per_unit >= 1", name="guests_per_unit_positive"),
        sa.CheckConstraint(
            "weekday_price_fen > 0 AND weekend_price_fen > 0 AND holiday_price_fen > 0", name="prices_positive"
        ),
        sa.CheckConstraint("free_cancel_days >= 0", name="free_cancel_days_non_negative"),
        sa.CheckConstraint("late_refund_bp >= 0 AND late_refund_bp <= 10000", name="late_refund_within_whole"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"), unique=True)
    unit_kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind, "booking_unit_kind"))
    name: Mapped[str] = mapped_column(sa.String(200))
    meeting_point: Mapped[str] = mapped_column(sa.String(300))  # where guests meet the provider
    how_to_book: Mapped[str] = mapped_column(sa.String(1000), default="")
    guests_per_unit: Mapped[int] = mapped_column(default=1)  # a room sleeps 2; a seat is 1
    min_party: Mapped[int] = mapped_column(default=1)
    max_party: Mapped[int]
    weekday_price_fen: Mapped[int]
    weekend_price_fen: Mapped[int]
    holiday_price_fen: Mapped[int]
    # Cancellation policy: free until `free_cancel_days` days before the slot starts, then
    # `late_refund_bp` of the price comes back.
    free_cancel_days: Mapped[int] = mapped_column(default=1)
    late_refund_bp: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)

    def price_for(self, day_type: DayType) -> int:
        return {
            DayType.WEEKDAY: self.weekday_price_fen,
            DayType.WEEKEND: self.weekend_price_fen,
            DayType.HOLIDAY: self.holiday_price_fen,
        }[day_type]


class Slot(Base):
    """A date or time slot of an offering with its capacity (rooms, seats, places) and price."""

    __tablename__ = "booking_slots"
    __table_args__ = (
        sa.UniqueConstraint("offering_id", "starts_at"),
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("price_fen > 0", name="price_positive"),
        sa.Index("ix_booking_slots_offering_id_day", "offering_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(sa.ForeignKey("booking_offerings.id"))
    day: Mapped[date] = mapped_column(sa.Date, index=True)  # the day it starts, Asia/Shanghai
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    capacity: Mapped[int]
    booked: Mapped[int] = mapped_column(default=0)
    day_type: Mapped[DayType] = mapped_column(enum_column(DayType, "booking_day_type"))
    price_fen: Mapped[int]
    is_closed: Mapped[bool] = mapped_column(default=False)

    offering: Mapped[Offering] = relationship()

    @property
    def left(self) -> int:
        return 0 if self.is_closed else self.capacity - self.booked


class BookingStatus(enum.StrEnum):
    HELD = "held"  # capacity taken, awaiting payment
    CONFIRMED = "confirmed"  # paid: the guest has a code
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


B = BookingStatus
BOOKING_TRANSITIONS: dict[BookingStatus, set[BookingStatus]] = {
    B.HELD: {B.CONFIRMED, B.CANCELLED},
    B.CONFIRMED: {B.CHECKED_IN, B.NO_SHOW, B.CANCELLED},
    B.CHECKED_IN: set(),
    B.NO_SHOW: set(),
    B.CANCELLED: set(),
}
SETTLED = (B.CHECKED_IN, B.NO_SHOW, B.CANCELLED)  # nothing more will happen to the booking


class Booking(StateMachine, Base):
    """Units of one slot for one party: a shop order's line, or one member of a union trip."""

    __tablename__ = "bookings"
    __table_args__ = (
        sa.CheckConstraint("(order_id IS NULL) <> (bulk_order_id IS NULL)", name="one_purchase"),
        sa.CheckConstraint("units > 0 AND party_size > 0", name="units_positive"),
        sa.CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refund_within_amount"),
        sa.Index("ix_bookings_slot_id_status", "slot_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("booking_slots.id"))
    offering_id: Mapped[int] = mapped_column(sa.ForeignKey("booking_offerings.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    order_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("order_lines.id"))
    bulk_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bulk_orders.id"), index=True)
    bulk_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bulk_order_lines.id"))
    guest_name: Mapped[str | None] = mapped_column(sa.String(100))  # a union member
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    units: Mapped[int]
    party_size: Mapped[int]
    amount_fen: Mapped[int]
    refunded_fen: Mapped[int] = mapped_column(default=0)
    status: Mapped[BookingStatus] = mapped_column(enum_column(BookingStatus, "booking_status"))
    code: Mapped[str | None] = mapped_column(sa.String(8))
    code_attempts: Mapped[int] = mapped_column(default=0)  # wrong codes given since the code was issued
    code_locked_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    checked_in_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)

    slot: Mapped[Slot] = relationship()
    offering: Mapped[Offering] = relationship()
    events: Mapped[list[BookingEvent]] = relationship(order_by="BookingEvent.id", cascade="all, delete-orphan")

    # Not stored: the code as its reader may see it (hidden unless set by the service).
    shown_code = None

    TRANSITIONS = BOOKING_TRANSITIONS
    ENTITY = "booking"

    def record_transition(self, source, target, *, actor_id: int | None, at: datetime, reason: str) -> None:
        self.events.append(
            BookingEvent(from_status=source, to_status=target, actor_id=actor_id, at=at, note=reason[:500])
        )

    @property
    def qr_payload(self) -> str | None:
        """What the guest's QR code holds: the booking and its code, read by the provider's scanner."""
        return f"shop-booking:{self.id}:{self.shown_code}" if self.shown_code else None


class BookingEvent(Base):
    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[BookingStatus | None] = mapped_column(enum_column(BookingStatus, "booking_event_from"))
    to_status: Mapped[BookingStatus] = mapped_column(enum_column(BookingStatus, "booking_event_to"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(sa.String(500), default="")

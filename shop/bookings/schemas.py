from __future__ import annotations

from datetime import date

import marshmallow as ma

from shop.bookings.models import BookingStatus, DayType, UnitKind
from shop.web import Id, Int, Timestamp, page_schema

DAYS = ma.validate.Range(min=date(2001, 1, 1), max=date(2100, 12, 31))
FEN = ma.validate.Range(min=1, max=100_000_000)


class OfferingArgs(ma.Schema):
    sku_id = Id(required=True, metadata={"description": "The SKU of the service product this offering sells"})
    unit_kind = ma.fields.Enum(UnitKind, by_value=True, required=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    meeting_point = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    how_to_book = ma.fields.String(load_default="", validate=ma.validate.Length(max=1000))
    guests_per_unit = Int(load_default=1, validate=ma.validate.Range(min=1, max=50))
    min_party = Int(load_default=1, validate=ma.validate.Range(min=1, max=1000))
    max_party = Int(required=True, validate=ma.validate.Range(min=1, max=1000))
    weekday_price_fen = Int(required=True, validate=FEN)
    weekend_price_fen = Int(required=True, validate=FEN)
    holiday_price_fen = Int(required=True, validate=FEN)
    free_cancel_days = Int(load_default=1, validate=ma.validate.Range(min=0, max=365))
    late_refund_bp = Int(
        load_default=0, validate=ma.validate.Range(min=0, max=10_000), metadata={"description": "Basis points"}
    )


class OfferingUpdateArgs(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    meeting_point = ma.fields.String(validate=ma.validate.Length(min=1, max=300))
    how_to_book = ma.fields.String(validate=ma.validate.Length(max=1000))
    guests_per_unit = Int(validate=ma.validate.Range(min=1, max=50))
    min_party = Int(validate=ma.validate.Range(min=1, max=1000))
    max_party = Int(validate=ma.validate.Range(min=1, max=1000))
    weekday_price_fen = Int(validate=FEN)
    weekend_price_fen = Int(validate=FEN)
    holiday_price_fen = Int(validate=FEN)
    free_cancel_days = Int(validate=ma.validate.Range(min=0, max=365))
    late_refund_bp = Int(validate=ma.validate.Range(min=0, max=10_000))
    is_active = ma.fields.Boolean()


class PolicySchema(ma.Schema):
    free_cancel_days = Int(required=True, metadata={"description": "Free cancellation until this many days before"})
    late_refund_bp = Int(required=True, metadata={"description": "Share refunded after that, basis points"})


class OfferingSchema(ma.Schema):
    id = Int(required=True)
    product_id = Id(required=True)
    sku_id = Id(required=True)
    unit_kind = ma.fields.Enum(UnitKind, by_value=True, required=True)
    name = ma.fields.String(required=True)
    meeting_point = ma.fields.String(required=True)
    how_to_book = ma.fields.String(required=True)
    guests_per_unit = Int(required=True)
    min_party = Int(required=True)
    max_party = Int(required=True)
    weekday_price_fen = Int(required=True)
    weekend_price_fen = Int(required=True)
    holiday_price_fen = Int(required=True)
    cancellation = ma.fields.Method("_policy", metadata={"description": "The cancellation policy"})
    is_active = ma.fields.Boolean(required=True)

    def _policy(self, offering) -> dict:
        return {"free_cancel_days": offering.free_cancel_days, "late_refund_bp": offering.late_refund_bp}


class OfferingListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(OfferingSchema), required=True)


class CalendarArgs(ma.Schema):
    first_day = ma.fields.Date(required=True, validate=DAYS, metadata={"description": "Asia/Shanghai"})
    last_day = ma.fields.Date(required=True, validate=DAYS)
    start_times = ma.fields.List(
        ma.fields.Time(),
        required=True,
        validate=ma.validate.Length(min=1, max=24),
        metadata={"description": 'Start times each day, Asia/Shanghai ("14:00")'},
    )
    minutes = Int(
        required=True, validate=ma.validate.Range(min=15, max=14 * 24 * 60), metadata={"description": "Length"}
    )
    capacity = Int(required=True, validate=ma.validate.Range(min=0, max=100_000))
    weekdays = ma.fields.List(
        Int(validate=ma.validate.Range(min=0, max=6)),
        load_default=None,
        metadata={"description": "Only these weekdays (0 Monday); default every day"},
    )
    holidays = ma.fields.List(
        ma.fields.Date(validate=DAYS),
        load_default=list,
        validate=ma.validate.Length(max=400),
        metadata={"description": "Days priced at the holiday price"},
    )


class SlotUpdateArgs(ma.Schema):
    capacity = Int(validate=ma.validate.Range(min=0, max=100_000))
    price_fen = Int(validate=FEN)
    is_closed = ma.fields.Boolean()


class SlotSchema(ma.Schema):
    id = Int(required=True)
    offering_id = Id(required=True)
    day = ma.fields.Date(required=True)
    starts_at = Timestamp(required=True)
    ends_at = Timestamp(required=True)
    capacity = Int(required=True)
    booked = Int(required=True)
    left = Int(required=True)
    day_type = ma.fields.Enum(DayType, by_value=True, required=True)
    price_fen = Int(required=True)
    is_closed = ma.fields.Boolean(required=True)


class SlotListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SlotSchema), required=True)


class MonthArgs(ma.Schema):
    month = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"),
        metadata={"description": "YYYY-MM (Asia/Shanghai days)"},
    )


class SlotAvailabilitySchema(ma.Schema):
    product_id = Id(required=True)
    month = ma.fields.String(required=True)
    offerings = ma.fields.List(ma.fields.Nested(OfferingSchema), required=True)
    slots = ma.fields.List(ma.fields.Nested(SlotSchema), required=True)


class BookingSchema(ma.Schema):
    id = Int(required=True)
    slot = ma.fields.Nested(SlotSchema, required=True)
    offering_id = Id(required=True)
    offering_name = ma.fields.String(attribute="offering.name", required=True)
    meeting_point = ma.fields.String(attribute="offering.meeting_point", required=True)
    order_id = Id(allow_none=True)
    bulk_order_id = Id(allow_none=True)
    guest_name = ma.fields.String(allow_none=True)
    units = Int(required=True)
    party_size = Int(required=True)
    amount_fen = Int(required=True)
    refunded_fen = Int(required=True)
    status = ma.fields.Enum(BookingStatus, by_value=True, required=True)
    code = ma.fields.String(
        attribute="shown_code", allow_none=True, metadata={"description": "Shown to the guest only, once paid"}
    )
    qr_payload = ma.fields.String(allow_none=True, metadata={"description": "What the guest's QR code holds"})
    code_attempts = Int(required=True)
    code_locked_at = Timestamp(allow_none=True)
    confirmed_at = Timestamp(allow_none=True)
    checked_in_at = Timestamp(allow_none=True)
    cancelled_at = Timestamp(allow_none=True)
    created_at = Timestamp(required=True)


BookingPageSchema = page_schema(BookingSchema, "BookingPage")


class BookingEventSchema(ma.Schema):
    id = Int(required=True)
    from_status = ma.fields.Enum(BookingStatus, by_value=True, allow_none=True)
    to_status = ma.fields.Enum(BookingStatus, by_value=True, required=True)
    actor_id = Id(allow_none=True)
    at = Timestamp(required=True)
    note = ma.fields.String(required=True)


BookingEventPageSchema = page_schema(BookingEventSchema, "BookingEventPage")


class BookingCancelArgs(ma.Schema):
    reason = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
    reference = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=100),
        metadata={
            "description": "The transfer back, when the booking was paid by offline transfer (required for a "
            "buyer's booking; for a trip member, recorded when known)"
        },
    )


class CheckInArgs(ma.Schema):
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^\d{8}$"),
        metadata={"description": "The guest's 8-digit booking code (or read from the QR payload)"},
    )

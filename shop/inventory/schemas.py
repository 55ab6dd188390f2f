from __future__ import annotations

import itertools

import marshmallow as ma

from shop.catalog.schemas import LabelSchema
from shop.inventory.locations import WEEKDAYS
from shop.inventory.models import LocationKind, MovementKind, TransferStatus
from shop.reference.schemas import DistrictSchema, TownshipSchema
from shop.web import SIGNED_INT4, Id, Int, Timestamp, page_schema

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


def _quantity(**kwargs):
    return Int(strict=True, validate=ma.validate.Range(min=1, max=1_000_000), **kwargs)


def _trace_code(description: str | None = None, **kwargs):
    metadata = {"example": "FJ-20261120-A01", **({"description": description} if description else {})}
    return ma.fields.String(
        validate=ma.validate.Regexp(
            r"^[A-Za-z0-9][A-Za-z0-9._-]{3,63}$", error="4 to 64 letters, digits, '.', '_' or '-'."
        ),
        metadata=metadata,
        **kwargs,
    )


def _lines(nested, **kwargs):
    return ma.fields.List(ma.fields.Nested(nested), validate=ma.validate.Length(min=1, max=100), **kwargs)


# --- locations ---------------------------------------------------------------------------------------


class IntervalSchema(ma.Schema):
    opens = ma.fields.String(required=True, validate=ma.validate.Regexp(HHMM), metadata={"example": "08:30"})
    closes = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"),
        metadata={"example": "17:30", "description": "24:00 for midnight"},
    )

    @ma.validates_schema
    def _ordered(self, data, **_kwargs):
        if data["opens"] >= data["closes"]:
            raise ma.ValidationError("Must be after opens.", "closes")


class OpeningHoursSchema(ma.Schema):
    """Opening hours per weekday in China time; a day left out is closed; 00:00–24:00 is all day."""

    mon = ma.fields.List(ma.fields.Nested(IntervalSchema), validate=ma.validate.Length(max=4))
    tue = ma.fields.List(ma.fields.Nested(IntervalSchema), validate=ma.validate.Length(max=4))
    wed = ma.fields.List(ma.fields.Nested(IntervalSchema), validate=ma.validate.Length(max=4))
    thu = ma.fields.List(ma.fields.Nested(IntervalSchema), validate=ma.validate.Length(max=4))
    fri = ma.fields.List(ma.fields.Nested(IntervalSchema), validate=ma.validate.Length(max=4))
    sat = ma.fields.List(ma.fields.Nested(IntervalSchema), validate=ma.validate.Length(max=4))
    sun = ma.fields.List(ma.fields.Nested(IntervalSchema), validate=ma.validate.Length(max=4))
    note = ma.fields.String(validate=ma.validate.Length(max=200), metadata={"example": "节假日照常营业"})

    @ma.validates_schema
    def _no_overlap(self, data, **_kwargs):
        for day in WEEKDAYS:
            intervals = sorted(data.get(day) or [], key=lambda i: i["opens"])
            for before, after in itertools.pairwise(intervals):
                if after["opens"] < before["closes"]:
                    raise ma.ValidationError("Intervals of a day must not overlap.", day)

    @ma.post_load
    def _sorted(self, data, **_kwargs):
        for day in WEEKDAYS:
            if day in data:
                data[day] = sorted(data[day], key=lambda i: i["opens"])
        return data


class LocationUpdateArgs(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    district_id = Id()
    address = ma.fields.String(validate=ma.validate.Length(min=1, max=300))
    host_institution = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "For a counter: the office, school or hospital it stands in"},
    )
    opening_hours = ma.fields.Nested(OpeningHoursSchema)
    is_active = ma.fields.Boolean()


class LocationCreateArgs(LocationUpdateArgs):
    kind = ma.fields.Enum(LocationKind, by_value=True, required=True)
    parent_id = Id(
        load_default=None,
        metadata={
            "description": "A hall hangs under the centre, a counter under a hall, a zone under a hall or the centre"
        },
    )
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    district_id = Id(required=True)
    address = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    opening_hours = ma.fields.Nested(OpeningHoursSchema, load_default=dict)
    is_active = ma.fields.Boolean(load_default=True)


class DistrictBriefSchema(ma.Schema):
    id = Int(required=True)
    name = ma.fields.String(required=True)


class LocationBriefSchema(ma.Schema):
    id = Int(required=True)
    kind = ma.fields.Enum(LocationKind, by_value=True, required=True)
    name = ma.fields.String(required=True)


class LocationSchema(ma.Schema):
    id = Int(required=True)
    kind = ma.fields.Enum(LocationKind, by_value=True, required=True)
    parent_id = Int(allow_none=True)
    path = ma.fields.String(required=True, metadata={"description": "Ids from the centre, e.g. /1/4/9/"})
    name = ma.fields.String(required=True)
    district = ma.fields.Nested(DistrictBriefSchema, required=True)
    address = ma.fields.String(required=True)
    host_institution = ma.fields.String(allow_none=True)
    opening_hours = ma.fields.Nested(OpeningHoursSchema, required=True)
    is_active = ma.fields.Boolean(required=True)
    has_counter_key = ma.fields.Method(
        "_has_key", required=True, metadata={"description": "A smart counter with an API key"}
    )
    created_at = Timestamp(required=True)

    def _has_key(self, location) -> bool:
        return location.device is not None and location.device.key_sha256 is not None


LocationPageSchema = page_schema(LocationSchema, "LocationPage")


class LocationQueryArgs(ma.Schema):
    kind = ma.fields.Enum(LocationKind, by_value=True, load_default=None)
    district_id = Id(load_default=None)
    parent_id = Id(load_default=None)
    is_active = ma.fields.Boolean(load_default=None)
    q = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))


# --- stock -------------------------------------------------------------------------------------------


class SkuBriefSchema(ma.Schema):
    id = Int(required=True)
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    unit = ma.fields.String(required=True)
    product_id = Int(required=True)


class StockRowSchema(ma.Schema):
    location_id = Int(required=True)
    sku = ma.fields.Nested(SkuBriefSchema, required=True)
    product_name = ma.fields.String(required=True)
    on_hand = Int(required=True)
    reserved = Int(required=True)
    available = Int(required=True, metadata={"description": "on_hand - reserved"})
    sellable = Int(required=True, metadata={"description": "Available in unexpired batches"})
    expired = Int(required=True, metadata={"description": "On hand in expired batches (write off)"})
    low_stock_threshold = Int(required=True)
    low = ma.fields.Boolean(required=True, metadata={"description": "A threshold is set and sellable <= it"})


StockPageSchema = page_schema(StockRowSchema, "StockPage")


class StockQueryArgs(ma.Schema):
    sku_id = Id(load_default=None)
    product_id = Id(load_default=None)
    low = ma.fields.Boolean(load_default=None, metadata={"description": "Only SKUs at or below their threshold"})
    in_stock = ma.fields.Boolean(load_default=None, metadata={"description": "Only SKUs with units on hand"})


class BatchRowSchema(ma.Schema):
    batch_id = Int(required=True)
    trace_code = ma.fields.String(required=True)
    sku = ma.fields.Nested(SkuBriefSchema, required=True)
    produced_on = ma.fields.Date(required=True)
    best_before = ma.fields.Date(required=True)
    expired = ma.fields.Boolean(required=True)
    on_hand = Int(required=True)
    reserved = Int(required=True)
    available = Int(required=True)


BatchPageSchema = page_schema(BatchRowSchema, "BatchStockPage")


class BatchQueryArgs(ma.Schema):
    sku_id = Id(load_default=None)
    expired = ma.fields.Boolean(
        load_default=None, metadata={"description": "true: the batches past best-before, to write off"}
    )
    include_empty = ma.fields.Boolean(load_default=False)


class BatchCodeSchema(ma.Schema):
    trace_code = ma.fields.String(required=True)


class MovementSchema(ma.Schema):
    id = Int(required=True)
    kind = ma.fields.Enum(MovementKind, by_value=True, required=True)
    location_id = Int(required=True)
    sku = ma.fields.Nested(SkuBriefSchema, required=True)
    batch_id = Int(required=True)
    trace_code = ma.fields.Pluck(BatchCodeSchema, "trace_code", attribute="batch", required=True)
    on_hand_delta = Int(validate=SIGNED_INT4, required=True)
    reserved_delta = Int(validate=SIGNED_INT4, required=True)
    created_at = Timestamp(required=True)
    actor_id = Int(allow_none=True)
    counter_event_id = Int(allow_none=True)
    transfer_id = Int(allow_none=True)
    reservation_id = Int(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    reference = ma.fields.String(allow_none=True)


MovementPageSchema = page_schema(MovementSchema, "MovementPage")


class MovementQueryArgs(ma.Schema):
    kind = ma.fields.Enum(MovementKind, by_value=True, load_default=None)
    sku_id = Id(load_default=None)
    trace_code = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))
    transfer_id = Id(load_default=None)
    since = Timestamp(load_default=None)
    until = Timestamp(load_default=None)


class ThresholdArgs(ma.Schema):
    low_stock_threshold = Int(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=0, max=1_000_000),
        metadata={"description": "0: none"},
    )


class ReceiptLineArgs(ma.Schema):
    sku_id = Id(required=True)
    trace_code = _trace_code(required=True)
    produced_on = ma.fields.Date(required=True, metadata={"description": "Harvest or production date"})
    best_before = ma.fields.Date(required=True)
    quantity = _quantity(required=True)


class ReceiptArgs(ma.Schema):
    reference = ma.fields.String(
        load_default=None, validate=ma.validate.Length(max=100), metadata={"description": "Delivery note number"}
    )
    lines = _lines(ReceiptLineArgs, required=True)


class SkuQuantityArgs(ma.Schema):
    sku_id = Id(required=True)
    quantity = _quantity(required=True)


class SaleArgs(ma.Schema):
    reference = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))
    lines = _lines(SkuQuantityArgs, required=True)


class BatchQuantityArgs(ma.Schema):
    trace_code = _trace_code(required=True)
    quantity = _quantity(required=True)


def _reason():
    return ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))


class ReturnArgs(ma.Schema):
    reason = _reason()
    lines = _lines(BatchQuantityArgs, required=True)


class WriteOffArgs(ma.Schema):
    reason = _reason()
    lines = _lines(BatchQuantityArgs, required=True)


class CountLineArgs(ma.Schema):
    trace_code = _trace_code(required=True)
    counted = Int(required=True, strict=True, validate=ma.validate.Range(min=0, max=1_000_000))


class CountArgs(ma.Schema):
    reason = _reason()
    lines = _lines(CountLineArgs, required=True)


class MovementLineSchema(ma.Schema):
    kind = ma.fields.Enum(MovementKind, by_value=True, required=True)
    sku_id = Int(required=True)
    batch_id = Int(required=True)
    trace_code = ma.fields.String(required=True)
    best_before = ma.fields.Date(required=True)
    on_hand_delta = Int(validate=SIGNED_INT4, required=True)
    reserved_delta = Int(validate=SIGNED_INT4, required=True)


class MovementResultSchema(ma.Schema):
    location_id = Int(required=True)
    lines = ma.fields.List(ma.fields.Nested(MovementLineSchema), required=True)
    stock = ma.fields.List(
        ma.fields.Nested(StockRowSchema), required=True, metadata={"description": "The SKUs' stock afterwards"}
    )


# --- transfers -----------------------------------------------------------------------------------


class TransferLineArgs(ma.Schema):
    sku_id = Id(required=True)
    quantity = _quantity(required=True)
    trace_code = _trace_code("This batch; without it, unexpired batches earliest first", load_default=None)


class TransferArgs(ma.Schema):
    from_location_id = Id(required=True)
    to_location_id = Id(required=True)
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
    lines = _lines(TransferLineArgs, required=True)


class TransferLineSchema(ma.Schema):
    id = Int(required=True)
    sku = ma.fields.Nested(SkuBriefSchema, required=True)
    batch_id = Int(required=True)
    trace_code = ma.fields.Pluck(BatchCodeSchema, "trace_code", attribute="batch", required=True)
    quantity_sent = Int(required=True)
    quantity_received = Int(allow_none=True)
    shortfall = Int(allow_none=True)


class TransferSchema(ma.Schema):
    id = Int(required=True)
    status = ma.fields.Enum(TransferStatus, by_value=True, required=True)
    from_location = ma.fields.Nested(LocationBriefSchema, required=True)
    to_location = ma.fields.Nested(LocationBriefSchema, required=True)
    note = ma.fields.String(required=True)
    dispatched_at = Timestamp(required=True)
    dispatched_by_id = Int(allow_none=True)
    received_at = Timestamp(allow_none=True)
    received_by_id = Int(allow_none=True)
    received_by_counter_event_id = Int(allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(TransferLineSchema), required=True)


TransferPageSchema = page_schema(TransferSchema, "TransferPage")


class TransferQueryArgs(ma.Schema):
    status = ma.fields.Enum(TransferStatus, by_value=True, load_default=None)
    location_id = Id(load_default=None, metadata={"description": "From or to this location"})


class ReceiveLineArgs(ma.Schema):
    line_id = Id(required=True)
    quantity_received = Int(required=True, strict=True, validate=ma.validate.Range(min=0, max=1_000_000))


class ReceiveArgs(ma.Schema):
    lines = ma.fields.List(
        ma.fields.Nested(ReceiveLineArgs),
        load_default=None,
        validate=ma.validate.Length(min=1, max=500),
        metadata={"description": "Leave out when everything arrived; otherwise every line with what arrived"},
    )


# --- reports -------------------------------------------------------------------------------------


class LowStockSchema(StockRowSchema):
    location = ma.fields.Nested(LocationBriefSchema, required=True)
    sold_in_window = Int(required=True)
    window_days = Int(required=True)
    daily_velocity = ma.fields.Float(required=True, metadata={"description": "Units sold per day in the window"})
    in_transit = Int(required=True, metadata={"description": "Units dispatched towards the location"})
    cover_days = Int(required=True)
    suggested_restock = Int(
        required=True,
        metadata={"description": "threshold + velocity × cover_days − sellable − in_transit, at least 0"},
    )


LowStockPageSchema = page_schema(LowStockSchema, "LowStockPage")


class LowStockQueryArgs(ma.Schema):
    location_id = Id(load_default=None)
    window_days = Int(
        load_default=None, validate=ma.validate.Range(min=1, max=365), metadata={"description": "Velocity window"}
    )
    cover_days = Int(
        load_default=None, validate=ma.validate.Range(min=1, max=365), metadata={"description": "Days a restock covers"}
    )


class StaleCounterSchema(ma.Schema):
    location = ma.fields.Nested(LocationSchema, required=True)
    last_heartbeat_at = Timestamp(allow_none=True)
    silent_seconds = Int(allow_none=True, metadata={"description": "null: never heard from"})
    last_heartbeat = ma.fields.Dict(allow_none=True)


StaleCounterPageSchema = page_schema(StaleCounterSchema, "StaleCounterPage")


class CounterKeySchema(ma.Schema):
    counter_id = Int(required=True)
    api_key = ma.fields.String(
        required=True, metadata={"description": "Shown this once; send it as the X-Counter-Key header"}
    )
    key_prefix = ma.fields.String(required=True)
    issued_at = Timestamp(required=True)


# --- smart counters --------------------------------------------------------------------------------

EVENT_ID = r"^[A-Za-z0-9._:-]{1,64}$"


class CounterEventArgs(ma.Schema):
    event_id = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(EVENT_ID),
        metadata={"description": "The cabinet's own id of this report; a replay with the same id is applied once"},
    )
    occurred_at = Timestamp(required=True)


class CounterSaleArgs(CounterEventArgs):
    items = ma.fields.List(ma.fields.Nested(SkuQuantityArgs), required=True, validate=ma.validate.Length(min=1, max=50))


class CounterRestockArgs(CounterEventArgs):
    transfer_id = Id(required=True)
    items = ma.fields.List(
        ma.fields.Nested(SkuQuantityArgs),
        load_default=list,
        validate=ma.validate.Length(max=100),
        metadata={"description": "Units loaded per SKU as sensed; a SKU left out arrived short"},
    )


class CounterEventResultSchema(ma.Schema):
    counter_id = Int(required=True)
    event_id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"enum": ["sale", "restock"]})
    occurred_at = Timestamp(required=True)
    applied_at = Timestamp(required=True)


class CounterSaleLineSchema(ma.Schema):
    sku_id = Int(required=True)
    batch_id = Int(required=True)
    trace_code = ma.fields.String(required=True)
    best_before = ma.fields.String(required=True, metadata={"format": "date"})
    quantity = Int(required=True)


class CounterSaleResultSchema(CounterEventResultSchema):
    lines = ma.fields.List(ma.fields.Nested(CounterSaleLineSchema), required=True)


class CounterRestockLineSchema(ma.Schema):
    line_id = Int(required=True)
    sku_id = Int(required=True)
    batch_id = Int(required=True)
    trace_code = ma.fields.String(required=True)
    quantity_sent = Int(required=True)
    quantity_received = Int(required=True)
    shortfall = Int(required=True)


class CounterRestockResultSchema(CounterEventResultSchema):
    transfer_id = Int(required=True)
    lines = ma.fields.List(ma.fields.Nested(CounterRestockLineSchema), required=True)


class HeartbeatArgs(ma.Schema):
    sent_at = Timestamp(load_default=None)
    temperature_c = ma.fields.Float(load_default=None, validate=ma.validate.Range(min=-50, max=80))
    door_open = ma.fields.Boolean(load_default=None)
    firmware = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40))
    status = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))


class HeartbeatSchema(ma.Schema):
    counter_id = Int(required=True)
    received_at = Timestamp(required=True)
    next_within_seconds = Int(
        required=True, metadata={"description": "Silent longer than this, the counter is listed as stale"}
    )


# --- public ----------------------------------------------------------------------------------------


class AvailabilityQueryArgs(ma.Schema):
    district_id = Id(load_default=None)


class PickupLocationSchema(ma.Schema):
    id = Int(required=True)
    kind = ma.fields.Enum(LocationKind, by_value=True, required=True)
    name = ma.fields.String(required=True)
    district = ma.fields.Nested(DistrictBriefSchema, required=True)
    address = ma.fields.String(required=True)
    host_institution = ma.fields.String(allow_none=True)
    opening_hours = ma.fields.Nested(OpeningHoursSchema, required=True)


class AvailableSkuSchema(ma.Schema):
    id = Int(required=True)
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    unit = ma.fields.String(required=True)
    price_fen = Int(required=True)


class AvailabilitySkuSchema(ma.Schema):
    sku = ma.fields.Nested(AvailableSkuSchema, required=True)
    available = Int(required=True)


class AvailabilitySchema(ma.Schema):
    location = ma.fields.Nested(PickupLocationSchema, required=True)
    open_now = ma.fields.Boolean(required=True)
    skus = ma.fields.List(ma.fields.Nested(AvailabilitySkuSchema), required=True)


AvailabilityPageSchema = page_schema(AvailabilitySchema, "AvailabilityPage")


class ProducerSchema(ma.Schema):
    id = Int(required=True)
    name = ma.fields.String(required=True)
    district_id = Int(required=True)


class TraceProductSchema(ma.Schema):
    id = Int(required=True)
    name = ma.fields.String(required=True)


class TraceCertificationSchema(ma.Schema):
    certificate_no = ma.fields.String(required=True)
    status = ma.fields.String(
        required=True,
        metadata={"example": "in_force", "description": "in_force, in_objection_window, expired, revoked…"},
    )
    valid_from = Timestamp(required=True)
    valid_until = Timestamp(required=True)
    in_force = ma.fields.Boolean(required=True)


class TraceInspectionSchema(ma.Schema):
    id = Int(required=True)
    result = ma.fields.String(required=True, metadata={"example": "failed"})
    scope = ma.fields.String(required=True, metadata={"description": "batch or product"})
    inspected_at = Timestamp(required=True)
    report_url = ma.fields.String(required=True)


class TraceSchema(ma.Schema):
    trace_code = ma.fields.String(required=True)
    produced_on = ma.fields.Date(required=True, metadata={"description": "Harvest or production date"})
    best_before = ma.fields.Date(required=True)
    expired = ma.fields.Boolean(required=True)
    sku = ma.fields.Nested(AvailableSkuSchema, required=True)
    product = ma.fields.Nested(TraceProductSchema, required=True)
    producer = ma.fields.Nested(ProducerSchema, required=True)
    origin_district = ma.fields.Nested(DistrictSchema, required=True)
    origin_township = ma.fields.Nested(TownshipSchema, allow_none=True)
    labels = ma.fields.List(ma.fields.Nested(LabelSchema), required=True)
    frozen = ma.fields.Boolean(required=True, metadata={"description": "Failed a spot check: not sold anywhere"})
    inspections = ma.fields.List(
        ma.fields.Nested(TraceInspectionSchema),
        required=True,
        metadata={"description": "Spot checks of this batch or of its product, newest first"},
    )
    certification = ma.fields.Nested(
        TraceCertificationSchema,
        allow_none=True,
        metadata={"description": "In force now, else the latest one announced (in_force false); null if none"},
    )

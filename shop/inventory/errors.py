"""The inventory slice's domain errors, each with a stable code."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict, Unauthenticated

COUNTER_KEY_HEADER = "X-Counter-Key"


class InventoryCode(StrEnum):
    CENTRE_EXISTS = "centre_exists"
    COUNT_BELOW_RESERVED = "count_below_reserved"
    COUNTER_KEY_REQUIRED = "counter_key_required"
    EVENT_ID_REUSED = "event_id_reused"
    INVALID_COUNTER_KEY = "invalid_counter_key"
    LOCATION_INACTIVE = "location_inactive"
    NOT_A_COUNTER = "not_a_counter"
    NOT_CERTIFIED = "not_certified"
    OUT_OF_STOCK = "out_of_stock"
    REFERENCE_REUSED = "reference_reused"
    RESERVATION_NOT_SOLD = "reservation_not_sold"
    RESERVED_BATCH_EXPIRED = "reserved_batch_expired"
    RESERVED_BATCH_QUARANTINED = "reserved_batch_quarantined"
    RETURN_EXCEEDS_SALE = "return_exceeds_sale"
    TRACE_CODE_MISMATCH = "trace_code_mismatch"


class InsufficientStock(Conflict):
    code = InventoryCode.OUT_OF_STOCK
    message = "Not enough sellable stock."


class NotInForce(Conflict):
    code = InventoryCode.NOT_CERTIFIED
    message = "The product's certification is not in force now."


class LocationInactive(Conflict):
    code = InventoryCode.LOCATION_INACTIVE
    message = "The location is not active."


class CentreExists(Conflict):
    code = InventoryCode.CENTRE_EXISTS
    message = "There is one centre, and it exists already."


class CountBelowReserved(Conflict):
    code = InventoryCode.COUNT_BELOW_RESERVED
    message = "Fewer units counted than are reserved; release reservations first."


class EventIdReused(Conflict):
    code = InventoryCode.EVENT_ID_REUSED
    message = "This event id was reported before with other content."


class NotACounter(Conflict):
    code = InventoryCode.NOT_A_COUNTER
    message = "Only counters have an API key."


class ReferenceReused(Conflict):
    code = InventoryCode.REFERENCE_REUSED
    message = "This reference is used by another reservation."


class ReservationNotSold(Conflict):
    code = InventoryCode.RESERVATION_NOT_SOLD
    message = "Only sold units can come back."


class ReservedBatchExpired(Conflict):
    code = InventoryCode.RESERVED_BATCH_EXPIRED
    message = "A reserved batch has expired."


class ReturnExceedsSale(Conflict):
    code = InventoryCode.RETURN_EXCEEDS_SALE
    message = "More units than the reservation sold."


class TraceCodeMismatch(Conflict):
    code = InventoryCode.TRACE_CODE_MISMATCH
    message = "This trace code belongs to a batch with another SKU or other dates."


class CounterKeyRequired(Unauthenticated):
    code = InventoryCode.COUNTER_KEY_REQUIRED
    message = "A valid counter API key is required."
    headers = {"WWW-Authenticate": f'ApiKey header="{COUNTER_KEY_HEADER}"'}


class InvalidCounterKey(CounterKeyRequired):
    code = InventoryCode.INVALID_COUNTER_KEY
    message = "The counter API key is not valid."


class ReservedBatchQuarantined(Conflict):
    code = InventoryCode.RESERVED_BATCH_QUARANTINED
    message = "A reserved batch is quarantined at this location until an operator inspects it."

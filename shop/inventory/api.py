"""Operators' and admins' inventory API (bearer tokens), and the public availability and trace answers."""

from __future__ import annotations

from flask_smorest import Blueprint

from shop import clock
from shop.auth.guard import current_actor, login_required
from shop.http_cache import public_cache
from shop.inventory import devices, locations, movements, stock, transfers
from shop.inventory.schemas import (
    AvailabilityPageSchema,
    AvailabilityQueryArgs,
    BatchPageSchema,
    BatchQueryArgs,
    CountArgs,
    CounterKeySchema,
    LocationCreateArgs,
    LocationPageSchema,
    LocationQueryArgs,
    LocationSchema,
    LocationUpdateArgs,
    LowStockPageSchema,
    LowStockQueryArgs,
    MovementPageSchema,
    MovementQueryArgs,
    MovementResultSchema,
    ReceiptArgs,
    ReceiveArgs,
    ReturnArgs,
    SaleArgs,
    StaleCounterPageSchema,
    StockPageSchema,
    StockQueryArgs,
    StockRowSchema,
    ThresholdArgs,
    TraceSchema,
    TransferArgs,
    TransferPageSchema,
    TransferQueryArgs,
    TransferSchema,
    WriteOffArgs,
)
from shop.request_session import get_session
from shop.settings import current as current_settings
from shop.web import PageArgs, documented_errors, page_body

blp = Blueprint(
    "inventory",
    __name__,
    url_prefix="/api/v1",
    description="Halls, counters and zones: locations, stock by batch, movements, transfers, low stock "
    "(admins, and hall operators within their halls)",
)
public_blp = Blueprint(
    "availability",
    __name__,
    url_prefix="/api/v1",
    description="Where a certified product can be picked up, and what a batch's trace code tells",
)


# --- locations ---------------------------------------------------------------------------------------


@blp.route("/locations", methods=["GET"])
@blp.arguments(LocationQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, LocationPageSchema)
@documented_errors(403)
@login_required
def list_locations(query, paging):
    """The locations the caller runs (admins: all), in tree order."""
    return page_body(locations.list_locations(get_session(), current_actor(), filters=query, **paging), paging)


@blp.route("/locations", methods=["POST"])
@blp.arguments(LocationCreateArgs)
@blp.response(201, LocationSchema)
@documented_errors(403, 409)
@login_required
def create_location(args):
    """Admins: add the centre, a hall under it, a counter under a hall, or a zone under either."""
    return locations.create_location(get_session(), current_actor(), data=args)


@blp.route("/locations/<int:location_id>", methods=["GET"])
@blp.response(200, LocationSchema)
@documented_errors(403, 404)
@login_required
def get_location(location_id):
    """One location the caller runs."""
    return locations.get_location(get_session(), current_actor(), location_id)


@blp.route("/locations/<int:location_id>", methods=["PATCH"])
@blp.arguments(LocationUpdateArgs)
@blp.response(200, LocationSchema)
@documented_errors(403, 404)
@login_required
def update_location(args, location_id):
    """Admins: change name, district, address, host institution, opening hours or the active flag."""
    return locations.update_location(get_session(), current_actor(), location_id, data=args)


@blp.route("/locations/<int:location_id>/counter-key", methods=["POST"])
@blp.response(201, CounterKeySchema)
@documented_errors(403, 404, 409)
@login_required
def issue_counter_key(location_id):
    """Admins: create or rotate a smart counter's API key. The key is shown this once; the previous
    key stops working at once."""
    return devices.issue_key(get_session(), current_actor(), location_id, now=clock.now())


@blp.route("/locations/<int:location_id>/counter-key", methods=["DELETE"])
@blp.response(204)
@documented_errors(403, 404, 409)
@login_required
def revoke_counter_key(location_id):
    """Admins: revoke a smart counter's API key."""
    devices.revoke_key(get_session(), current_actor(), location_id)


# --- stock ---------------------------------------------------------------------------------------------


@blp.route("/locations/<int:location_id>/stock", methods=["GET"])
@blp.arguments(StockQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, StockPageSchema)
@documented_errors(403, 404)
@login_required
def list_stock(query, paging, location_id):
    """Stock per SKU at a location: on hand, reserved, available, sellable (unexpired), expired."""
    result = stock.list_stock(get_session(), current_actor(), location_id, filters=query, now=clock.now(), **paging)
    return page_body(result, paging)


@blp.route("/locations/<int:location_id>/batches", methods=["GET"])
@blp.arguments(BatchQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, BatchPageSchema)
@documented_errors(403, 404)
@login_required
def list_batches(query, paging, location_id):
    """Stock per batch at a location, earliest best-before first; `expired=true` lists what to write off."""
    result = stock.list_batches(get_session(), current_actor(), location_id, filters=query, now=clock.now(), **paging)
    return page_body(result, paging)


@blp.route("/locations/<int:location_id>/movements", methods=["GET"])
@blp.arguments(MovementQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, MovementPageSchema)
@documented_errors(403, 404)
@login_required
def list_movements(query, paging, location_id):
    """The ledger of a location, newest first."""
    return page_body(stock.list_movements(get_session(), current_actor(), location_id, filters=query, **paging), paging)


@blp.route("/locations/<int:location_id>/thresholds/<int:sku_id>", methods=["PUT"])
@blp.arguments(ThresholdArgs)
@blp.response(200, StockRowSchema)
@documented_errors(403, 404)
@login_required
def set_threshold(args, location_id, sku_id):
    """Set the low-stock threshold of a SKU at a location (0: no alert)."""
    return stock.set_threshold(
        get_session(), current_actor(), location_id, sku_id, args["low_stock_threshold"], clock.now()
    )


def _movement_result(applied):
    return movements.describe(get_session(), applied, clock.now())


@blp.route("/locations/<int:location_id>/receipts", methods=["POST"])
@blp.arguments(ReceiptArgs)
@blp.response(201, MovementResultSchema)
@documented_errors(403, 404, 409)
@login_required
def receive(args, location_id):
    """Receive a supplier's delivery: each line is a batch (trace code, harvest or production date,
    best-before) of a SKU. A known trace code must name the same batch."""
    applied = movements.receive_stock(get_session(), current_actor(), location_id, now=clock.now(), **args)
    return _movement_result(applied)


@blp.route("/locations/<int:location_id>/sales", methods=["POST"])
@blp.arguments(SaleArgs)
@blp.response(201, MovementResultSchema)
@documented_errors(403, 404, 409)
@login_required
def sell(args, location_id):
    """Record a sale over the counter: earliest best-before first, never expired or reserved units,
    only products whose certification is in force (409 `out_of_stock` / `not_certified`)."""
    applied = movements.record_sale(get_session(), current_actor(), location_id, now=clock.now(), **args)
    return _movement_result(applied)


@blp.route("/locations/<int:location_id>/returns", methods=["POST"])
@blp.arguments(ReturnArgs)
@blp.response(201, MovementResultSchema)
@documented_errors(403, 404, 409)
@login_required
def return_stock(args, location_id):
    """Take back sold units into the batch on their package, with a reason."""
    applied = movements.return_stock(get_session(), current_actor(), location_id, now=clock.now(), **args)
    return _movement_result(applied)


@blp.route("/locations/<int:location_id>/counts", methods=["POST"])
@blp.arguments(CountArgs)
@blp.response(201, MovementResultSchema)
@documented_errors(403, 404, 409)
@login_required
def count(args, location_id):
    """Record a stock count per batch: each difference becomes an adjustment with the reason.
    Batches left out of the count keep their balance."""
    applied = movements.count_stock(get_session(), current_actor(), location_id, now=clock.now(), **args)
    return _movement_result(applied)


@blp.route("/locations/<int:location_id>/write-offs", methods=["POST"])
@blp.arguments(WriteOffArgs)
@blp.response(201, MovementResultSchema)
@documented_errors(403, 404, 409)
@login_required
def write_off(args, location_id):
    """Write off units of batches (expired, damaged), with a reason; reserved units cannot be."""
    applied = movements.write_off_stock(get_session(), current_actor(), location_id, now=clock.now(), **args)
    return _movement_result(applied)


# --- transfers ---------------------------------------------------------------------------------------


@blp.route("/transfers", methods=["POST"])
@blp.arguments(TransferArgs)
@blp.response(201, TransferSchema)
@documented_errors(403, 404, 409)
@login_required
def dispatch_transfer(args):
    """Dispatch stock from a location the caller runs to another; it is in transit until received."""
    return transfers.dispatch_transfer(get_session(), current_actor(), now=clock.now(), **args)


@blp.route("/transfers", methods=["GET"])
@blp.arguments(TransferQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, TransferPageSchema)
@documented_errors(403)
@login_required
def list_transfers(query, paging):
    """Transfers from or to the locations the caller runs, newest first."""
    return page_body(transfers.list_transfers(get_session(), current_actor(), filters=query, **paging), paging)


@blp.route("/transfers/<int:transfer_id>", methods=["GET"])
@blp.response(200, TransferSchema)
@documented_errors(403, 404)
@login_required
def get_transfer(transfer_id):
    """One transfer from or to a location the caller runs."""
    return transfers.get_transfer(get_session(), current_actor(), transfer_id)


@blp.route("/transfers/<int:transfer_id>/receive", methods=["POST"])
@blp.arguments(ReceiveArgs)
@blp.response(200, TransferSchema)
@documented_errors(403, 404, 409)
@login_required
def receive_transfer(args, transfer_id):
    """The destination's operators confirm what arrived; any shortfall is recorded on its line.
    A transfer is received once (409 `illegal_transition` after)."""
    return transfers.receive_transfer(get_session(), current_actor(), transfer_id, lines=args["lines"], now=clock.now())


# --- reports -----------------------------------------------------------------------------------------


@blp.route("/inventory/low-stock", methods=["GET"])
@blp.arguments(LowStockQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, LowStockPageSchema)
@documented_errors(403, 404)
@login_required
def low_stock(query, paging):
    """SKUs at or below their threshold at the caller's locations, with a restock suggestion from the
    sales velocity of a recent window."""
    cfg = current_settings().inventory
    result = stock.low_stock(
        get_session(),
        current_actor(),
        location_id=query["location_id"],
        now=clock.now(),
        window_days=query["window_days"] or cfg.velocity_window_days,
        cover_days=query["cover_days"] or cfg.restock_cover_days,
        **paging,
    )
    return page_body(result, paging)


@blp.route("/inventory/stale-counters", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, StaleCounterPageSchema)
@documented_errors(403)
@login_required
def stale_counters(paging):
    """Smart counters of the caller's locations that stopped sending heartbeats (or never sent one)."""
    result = devices.stale_counters(
        get_session(),
        current_actor(),
        now=clock.now(),
        timeout_seconds=current_settings().inventory.heartbeat_timeout_seconds,
        **paging,
    )
    return page_body(result, paging)


# --- public --------------------------------------------------------------------------------------------


@public_blp.route("/products/<int:product_id>/availability", methods=["GET"])
@public_cache()
@public_blp.arguments(AvailabilityQueryArgs, location="query")
@public_blp.arguments(PageArgs, location="query")
@public_blp.response(200, AvailabilityPageSchema)
@documented_errors(404)
def availability(query, paging, product_id):
    """Where a product whose certification is in force can be picked up now: active halls, counters
    and zones with units available in unexpired batches, optionally in one district."""
    result = stock.product_availability(
        get_session(), product_id, district_id=query["district_id"], now=clock.now(), **paging
    )
    return page_body(result, paging)


@public_blp.route("/trace/<string:code>", methods=["GET"])
@public_cache()
@public_blp.response(200, TraceSchema)
@documented_errors(404)
def trace(code):
    """What the trace code on a package tells: producer, origin, harvest date, best-before and the
    product's certification."""
    return stock.trace_batch(get_session(), code, clock.now())

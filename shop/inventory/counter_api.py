"""The smart counters' own API: authenticated by the counter's API key in the X-Counter-Key header.
A key works only for its own counter: any other counter id in the path answers 404."""

from __future__ import annotations

import functools

from flask import g, request
from flask_smorest import Blueprint

from shop import clock
from shop.errors import NotFound
from shop.inventory import devices
from shop.inventory.errors import COUNTER_KEY_HEADER, CounterKeyRequired, InvalidCounterKey, LocationInactive
from shop.inventory.schemas import (
    CounterRestockArgs,
    CounterRestockResultSchema,
    CounterSaleArgs,
    CounterSaleResultSchema,
    HeartbeatArgs,
    HeartbeatSchema,
)
from shop.monitoring import cold_chain
from shop.request_session import get_session
from shop.settings import current as current_settings
from shop.web import authenticated_already, authenticates, documented_errors

SECURITY_SCHEME = {"type": "apiKey", "in": "header", "name": COUNTER_KEY_HEADER}

blp = Blueprint(
    "counters",
    __name__,
    url_prefix="/api/v1",
    description="Smart counters (API key in X-Counter-Key): sales sessions, restock confirmations, heartbeats. "
    "Reports carry the cabinet's event id and are applied once however often they are sent.",
)


def register(api) -> None:
    api.register_blueprint(blp)
    api.spec.components.security_scheme("counterKey", SECURITY_SCHEME)


def counter_required(view):
    """Load the counter whose key came with the request into `g.counter`; 401 without a valid key,
    404 when the key belongs to another counter than the path's."""

    def authenticate():
        key = request.headers.get(COUNTER_KEY_HEADER, "")
        device = devices.authenticate(get_session(), key) if key else None
        if device is None:
            raise InvalidCounterKey() if key else CounterKeyRequired()
        g.counter_device = device
        return None

    @authenticates(authenticate)
    @functools.wraps(view)
    def wrapper(*args, counter_id: int, **kwargs):
        if not authenticated_already() and (refused := authenticate()) is not None:
            return refused
        device = g.counter_device
        if device.location_id != counter_id:
            raise NotFound("No such counter.")
        if not device.location.is_active:
            raise LocationInactive(location_id=counter_id)
        g.counter = device.location
        return view(*args, counter_id=counter_id, **kwargs)

    return documented_errors(401, 404)(Blueprint.doc(security=[{"counterKey": []}])(wrapper))


@blp.route("/counters/<int:counter_id>/sales", methods=["POST"])
@blp.arguments(CounterSaleArgs)
@blp.response(201, CounterSaleResultSchema)
@blp.alt_response(200, schema=CounterSaleResultSchema, description="A replay: the result of the first report")
@documented_errors(409)
@counter_required
def report_sale(args, counter_id):
    """A sales session: the items taken leave stock, earliest best-before first. 201 when applied now,
    200 with the same body when this event id was applied before. 409 `out_of_stock` when the books
    show too few units: nothing is recorded and the report may be sent again (e.g. after the restock
    it depended on); 409 `event_id_reused` when the event id came before with other content."""
    result, replayed = devices.report_sale(get_session(), g.counter, args, now=clock.now())
    return result, 200 if replayed else 201


@blp.route("/counters/<int:counter_id>/restocks", methods=["POST"])
@blp.arguments(CounterRestockArgs)
@blp.response(201, CounterRestockResultSchema)
@blp.alt_response(200, schema=CounterRestockResultSchema, description="A replay: the result of the first report")
@documented_errors(409)
@counter_required
def report_restock(args, counter_id):
    """A restock confirmation: receives a transfer addressed to this counter with the units loaded per
    SKU; what was sent but not reported is recorded as a shortfall. Idempotent like sales."""
    result, replayed = devices.report_restock(get_session(), g.counter, args, now=clock.now())
    return result, 200 if replayed else 201


@blp.route("/counters/<int:counter_id>/heartbeats", methods=["POST"])
@blp.arguments(HeartbeatArgs)
@blp.response(200, HeartbeatSchema)
@documented_errors(409)
@counter_required
def heartbeat(args, counter_id):
    """The cabinet is alive (and how it is); counters silent for longer than the timeout are listed
    for operators as stale. Its temperature is checked against the range of the chilled and frozen
    stock it holds: out of range for longer than COLD_CHAIN_EXCURSION_MINUTES, the affected batches
    are quarantined and an incident is opened for the operators."""
    status = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in args.items() if v is not None}
    now, settings = clock.now(), current_settings()
    result = devices.heartbeat(
        get_session(), g.counter, status, now=now, timeout_seconds=settings.inventory.heartbeat_timeout_seconds
    )
    cold_chain.observe_temperature(
        get_session(),
        g.counter.id,
        args.get("temperature_c"),
        now=now,
        excursion_minutes=settings.cold_chain_excursion_minutes,
    )
    return result

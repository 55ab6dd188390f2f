"""Smart counters: API keys (issued and rotated by admins, kept only as a sha256), the cabinets'
reports (sales sessions, restock confirmations, heartbeats) and the list of silent counters.

A report carries the cabinet's own event id. The first report of an event inserts a row under a
UNIQUE (counter_id, event_id) before any stock moves, and stores its result in the same transaction;
a replay (sequential or concurrent: the second insert waits for the first transaction, then fails
the constraint) finds the row and answers with the stored result, moving nothing."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.errors import InvalidInput, NotFound
from shop.inventory import locations, movements, transfers
from shop.inventory.errors import EventIdReused, NotACounter
from shop.inventory.models import (
    CounterDevice,
    CounterEvent,
    CounterEventKind,
    Location,
    LocationKind,
    Transfer,
    TransferLine,
)

KEY_PREFIX = "cnt_"


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def payload_digest(payload: dict) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- keys ------------------------------------------------------------------------------------------


def _counter(session: Session, location_id: int) -> Location:
    location = session.get(Location, location_id)
    if location is None:
        raise NotFound("No such location.")
    if location.kind != LocationKind.COUNTER:
        raise NotACounter("Only counters have an API key.")
    return location


def issue_key(session: Session, actor: Actor, location_id: int, *, now: datetime) -> dict:
    """Create the counter's API key, or rotate it (the previous key stops working at once).
    The key is returned this once; only its sha256 is stored."""
    actor.require(Role.ADMIN)
    _counter(session, location_id)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    device = session.get(CounterDevice, location_id)
    if device is None:
        device = CounterDevice(location_id=location_id)
        session.add(device)
    device.key_sha256 = key_digest(key)
    device.key_prefix = key[:12]
    device.key_issued_at = now
    device.key_issued_by_id = actor.user_id
    session.flush()
    return {"counter_id": location_id, "api_key": key, "key_prefix": device.key_prefix, "issued_at": now}


def revoke_key(session: Session, actor: Actor, location_id: int) -> None:
    actor.require(Role.ADMIN)
    _counter(session, location_id)
    device = session.get(CounterDevice, location_id)
    if device is None or device.key_sha256 is None:
        raise NotFound("This counter has no API key.")
    device.key_sha256 = None
    device.key_prefix = None
    session.flush()


def authenticate(session: Session, key: str) -> CounterDevice | None:
    """The device whose key this is, or None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    return session.scalar(
        sa.select(CounterDevice)
        .options(joinedload(CounterDevice.location))
        .where(CounterDevice.key_sha256 == key_digest(key))
    )


# --- reports ---------------------------------------------------------------------------------------


def _begin_event(
    session: Session,
    counter_id: int,
    kind: CounterEventKind,
    payload: dict,
    *,
    occurred_at: datetime,
    now: datetime,
) -> tuple[CounterEvent | None, dict | None]:
    """(new event, None) for a first report; (None, stored result) for a replay."""
    event_id, digest = payload["event_id"], payload_digest(payload)
    stored = _stored(session, counter_id, event_id, kind, digest)
    if stored is not None:
        return None, stored
    event = CounterEvent(
        counter_id=counter_id,
        event_id=event_id,
        kind=kind,
        payload_sha256=digest,
        occurred_at=occurred_at,
        received_at=now,
    )
    try:
        with session.begin_nested():
            session.add(event)
            session.flush()
    except IntegrityError:
        # The same event is being applied by a concurrent request, which has committed by now.
        stored = _stored(session, counter_id, event_id, kind, digest)
        if stored is None:
            raise
        return None, stored
    return event, None


def _stored(session: Session, counter_id: int, event_id: str, kind: CounterEventKind, digest: str) -> dict | None:
    event = session.scalar(
        sa.select(CounterEvent)
        .where(CounterEvent.counter_id == counter_id, CounterEvent.event_id == event_id)
        .execution_options(populate_existing=True)
    )
    if event is None:
        return None
    if event.kind != kind or event.payload_sha256 != digest:
        raise EventIdReused("This event id was reported before with other content.", event_id=event_id)
    return event.result


def _envelope(event: CounterEvent) -> dict:
    return {
        "counter_id": event.counter_id,
        "event_id": event.event_id,
        "kind": event.kind.value,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "applied_at": event.received_at.astimezone(UTC).isoformat(),
    }


def report_sale(session: Session, counter: Location, payload: dict, *, now: datetime) -> tuple[dict, bool]:
    """A sales session of the cabinet: the items taken leave stock (FEFO). Returns (result, replayed).
    Recorded even if a product's certification lapsed meanwhile: the goods are gone either way.
    Refused (nothing recorded, the cabinet may retry) when the books show too few units."""
    event, stored = _begin_event(
        session, counter.id, CounterEventKind.SALE, payload, occurred_at=payload["occurred_at"], now=now
    )
    if event is None:
        return stored, True
    applied = movements.sell(
        session, counter.id, payload["items"], now=now, counter_event_id=event.id, require_in_force=False
    )
    event.result = {
        **_envelope(event),
        "lines": [
            {
                "sku_id": line["sku_id"],
                "batch_id": line["batch_id"],
                "trace_code": line["trace_code"],
                "best_before": line["best_before"].isoformat(),
                "quantity": -line["on_hand_delta"],
            }
            for line in movements.describe_moves(session, applied.moves)
        ],
    }
    session.flush()
    return event.result, False


def report_restock(session: Session, counter: Location, payload: dict, *, now: datetime) -> tuple[dict, bool]:
    """The cabinet confirms what was loaded from a transfer addressed to it: units per SKU as sensed.
    They fill the transfer's lines of that SKU earliest best-before first; whatever is not reported
    is a shortfall. Returns (result, replayed)."""
    event, stored = _begin_event(
        session, counter.id, CounterEventKind.RESTOCK, payload, occurred_at=payload["occurred_at"], now=now
    )
    if event is None:
        return stored, True
    transfer = session.scalar(
        sa.select(Transfer)
        .options(joinedload(Transfer.lines).joinedload(TransferLine.batch))
        .where(Transfer.id == payload["transfer_id"], Transfer.to_location_id == counter.id)
        .with_for_update(of=Transfer)
        .execution_options(populate_existing=True)
    )
    if transfer is None:
        raise NotFound("No such transfer to this counter.")
    reported: dict[int, int] = defaultdict(int)
    for item in payload["items"]:
        reported[item["sku_id"]] += item["quantity"]
    lines = sorted(transfer.lines, key=lambda line: (line.batch.best_before, line.id))
    sent: dict[int, int] = defaultdict(int)
    for line in lines:
        sent[line.sku_id] += line.quantity_sent
    unknown = sorted(set(reported) - set(sent))
    over = sorted(s for s in reported if s in sent and reported[s] > sent[s])
    if unknown or over:
        raise InvalidInput(
            "Report only SKUs of the transfer, at most what was sent.",
            fields={"items": ["Not in the transfer or above what was sent."]},
            unknown_sku_ids=unknown,
            above_sent_sku_ids=over,
        )
    received: dict[int, int] = {}
    for line in lines:
        units = min(line.quantity_sent, reported[line.sku_id])
        received[line.id] = units
        reported[line.sku_id] -= units
    transfers.receive_into(session, transfer, received, now=now, counter_event_id=event.id)
    event.result = {
        **_envelope(event),
        "transfer_id": transfer.id,
        "lines": [
            {
                "line_id": line.id,
                "sku_id": line.sku_id,
                "batch_id": line.batch_id,
                "trace_code": line.batch.trace_code,
                "quantity_sent": line.quantity_sent,
                "quantity_received": line.quantity_received,
                "shortfall": line.shortfall,
            }
            for line in sorted(transfer.lines, key=lambda line: line.id)
        ],
    }
    session.flush()
    return event.result, False


def heartbeat(session: Session, counter: Location, status: dict, *, now: datetime, timeout_seconds: int) -> dict:
    """The cabinet is alive; what it says about itself is kept for operators."""
    session.execute(
        sa.update(CounterDevice)
        .where(CounterDevice.location_id == counter.id)
        .values(last_heartbeat_at=now, last_heartbeat=status)
        .execution_options(synchronize_session=False)
    )
    return {"counter_id": counter.id, "received_at": now, "next_within_seconds": timeout_seconds}


def stale_counters(
    session: Session, actor: Actor, *, now: datetime, timeout_seconds: int, page: int, size: int
) -> tuple[list[dict], int]:
    """Active counters with an API key whose last heartbeat is older than the timeout, or never came."""
    locations.require_operator(actor)
    cutoff = now - timedelta(seconds=timeout_seconds)
    stmt = (
        sa.select(Location, CounterDevice)
        .join(CounterDevice, CounterDevice.location_id == Location.id)
        .options(joinedload(Location.district))
        .where(
            Location.kind == LocationKind.COUNTER,
            Location.is_active,
            CounterDevice.key_sha256.is_not(None),
            sa.or_(CounterDevice.last_heartbeat_at.is_(None), CounterDevice.last_heartbeat_at < cutoff),
        )
    )
    scope = locations.scope_clause(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(CounterDevice.last_heartbeat_at.is_not(None), CounterDevice.last_heartbeat_at, Location.id)
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return [
        {
            "location": location,
            "last_heartbeat_at": device.last_heartbeat_at,
            "silent_seconds": None
            if device.last_heartbeat_at is None
            else int((now - device.last_heartbeat_at).total_seconds()),
            "last_heartbeat": device.last_heartbeat,
        }
        for location, device in rows
    ], total

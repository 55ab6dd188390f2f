"""Transfers between locations: dispatched from one, in transit, received (in full or short) at the other."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from shop.auth.actor import Actor
from shop.errors import Forbidden, InvalidInput, NotFound
from shop.inventory import ledger
from shop.inventory.ledger import Move
from shop.inventory.locations import can_run, get_location, require_active, require_operator, scope_clause
from shop.inventory.models import (
    Location,
    MovementKind,
    Transfer,
    TransferLine,
    TransferStatus,
    china_today,
)
from shop.inventory.movements import batches_by_code, known_skus, merge_lines
from shop.paging import paginate


def _transfer_options():
    return (
        joinedload(Transfer.from_location),
        joinedload(Transfer.to_location),
        selectinload(Transfer.lines).joinedload(TransferLine.batch),
        selectinload(Transfer.lines).joinedload(TransferLine.sku),
    )


def dispatch_transfer(
    session: Session,
    actor: Actor,
    *,
    from_location_id: int,
    to_location_id: int,
    lines: list[dict],
    note: str,
    now: datetime,
) -> Transfer:
    """Send stock from a location the actor runs to another location; it is in transit until received.
    Lines name a SKU (picked FEFO among unexpired batches) or a batch by trace code."""
    get_location(session, actor, from_location_id)
    destination = session.get(Location, to_location_id)
    if destination is None:
        raise InvalidInput("Unknown destination.", fields={"to_location_id": ["Unknown location."]})
    if destination.id == from_location_id:
        raise InvalidInput("A transfer goes to another location.", fields={"to_location_id": ["Same as the source."]})
    require_active(destination)
    by_code = [line for line in lines if line.get("trace_code")]
    by_sku = [line for line in lines if not line.get("trace_code")]
    batches = batches_by_code(session, [line["trace_code"] for line in by_code]) if by_code else {}
    for line in by_code:
        if batches[line["trace_code"]].sku_id != line["sku_id"]:
            raise InvalidInput("That batch is of another SKU.", fields={"lines": ["Trace code and SKU differ."]})
    skus = known_skus(session, [line["sku_id"] for line in lines])
    ledger.lock_levels(session, from_location_id, skus)
    today = china_today(now)
    taken: dict[int, int] = defaultdict(int)
    moves: list[Move] = []
    for code, quantity in sorted(merge_lines(by_code, "trace_code").items()):
        batch = batches[code]
        moves.append(Move(MovementKind.TRANSFER_OUT, batch.sku_id, batch.id, batch.best_before, on_hand=-quantity))
        taken[batch.id] += quantity
    for sku_id, quantity in sorted(merge_lines(by_sku, "sku_id").items()):
        for batch_id, best_before, units in ledger.pick_fefo(session, from_location_id, sku_id, quantity, today, taken):
            moves.append(Move(MovementKind.TRANSFER_OUT, sku_id, batch_id, best_before, on_hand=-units))
            taken[batch_id] += units
    transfer = Transfer(
        from_location_id=from_location_id,
        to_location_id=to_location_id,
        note=note,
        dispatched_at=now,
        dispatched_by_id=actor.user_id,
    )
    per_batch: dict[tuple[int, int], int] = defaultdict(int)
    for move in moves:
        per_batch[(move.sku_id, move.batch_id)] -= move.on_hand
    transfer.lines = [
        TransferLine(sku_id=sku_id, batch_id=batch_id, quantity_sent=quantity)
        for (sku_id, batch_id), quantity in sorted(per_batch.items())
    ]
    session.add(transfer)
    session.flush()
    ledger.apply(session, from_location_id, moves, now=now, actor_id=actor.user_id, transfer_id=transfer.id)
    return get_transfer(session, actor, transfer.id)


def _transfer_scope(actor: Actor, transfer: Transfer) -> tuple[bool, bool]:
    """(runs the source, runs the destination)."""
    return can_run(actor, transfer.from_location), can_run(actor, transfer.to_location)


def get_transfer(session: Session, actor: Actor, transfer_id: int, *, for_update: bool = False) -> Transfer:
    require_operator(actor)
    stmt = sa.select(Transfer).options(*_transfer_options()).where(Transfer.id == transfer_id)
    if for_update:
        stmt = stmt.with_for_update(of=Transfer).execution_options(populate_existing=True)
    transfer = session.scalar(stmt)
    if transfer is None or not any(_transfer_scope(actor, transfer)):
        raise NotFound("No such transfer.")
    return transfer


def list_transfers(session: Session, actor: Actor, *, filters: dict, page: int, size: int):
    require_operator(actor)
    source, destination = aliased(Location), aliased(Location)
    stmt = (
        sa.select(Transfer)
        .options(*_transfer_options())
        .join(source, source.id == Transfer.from_location_id)
        .join(destination, destination.id == Transfer.to_location_id)
    )
    scope_from, scope_to = scope_clause(actor, source.path), scope_clause(actor, destination.path)
    if scope_from is not None:
        stmt = stmt.where(sa.or_(scope_from, scope_to))
    if filters.get("status") is not None:
        stmt = stmt.where(Transfer.status == filters["status"])
    if filters.get("location_id") is not None:
        loc = filters["location_id"]
        stmt = stmt.where(sa.or_(Transfer.from_location_id == loc, Transfer.to_location_id == loc))
    return paginate(session, stmt, order_by=Transfer.id.desc(), page=page, size=size)


def receive_transfer(
    session: Session, actor: Actor, transfer_id: int, *, lines: list[dict] | None, now: datetime
) -> Transfer:
    """The destination confirms what arrived: without lines, everything; with lines, every line's
    received quantity (a shortfall is recorded on the line and goes back to nobody's stock)."""
    transfer = get_transfer(session, actor, transfer_id, for_update=True)
    if not _transfer_scope(actor, transfer)[1]:
        raise Forbidden("Only the destination's operators receive a transfer.")
    if lines is None:
        received = {line.id: line.quantity_sent for line in transfer.lines}
    else:
        received = merge_lines(lines, "line_id", "quantity_received")
        known = {line.id for line in transfer.lines}
        if set(received) != known:
            raise InvalidInput(
                "List every line of the transfer once.",
                fields={"lines": ["Every line, once."]},
                missing=sorted(known - set(received)),
                unknown=sorted(set(received) - known),
            )
    receive_into(session, transfer, received, now=now, actor_id=actor.user_id)
    return transfer


def receive_into(
    session: Session,
    transfer: Transfer,
    received: dict[int, int],
    *,
    now: datetime,
    actor_id: int | None = None,
    counter_event_id: int | None = None,
) -> None:
    """Receive a transfer (locked by the caller) with `received` units per line id."""
    too_many = [line.id for line in transfer.lines if received.get(line.id, 0) > line.quantity_sent]
    if too_many:
        raise InvalidInput(
            "More received than was sent; receive the extra as a delivery.",
            fields={"lines": ["Above the quantity sent."]},
            line_ids=too_many,
        )
    transfer.transition(TransferStatus.RECEIVED, at=now, actor_id=actor_id)
    transfer.received_by_counter_event_id = counter_event_id
    for line in transfer.lines:
        line.quantity_received = received.get(line.id, 0)
    session.flush()
    ledger.lock_levels(session, transfer.to_location_id, [line.sku_id for line in transfer.lines], create=True)
    moves = [
        Move(
            MovementKind.TRANSFER_IN, line.sku_id, line.batch_id, line.batch.best_before, on_hand=line.quantity_received
        )
        for line in sorted(transfer.lines, key=lambda line: line.batch_id)
        if line.quantity_received
    ]
    ledger.apply(
        session,
        transfer.to_location_id,
        moves,
        now=now,
        actor_id=actor_id,
        counter_event_id=counter_event_id,
        transfer_id=transfer.id,
    )

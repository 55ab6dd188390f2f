"""Stock movements at a location: receiving deliveries, sales, returns, counts and write-offs, and
what a movement use case returns. Every change of stock goes through `shop.inventory.ledger`
(lock, conditional UPDATE, movement row)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from shop.auth.actor import Actor
from shop.catalog.models import ProductKind, Sku
from shop.certification.query import product_in_force
from shop.db import UTCDateTime
from shop.errors import InvalidInput
from shop.inventory import ledger
from shop.inventory.errors import (
    CountBelowReserved,
    NotInForce,
    TraceCodeMismatch,
)
from shop.inventory.ledger import BATCH_LEVELS, Move
from shop.inventory.locations import get_location, require_active
from shop.inventory.models import (
    Batch,
    MovementKind,
    china_today,
)
from shop.inventory.stock import stock_rows
from shop.statistics import facts as sales_facts


@dataclass
class Applied:
    """What a use case moved at a location, for the response: lines and the SKUs' new stock rows."""

    location_id: int
    moves: list[Move]


def describe_moves(session: Session, moves: list[Move]) -> list[dict]:
    batch_ids = sorted({m.batch_id for m in moves})
    codes = (
        dict(session.execute(sa.select(Batch.id, Batch.trace_code).where(Batch.id.in_(batch_ids))).all())
        if batch_ids
        else {}
    )
    return [
        {
            "kind": m.kind,
            "sku_id": m.sku_id,
            "batch_id": m.batch_id,
            "trace_code": codes[m.batch_id],
            "best_before": m.best_before,
            "on_hand_delta": m.on_hand,
            "reserved_delta": m.reserved,
        }
        for m in moves
    ]


def describe(session: Session, applied: Applied, now: datetime) -> dict:
    return {
        "location_id": applied.location_id,
        "lines": describe_moves(session, applied.moves),
        "stock": stock_rows(session, applied.location_id, [m.sku_id for m in applied.moves], now),
    }


def known_skus(session: Session, sku_ids: list[int]) -> dict[int, Sku]:
    wanted = sorted(set(sku_ids))
    skus = {
        sku.id: sku
        for sku in session.scalars(sa.select(Sku).options(joinedload(Sku.product)).where(Sku.id.in_(wanted)))
    }
    missing = [s for s in wanted if s not in skus]
    if missing:
        raise InvalidInput("Unknown SKU.", fields={"lines": [f"Unknown SKU {s}." for s in missing]}, sku_ids=missing)
    return skus


_LAPSED_SKUS = sa.select(Sku.id).where(
    Sku.id.in_(sa.bindparam("sku_ids", expanding=True)),
    ~product_in_force(Sku.product_id, sa.bindparam("now", type_=UTCDateTime())),
)


def require_products_in_force(session: Session, sku_ids: list[int], now: datetime) -> None:
    lapsed = session.scalars(_LAPSED_SKUS, {"sku_ids": sorted(set(sku_ids)), "now": now}).all()
    if lapsed:
        raise NotInForce(sku_ids=sorted(lapsed))


def batches_by_code(session: Session, codes: list[str]) -> dict[str, Batch]:
    wanted = sorted(set(codes))
    batches = {b.trace_code: b for b in session.scalars(sa.select(Batch).where(Batch.trace_code.in_(wanted)))}
    missing = [c for c in wanted if c not in batches]
    if missing:
        raise InvalidInput(
            "Unknown trace code.", fields={"lines": [f"Unknown trace code {c}." for c in missing]}, trace_codes=missing
        )
    return batches


def merge_lines(lines: list[dict], key: str, quantity: str = "quantity") -> dict:
    merged: dict = defaultdict(int)
    for line in lines:
        merged[line[key]] += line[quantity]
    return dict(merged)


def receive_stock(
    session: Session, actor: Actor, location_id: int, *, lines: list[dict], reference: str | None, now: datetime
) -> Applied:
    """A supplier's delivery: each line a batch (trace code, dates) of a SKU, received into stock."""
    location = get_location(session, actor, location_id)
    require_active(location)
    today = china_today(now)
    skus = known_skus(session, [line["sku_id"] for line in lines])
    services = sorted(s.id for s in skus.values() if s.product.kind == ProductKind.SERVICE)
    if services:
        raise InvalidInput("Services are not stocked.", fields={"lines": ["A service SKU has no stock."]})
    per_code: dict[str, dict] = {}
    for line in lines:
        if line["best_before"] < today:
            raise InvalidInput("That batch is past its best-before date.", fields={"lines": ["Expired batch."]})
        if line["produced_on"] > today or line["produced_on"] > line["best_before"]:
            raise InvalidInput(
                "The harvest or production date must be on or before today and the best-before date.",
                fields={"lines": ["Dates out of order."]},
            )
        seen = per_code.get(line["trace_code"])
        if seen is None:
            per_code[line["trace_code"]] = dict(line)
        elif _batch_key(seen) != _batch_key(line):
            raise InvalidInput("One trace code, two batches.", fields={"lines": ["Conflicting lines for a code."]})
        else:
            seen["quantity"] += line["quantity"]
    batches = _find_or_create_batches(session, list(per_code.values()), now)
    ledger.lock_levels(session, location_id, [line["sku_id"] for line in per_code.values()], create=True)
    moves = [
        Move(MovementKind.RECEIVE, b.sku_id, b.id, b.best_before, on_hand=per_code[code]["quantity"])
        for code, b in sorted(batches.items())
    ]
    ledger.apply(session, location_id, moves, now=now, actor_id=actor.user_id, reference=reference)
    return Applied(location_id, moves)


def _batch_key(line: dict) -> tuple:
    return (line["sku_id"], line["produced_on"], line["best_before"])


def _find_or_create_batches(session: Session, lines: list[dict], now: datetime) -> dict[str, Batch]:
    """The batch of each line by trace code, created if new; a known code must name the same batch."""
    ledger.insert_ignore(
        session,
        Batch.__table__,
        [
            {
                "sku_id": line["sku_id"],
                "trace_code": line["trace_code"],
                "produced_on": line["produced_on"],
                "best_before": line["best_before"],
                "created_at": now,
            }
            for line in sorted(lines, key=lambda line: line["trace_code"])
        ],
        ["trace_code"],
    )
    batches = batches_by_code(session, [line["trace_code"] for line in lines])
    for line in lines:
        batch = batches[line["trace_code"]]
        if (batch.sku_id, batch.produced_on, batch.best_before) != _batch_key(line):
            raise TraceCodeMismatch(
                "This trace code belongs to a batch with another SKU or other dates.",
                trace_code=batch.trace_code,
            )
    return batches


def sell(
    session: Session,
    location_id: int,
    lines: list[dict],
    *,
    now: datetime,
    actor_id: int | None = None,
    counter_event_id: int | None = None,
    require_in_force: bool = True,
    reference: str | None = None,
    counts_as_sale: bool = True,
) -> Applied:
    """Units of SKUs leave the shelf: earliest best-before first, never expired, never reserved.
    The caller checked the location; with `require_in_force` a product not in force is refused."""
    wanted = merge_lines(lines, "sku_id")
    levels = ledger.lock_levels(session, location_id, wanted)
    if set(wanted) - set(levels):  # never stocked here: unknown SKU (422) or out of stock (409)
        known_skus(session, list(set(wanted) - set(levels)))
    if require_in_force:
        require_products_in_force(session, list(wanted), now)
    today = china_today(now)
    moves = [
        Move(MovementKind.SALE, sku_id, batch_id, best_before, on_hand=-units)
        for sku_id, quantity in sorted(wanted.items())
        for batch_id, best_before, units in ledger.pick_fefo(session, location_id, sku_id, quantity, today)
    ]
    ledger.apply(
        session,
        location_id,
        moves,
        now=now,
        actor_id=actor_id,
        counter_event_id=counter_event_id,
        reference=reference,
    )
    if counts_as_sale:  # a shelf sale; goods handed over for a voucher are the redemption's fact
        sales_facts.record_shelf_sale(session, location_id, moves, now=now)
    return Applied(location_id, moves)


def record_sale(
    session: Session, actor: Actor, location_id: int, *, lines: list[dict], reference: str | None, now: datetime
) -> Applied:
    """A sale over the counter of a staffed hall, counter or zone."""
    location = get_location(session, actor, location_id)
    require_active(location)
    return sell(session, location_id, lines, now=now, actor_id=actor.user_id, reference=reference)


def _batch_moves(
    session: Session, location_id: int, lines: list[dict], kind: MovementKind, sign: int, *, create: bool
) -> list[Move]:
    per_code = merge_lines(lines, "trace_code")
    batches = batches_by_code(session, list(per_code))
    ledger.lock_levels(session, location_id, [b.sku_id for b in batches.values()], create=create)
    return [
        Move(kind, b.sku_id, b.id, b.best_before, on_hand=sign * per_code[code]) for code, b in sorted(batches.items())
    ]


def return_stock(
    session: Session, actor: Actor, location_id: int, *, lines: list[dict], reason: str, now: datetime
) -> Applied:
    """Sold units brought back by buyers, into the batch on their package."""
    get_location(session, actor, location_id)
    moves = _batch_moves(session, location_id, lines, MovementKind.RETURN, +1, create=True)
    ledger.apply(session, location_id, moves, now=now, actor_id=actor.user_id, reason=reason)
    return Applied(location_id, moves)


def write_off_stock(
    session: Session, actor: Actor, location_id: int, *, lines: list[dict], reason: str, now: datetime
) -> Applied:
    """Units that cannot be sold (expired, damaged) leave the books; reserved units cannot."""
    get_location(session, actor, location_id)
    moves = _batch_moves(session, location_id, lines, MovementKind.WRITE_OFF, -1, create=False)
    ledger.apply(session, location_id, moves, now=now, actor_id=actor.user_id, reason=reason)
    return Applied(location_id, moves)


def count_stock(
    session: Session, actor: Actor, location_id: int, *, lines: list[dict], reason: str, now: datetime
) -> Applied:
    """A stock count: each counted batch is adjusted to what was found, with the reason recorded.
    Batches not in the count keep their balance."""
    get_location(session, actor, location_id)
    counted: dict[str, int] = {}
    for line in lines:
        if counted.setdefault(line["trace_code"], line["counted"]) != line["counted"]:
            raise InvalidInput("A batch counted twice, differently.", fields={"lines": ["Duplicate trace code."]})
    batches = batches_by_code(session, list(counted))
    ledger.lock_levels(session, location_id, [b.sku_id for b in batches.values()], create=True)
    current = {
        batch_id: (on_hand, reserved)
        for batch_id, on_hand, reserved in session.execute(
            sa.select(BATCH_LEVELS.c.batch_id, BATCH_LEVELS.c.on_hand, BATCH_LEVELS.c.reserved).where(
                BATCH_LEVELS.c.location_id == location_id,
                BATCH_LEVELS.c.batch_id.in_([b.id for b in batches.values()]),
            )
        )
    }
    moves = []
    for code, batch in sorted(batches.items()):
        on_hand, reserved = current.get(batch.id, (0, 0))
        if counted[code] < reserved:
            raise CountBelowReserved(
                "Fewer units counted than are reserved; release reservations first.",
                trace_code=code,
                counted=counted[code],
                reserved=reserved,
            )
        moves.append(Move(MovementKind.ADJUSTMENT, batch.sku_id, batch.id, batch.best_before, counted[code] - on_hand))
    ledger.apply(session, location_id, moves, now=now, actor_id=actor.user_id, reason=reason)
    return Applied(location_id, [m for m in moves if m.on_hand])

"""The one door to stock balances: movements go into the ledger and the cached balances change with
them, in the caller's transaction.

How concurrent movements stay right:

1. A use case first calls `lock_levels` once, with every SKU it will move at the location. The
   stock-level rows are locked in primary-key order (`SELECT … ORDER BY … FOR UPDATE`), so two use
   cases never wait on each other in a cycle; movements of one SKU at one location queue there.
2. Under that lock it may read batch balances (FEFO picking, counts) and decide what to move.
3. `apply` changes each balance with one conditional UPDATE relative to the stored value
   (`SET on_hand = on_hand + :d … WHERE … AND on_hand + :d >= reserved + :r`), never with a value
   computed in Python, and refuses the whole use case if a row does not qualify; CHECK constraints
   (`on_hand >= reserved >= 0`) stand behind it. Then it appends the movement rows.

A use case touches one location (a transfer is dispatched in one transaction and received in another).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.catalog import version as catalog_version
from shop.db import insert_ignore
from shop.inventory.errors import InsufficientStock
from shop.inventory.models import (
    BatchLevel,
    Movement,
    MovementKind,
    StockLevel,
    Transfer,
    TransferLine,
    TransferStatus,
    sellable_units,
)

LEVELS = StockLevel.__table__
BATCH_LEVELS = BatchLevel.__table__
MOVEMENTS = Movement.__table__

# The hot path's statements are built once, with bind parameters: building SQLAlchemy constructs
# per call cost more than the database work of a movement.
_LEVEL_KEYS = sa.and_(
    LEVELS.c.location_id == sa.bindparam("b_location_id"),
    LEVELS.c.sku_id.in_(sa.bindparam("b_sku_ids", expanding=True)),
)
# SQLite has no row locks: a no-op write takes the database's write lock before the reads.
_TAKE_WRITE_LOCK = LEVELS.update().where(_LEVEL_KEYS).values(on_hand=LEVELS.c.on_hand)
_LOCK_LEVELS = (
    sa.select(LEVELS.c.sku_id, LEVELS.c.on_hand, LEVELS.c.reserved)
    .where(_LEVEL_KEYS)
    .order_by(LEVELS.c.location_id, LEVELS.c.sku_id)
    .with_for_update()
)
_SELLABLE_BATCHES = (
    sa.select(BATCH_LEVELS.c.batch_id, BATCH_LEVELS.c.best_before, BATCH_LEVELS.c.on_hand - BATCH_LEVELS.c.reserved)
    .where(
        BATCH_LEVELS.c.location_id == sa.bindparam("b_location_id"),
        BATCH_LEVELS.c.sku_id == sa.bindparam("b_sku_id"),
        sellable_units(BATCH_LEVELS, sa.bindparam("today")),
    )
    .order_by(BATCH_LEVELS.c.best_before, BATCH_LEVELS.c.batch_id)
)


def _conditional_change(table: sa.Table, key: sa.Column) -> sa.Update:
    """Change on hand and reserved relative to the stored values, only if afterwards
    on_hand >= reserved >= 0 still holds (rowcount 0 otherwise)."""
    on_hand, reserved = sa.bindparam("d_on_hand"), sa.bindparam("d_reserved")
    return (
        table.update()
        .where(
            table.c.location_id == sa.bindparam("b_location_id"),
            key == sa.bindparam("key"),
            table.c.reserved + reserved >= 0,
            table.c.on_hand + on_hand >= table.c.reserved + reserved,
        )
        .values(on_hand=table.c.on_hand + on_hand, reserved=table.c.reserved + reserved)
    )


# The batch's level answers its new balance: the catalog's version changes only when the units
# available of a batch not quarantined here flip between none and some (see shop.catalog.version).
# (A flip of an expired or frozen batch bumps it too, needlessly but rarely: they are not picked.)
_CHANGE_BATCH_LEVEL = _conditional_change(BATCH_LEVELS, BATCH_LEVELS.c.batch_id).returning(
    BATCH_LEVELS.c.on_hand, BATCH_LEVELS.c.reserved, BATCH_LEVELS.c.quarantined_at
)
_CHANGE_LEVEL = _conditional_change(LEVELS, LEVELS.c.sku_id)
_APPEND_MOVEMENTS = MOVEMENTS.insert()


# Reserving, the checkout's hot path: the level first (its lock is where reservations of the SKU queue,
# as with lock_levels), then the first batch in FEFO order when it holds every unit asked for.
_RESERVE_LEVEL = (
    LEVELS.update()
    .where(
        LEVELS.c.location_id == sa.bindparam("b_location_id"),
        LEVELS.c.sku_id == sa.bindparam("b_sku_id"),
        LEVELS.c.on_hand >= LEVELS.c.reserved + sa.bindparam("units"),
    )
    .values(reserved=LEVELS.c.reserved + sa.bindparam("units"))
)
_UNRESERVE_LEVEL = (
    LEVELS.update()
    .where(LEVELS.c.location_id == sa.bindparam("b_location_id"), LEVELS.c.sku_id == sa.bindparam("b_sku_id"))
    .values(reserved=LEVELS.c.reserved - sa.bindparam("units"))
)
_FIRST_BATCH = (
    sa.select(BATCH_LEVELS.c.batch_id)
    .where(
        BATCH_LEVELS.c.location_id == sa.bindparam("b_location_id"),
        BATCH_LEVELS.c.sku_id == sa.bindparam("b_sku_id"),
        sellable_units(BATCH_LEVELS, sa.bindparam("today")),
    )
    .order_by(BATCH_LEVELS.c.best_before, BATCH_LEVELS.c.batch_id)
    .limit(1)
    .scalar_subquery()
)
_RESERVE_FIRST_BATCH = (
    BATCH_LEVELS.update()
    .where(
        BATCH_LEVELS.c.location_id == sa.bindparam("b_location_id"),
        BATCH_LEVELS.c.batch_id == _FIRST_BATCH,
        BATCH_LEVELS.c.on_hand >= BATCH_LEVELS.c.reserved + sa.bindparam("units"),
    )
    .values(reserved=BATCH_LEVELS.c.reserved + sa.bindparam("units"))
    .returning(
        BATCH_LEVELS.c.batch_id,
        BATCH_LEVELS.c.best_before,
        (BATCH_LEVELS.c.on_hand - BATCH_LEVELS.c.reserved).label("left"),
    )
)


# PostgreSQL: the level's conditional UPDATE, then (in a snapshot taken once it holds the level's lock,
# so after any stock change that queued before it) the earliest sellable batch's and the ledger row, in
# one call of the database function of migration 0030 (the same statements as _RESERVE_LEVEL and
# _RESERVE_FIRST_BATCH with _append): the level stays locked for that call and the commit only.
# Answers whether the level took the units, and the batch that did with the units it has left (none
# when the earliest batch does not hold them all: the caller then picks across batches).
_RESERVE_UNITS = sa.select(
    sa.column("level_reserved", sa.Boolean), sa.column("batch_id", sa.Integer), sa.column("units_left", sa.Integer)
).select_from(
    sa.func.reserve_units(
        sa.bindparam("b_location_id", type_=sa.Integer),
        sa.bindparam("b_sku_id", type_=sa.Integer),
        sa.bindparam("units", type_=sa.Integer),
        sa.bindparam("today", type_=sa.Date),
        sa.bindparam("now", type_=MOVEMENTS.c.created_at.type),
        sa.bindparam("reservation_id", type_=sa.Integer),
        sa.bindparam("reference", type_=sa.String),
    ).table_valued("level_reserved", "batch_id", "units_left")
)


@dataclass(frozen=True)
class Move:
    """One movement of one batch at the use case's location: the change of on hand and of reserved."""

    kind: MovementKind
    sku_id: int
    batch_id: int
    best_before: date
    on_hand: int = 0
    reserved: int = 0


def lock_levels(
    session: Session, location_id: int, sku_ids: Iterable[int], *, create: bool = False
) -> dict[int, tuple[int, int]]:
    """Lock the stock levels of `sku_ids` at the location in primary-key order; return
    {sku_id: (on_hand, reserved)} for those that exist. With `create`, missing levels are made first."""
    skus = sorted(set(sku_ids))
    if not skus:
        return {}
    if create:
        insert_ignore(
            session,
            LEVELS,
            [
                {"location_id": location_id, "sku_id": s, "on_hand": 0, "reserved": 0, "low_stock_threshold": 0}
                for s in skus
            ],
            ["location_id", "sku_id"],
        )
    keys = {"b_location_id": location_id, "b_sku_ids": skus}
    if session.connection().dialect.name == "sqlite":
        session.execute(_TAKE_WRITE_LOCK, keys)
    rows = session.execute(_LOCK_LEVELS, keys).all()
    return {sku_id: (on_hand, reserved) for sku_id, on_hand, reserved in rows}


def sellable_batches(session: Session, location_id: int, sku_id: int, today: date) -> list[tuple[int, date, int]]:
    """(batch_id, best_before, available) of unexpired batches with available units, FEFO order."""
    rows = session.execute(_SELLABLE_BATCHES, {"b_location_id": location_id, "b_sku_id": sku_id, "today": today}).all()
    return [tuple(row) for row in rows]


def pick_fefo(
    session: Session, location_id: int, sku_id: int, quantity: int, today: date, taken: dict[int, int] | None = None
) -> list[tuple[int, date, int]]:
    """Which batches `quantity` units come from: earliest best-before first, never expired ones,
    leaving out units the use case `taken` from batches already. Call it with the SKU's level locked.
    Returns (batch_id, best_before, units)."""
    picked: list[tuple[int, date, int]] = []
    need, total = quantity, 0
    for batch_id, best_before, available in sellable_batches(session, location_id, sku_id, today):
        available -= (taken or {}).get(batch_id, 0)
        if available <= 0:
            continue
        total += available
        units = min(need, available)
        picked.append((batch_id, best_before, units))
        need -= units
        if need == 0:
            return picked
    raise InsufficientStock(sku_id=sku_id, location_id=location_id, requested=quantity, available=total)


def reserve(
    session: Session,
    location_id: int,
    wanted: dict[int, int],
    *,
    today: date,
    now: datetime,
    reservation_id: int,
    reference: str,
) -> None:
    """Reserve `wanted` ({sku_id: units}) at the location, FEFO by batch, and append the movements:
    the same result as lock_levels, pick_fefo and apply, SKUs in primary-key order, each level's
    conditional UPDATE first (it locks the level, where movements of the SKU queue), then its batches.
    When the SKU's earliest batch holds the units, that is one call on PostgreSQL (the level, then the
    batch and the ledger row: see _RESERVE_UNITS; as those ledger rows are not seen going by, the
    products' search outbox rows are written before, by the caller, reservations.reserve_stock, with
    its claim of the reservation), three statements on SQLite (level, batch, ledger row).
    Otherwise the units are picked across batches under the level's lock. Raises InsufficientStock
    having changed no balance, as pick_fefo before apply does: a single SKU's level is set back,
    several SKUs are reserved under a savepoint."""
    if len(wanted) > 1:
        with session.begin_nested():
            _reserve(
                session, location_id, wanted, today=today, now=now, reservation_id=reservation_id, reference=reference
            )
        return
    _reserve(session, location_id, wanted, today=today, now=now, reservation_id=reservation_id, reference=reference)


def _reserve(
    session: Session,
    location_id: int,
    wanted: dict[int, int],
    *,
    today: date,
    now: datetime,
    reservation_id: int,
    reference: str,
) -> None:
    postgresql = session.get_bind().dialect.name == "postgresql"
    moves: list[Move] = []
    emptied = False  # a batch's last units to sell were reserved: the catalog's availability changes
    for sku_id, units in sorted(wanted.items()):
        keys = {"b_location_id": location_id, "b_sku_id": sku_id, "units": units}
        if postgresql:
            extra = {"today": today, "now": now, "reservation_id": reservation_id, "reference": reference}
            levels, first_batch, left = session.execute(_RESERVE_UNITS, {**keys, **extra}).one()
            if first_batch is not None:
                emptied |= left == 0
                continue
        else:
            levels = session.execute(_RESERVE_LEVEL, keys).rowcount
            first = session.execute(_RESERVE_FIRST_BATCH, {**keys, "today": today}).first() if levels else None
            if first is not None:
                emptied |= first.left == 0
                moves.append(Move(MovementKind.RESERVE, sku_id, first.batch_id, first.best_before, reserved=units))
                continue
        if not levels:
            available = sum(a for _, _, a in sellable_batches(session, location_id, sku_id, today))
            raise InsufficientStock(sku_id=sku_id, location_id=location_id, requested=units, available=available)
        try:
            picked = pick_fefo(session, location_id, sku_id, units, today)
        except InsufficientStock:
            session.execute(_UNRESERVE_LEVEL, keys)  # the units the level took: back (its lock is held)
            raise
        for batch_id, best_before, taken in picked:
            move = Move(MovementKind.RESERVE, sku_id, batch_id, best_before, reserved=taken)
            emptied |= _change(session, _CHANGE_BATCH_LEVEL, location_id, batch_id, 0, taken, move)
            moves.append(move)
    if emptied:
        catalog_version.mark_changed(session)
    if moves:
        _append(session, location_id, moves, now=now, reservation_id=reservation_id, reference=reference)


def apply(
    session: Session,
    location_id: int,
    moves: list[Move],
    *,
    now: datetime,
    actor_id: int | None = None,
    counter_event_id: int | None = None,
    transfer_id: int | None = None,
    reservation_id: int | None = None,
    reason: str | None = None,
    reference: str | None = None,
) -> None:
    """Change the balances by `moves` and append them to the ledger. The caller has locked the levels
    of every SKU in `moves`. Raises InsufficientStock, changing nothing it can keep, if a balance
    would go below what is reserved or below zero (the caller's transaction must then roll back)."""
    moves = [m for m in moves if m.on_hand or m.reserved]
    if not moves:
        return
    inbound = {(m.batch_id, m.sku_id, m.best_before) for m in moves if m.on_hand > 0 or m.reserved > 0}
    insert_ignore(
        session,
        BATCH_LEVELS,
        [
            {"location_id": location_id, "batch_id": b, "sku_id": s, "best_before": bb, "on_hand": 0, "reserved": 0}
            for b, s, bb in sorted(inbound)
        ],
        ["location_id", "batch_id"],
    )
    per_sku: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    flipped = False
    for move in moves:
        flipped |= _change(session, _CHANGE_BATCH_LEVEL, location_id, move.batch_id, move.on_hand, move.reserved, move)
        per_sku[move.sku_id][0] += move.on_hand
        per_sku[move.sku_id][1] += move.reserved
    for sku_id, (on_hand, reserved) in sorted(per_sku.items()):
        _change(session, _CHANGE_LEVEL, location_id, sku_id, on_hand, reserved, moves[0])
    if flipped:
        catalog_version.mark_changed(session)
    _append(
        session,
        location_id,
        moves,
        now=now,
        actor_id=actor_id,
        counter_event_id=counter_event_id,
        transfer_id=transfer_id,
        reservation_id=reservation_id,
        reason=reason,
        reference=reference,
    )


def _append(
    session: Session,
    location_id: int,
    moves: list[Move],
    *,
    now: datetime,
    actor_id: int | None = None,
    counter_event_id: int | None = None,
    transfer_id: int | None = None,
    reservation_id: int | None = None,
    reason: str | None = None,
    reference: str | None = None,
) -> None:
    session.execute(
        _APPEND_MOVEMENTS,
        [
            {
                "kind": move.kind.value,
                "location_id": location_id,
                "sku_id": move.sku_id,
                "batch_id": move.batch_id,
                "on_hand_delta": move.on_hand,
                "reserved_delta": move.reserved,
                "created_at": now,
                "actor_id": actor_id,
                "counter_event_id": counter_event_id,
                "transfer_id": transfer_id,
                "reservation_id": reservation_id,
                "reason": reason,
                "reference": reference,
            }
            for move in moves
        ],
    )


def _change(
    session: Session, statement: sa.Update, location_id: int, key: int, d_on_hand: int, d_reserved: int, move: Move
) -> bool:
    """Apply one conditional change; for a batch's level, whether its units to sell flipped between
    none and some (what the public catalog's availability counts)."""
    if not (d_on_hand or d_reserved):
        return False
    result = session.execute(
        statement,
        {"b_location_id": location_id, "key": key, "d_on_hand": d_on_hand, "d_reserved": d_reserved},
    )
    if statement is _CHANGE_BATCH_LEVEL:
        row = result.first()
        if row is None:
            raise InsufficientStock(sku_id=move.sku_id, location_id=location_id, kind=move.kind.value)
        available = row.on_hand - row.reserved
        return row.quarantined_at is None and (available > 0) != (available - (d_on_hand - d_reserved) > 0)
    if result.rowcount != 1:
        raise InsufficientStock(sku_id=move.sku_id, location_id=location_id, kind=move.kind.value)
    return False


# --- the check: rebuild every balance from the ledger ------------------------------------------


@dataclass(frozen=True)
class Drift:
    balance: str  # "stock_level", "batch_level" or "transfer"
    key: dict
    cached: dict
    ledger: dict

    def __str__(self) -> str:
        key = ", ".join(f"{k}={v}" for k, v in self.key.items())
        return f"{self.balance} {key}: cached {self.cached} but the ledger says {self.ledger}"


def _compare(name: str, key_names: tuple[str, ...], cached: dict, ledger: dict) -> list[Drift]:
    drifts = []
    for key in sorted(set(cached) | set(ledger)):
        have, want = cached.get(key, (0, 0)), ledger.get(key, (0, 0))
        if tuple(have) != tuple(want):
            drifts.append(
                Drift(
                    name,
                    dict(zip(key_names, key, strict=True)),
                    {"on_hand": have[0], "reserved": have[1]},
                    {"on_hand": want[0], "reserved": want[1]},
                )
            )
    return drifts


def check_balances(session: Session) -> list[Drift]:
    """Rebuild every cached balance from the ledger and return where they differ; also check that
    each transfer's lines match its transfer_out and transfer_in movements."""
    m = MOVEMENTS.c
    drifts: list[Drift] = []
    for name, table, key_col in (("stock_level", LEVELS, "sku_id"), ("batch_level", BATCH_LEVELS, "batch_id")):
        ledger = {
            (loc, k): (on_hand, reserved)
            for loc, k, on_hand, reserved in session.execute(
                sa.select(
                    m.location_id, m[key_col], sa.func.sum(m.on_hand_delta), sa.func.sum(m.reserved_delta)
                ).group_by(m.location_id, m[key_col])
            )
        }
        cached = {
            (loc, k): (on_hand, reserved)
            for loc, k, on_hand, reserved in session.execute(
                sa.select(table.c.location_id, table.c[key_col], table.c.on_hand, table.c.reserved)
            )
        }
        drifts += _compare(name, ("location_id", key_col), cached, ledger)

    lines = {
        transfer_id: (sent, received)
        for transfer_id, sent, received in session.execute(
            sa.select(
                TransferLine.transfer_id,
                sa.func.sum(TransferLine.quantity_sent),
                sa.func.sum(sa.func.coalesce(TransferLine.quantity_received, 0)),
            ).group_by(TransferLine.transfer_id)
        )
    }
    moved = {
        transfer_id: (out, inbound)
        for transfer_id, out, inbound in session.execute(
            sa.select(
                m.transfer_id,
                -sa.func.sum(sa.case((m.kind == MovementKind.TRANSFER_OUT.value, m.on_hand_delta), else_=0)),
                sa.func.sum(sa.case((m.kind == MovementKind.TRANSFER_IN.value, m.on_hand_delta), else_=0)),
            )
            .where(m.transfer_id.is_not(None))
            .group_by(m.transfer_id)
        )
    }
    received = set(session.scalars(sa.select(Transfer.id).where(Transfer.status == TransferStatus.RECEIVED)))
    for transfer_id in sorted(set(lines) | set(moved)):
        sent, got = lines.get(transfer_id, (0, 0))
        out, inbound = moved.get(transfer_id, (0, 0))
        if (sent, got if transfer_id in received else 0) != (out, inbound):
            drifts.append(
                Drift(
                    "transfer",
                    {"transfer_id": transfer_id},
                    {"sent": sent, "received": got},
                    {"transfer_out": out, "transfer_in": inbound},
                )
            )
    return drifts

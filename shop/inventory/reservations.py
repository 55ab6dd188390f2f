"""Reservations for orders: units set aside at a location (FEFO by batch), then released, or
committed as a sale, and sold units returned into the batches they left."""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from search import outbox
from shop.errors import NotFound
from shop.inventory import ledger
from shop.inventory.errors import (
    ReferenceReused,
    ReservationNotSold,
    ReservedBatchExpired,
    ReservedBatchQuarantined,
    ReturnExceedsSale,
)
from shop.inventory.ledger import BATCH_LEVELS, Move
from shop.inventory.locations import require_active
from shop.inventory.models import (
    Batch,
    Location,
    Movement,
    MovementKind,
    Reservation,
    ReservationStatus,
    china_today,
)
from shop.inventory.movements import known_skus, merge_lines, require_products_in_force


def reserve_stock(
    session: Session,
    *,
    location_id: int,
    reference: str,
    lines: list[dict],
    now: datetime,
    priced: bool = False,
) -> int:
    """Set units aside at a location for an order, FEFO by batch, only of products in force; the
    reservation's id. The reference (e.g. "order:123") makes it idempotent: the same reference and
    lines answer the existing reservation; other lines under a used reference are refused. `priced`:
    the caller has just checked in its transaction that each SKU is known, active and in force (a
    checkout's quote)."""
    wanted = merge_lines(lines, "sku_id")
    reservation_id = _claim_reference(session, reference, location_id, now, sorted(wanted))
    if reservation_id is None:
        existing = session.scalar(sa.select(Reservation).where(Reservation.reference == reference))
        if existing is not None:
            return _same_reservation(session, existing, location_id, wanted)
        location = session.get(Location, location_id)
        if location is None:
            raise NotFound("No such location.")
        require_active(location)
        raise NotFound("No such location.")  # pragma: no cover - the claim failed for a reason now gone
    if not priced:
        known_skus(session, list(wanted))
        require_products_in_force(session, list(wanted), now)
    ledger.reserve(
        session,
        location_id,
        wanted,
        today=china_today(now),
        now=now,
        reservation_id=reservation_id,
        reference=reference,
    )
    return reservation_id


def _claim_statement(insert) -> sa.Insert:
    reservations, locations = Reservation.__table__, Location.__table__
    open_location = sa.select(
        sa.bindparam("reference", type_=reservations.c.reference.type),
        locations.c.id,
        sa.literal(ReservationStatus.HELD, reservations.c.status.type),
        sa.bindparam("now", type_=reservations.c.created_at.type),
    ).where(locations.c.id == sa.bindparam("location_id"), locations.c.is_active)
    return (
        insert(reservations)
        .from_select(["reference", "location_id", "status", "created_at"], open_location)
        .on_conflict_do_nothing(index_elements=["reference"])
        .returning(reservations.c.id)
    )


@functools.cache  # built once per dialect, at first use (importing search.outbox leads to this module)
def _claims(dialect: str) -> sa.Insert:
    """On PostgreSQL the claim also writes the search outbox rows of the products whose stock the
    reservation moves (ledger.reserve moves it by a database function, which no flush sees); SQLite
    writes them before the commit, from the ledger rows."""
    if dialect == "postgresql":
        return outbox.with_moved_rows(_claim_statement(postgresql.insert))
    return _claim_statement(sqlite.insert)


def _claim_reference(
    session: Session, reference: str, location_id: int, now: datetime, sku_ids: list[int]
) -> int | None:
    """Insert the reservation if its location is active and the reference unused, in one statement;
    its id, or None when either is not so."""
    dialect = session.get_bind().dialect.name
    params = {"reference": reference, "location_id": location_id, "now": now, "sku_ids": sku_ids}
    row = session.execute(_claims(dialect), params).first()
    if row is None:
        return None
    if dialect == "postgresql":
        outbox.note_written(session, row.outbox_rows)
    return row.id


def _same_reservation(session: Session, reservation: Reservation, location_id: int, wanted: dict) -> int:
    held = defaultdict(int)
    for move in reserved_lines(session, reservation.id):
        held[move.sku_id] += move.reserved
    if reservation.location_id != location_id or dict(held) != wanted:
        raise ReferenceReused("This reference is used by another reservation.", reference=reservation.reference)
    return reservation.id


def reserved_lines(session: Session, reservation_id: int) -> list[Move]:
    """The batches and units a reservation holds: its reserve movements."""
    rows = session.execute(
        sa.select(Movement.sku_id, Movement.batch_id, Batch.best_before, sa.func.sum(Movement.reserved_delta))
        .join(Batch, Batch.id == Movement.batch_id)
        .where(Movement.reservation_id == reservation_id, Movement.kind == MovementKind.RESERVE)
        .group_by(Movement.sku_id, Movement.batch_id, Batch.best_before)
        .order_by(Movement.batch_id)
    ).all()
    return [Move(MovementKind.RESERVE, sku, batch, bb, reserved=units) for sku, batch, bb, units in rows]


def _close_reservation(session: Session, reference: str, target: ReservationStatus, now: datetime):
    reservation = session.scalar(
        sa.select(Reservation)
        .where(Reservation.reference == reference)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if reservation is None:
        raise NotFound("No such reservation.")
    reservation.transition(target, at=now)
    session.flush()
    held = reserved_lines(session, reservation.id)
    ledger.lock_levels(session, reservation.location_id, [m.sku_id for m in held])
    return reservation, held


def release_reservation(session: Session, *, reference: str, now: datetime) -> Reservation:
    """Give reserved units back to available stock (an order cancelled or expired)."""
    reservation, held = _close_reservation(session, reference, ReservationStatus.RELEASED, now)
    moves = [Move(MovementKind.RELEASE, m.sku_id, m.batch_id, m.best_before, reserved=-m.reserved) for m in held]
    ledger.apply(session, reservation.location_id, moves, now=now, reservation_id=reservation.id, reference=reference)
    return reservation


def commit_reservation(session: Session, *, reference: str, now: datetime) -> Reservation:
    """The reserved units are sold (picked up or shipped): they leave on hand and reserved together.
    Refused if a reserved batch has expired meanwhile."""
    reservation, held = _close_reservation(session, reference, ReservationStatus.COMMITTED, now)
    today = china_today(now)
    expired = sorted({m.batch_id for m in held if m.best_before < today})
    if expired:
        raise ReservedBatchExpired("A reserved batch has expired.", batch_ids=expired)
    quarantined = sorted(
        session.scalars(
            sa.select(BATCH_LEVELS.c.batch_id).where(
                BATCH_LEVELS.c.location_id == reservation.location_id,
                BATCH_LEVELS.c.batch_id.in_([m.batch_id for m in held]),
                BATCH_LEVELS.c.quarantined_at.is_not(None),
            )
        )
    )
    if quarantined:
        raise ReservedBatchQuarantined(batch_ids=quarantined)
    moves = [
        Move(MovementKind.SALE, m.sku_id, m.batch_id, m.best_before, on_hand=-m.reserved, reserved=-m.reserved)
        for m in held
    ]
    ledger.apply(session, reservation.location_id, moves, now=now, reservation_id=reservation.id, reference=reference)
    return reservation


def return_reserved(session: Session, *, reference: str, lines: dict[int, int], now: datetime, reason: str) -> None:
    """Units a committed reservation sold come back to its location (a refund), into the batches they
    left, latest best-before first; never more units of a SKU than the reservation took."""
    reservation = session.scalar(sa.select(Reservation).where(Reservation.reference == reference))
    if reservation is None or reservation.status != ReservationStatus.COMMITTED:
        raise ReservationNotSold("Only sold units can come back.", reference=reference)
    ledger.lock_levels(session, reservation.location_id, sorted(lines))
    returned = dict(
        session.execute(
            sa.select(Movement.batch_id, sa.func.sum(Movement.on_hand_delta))
            .where(Movement.reservation_id == reservation.id, Movement.kind == MovementKind.RETURN)
            .group_by(Movement.batch_id)
        ).all()
    )
    moves = []
    for sku_id, quantity in sorted(lines.items()):
        left = quantity
        taken = [m for m in reserved_lines(session, reservation.id) if m.sku_id == sku_id]
        for move in sorted(taken, key=lambda m: (m.best_before, m.batch_id), reverse=True):
            room = move.reserved - returned.get(move.batch_id, 0)
            units = min(room, left)
            if units > 0:
                moves.append(Move(MovementKind.RETURN, sku_id, move.batch_id, move.best_before, on_hand=units))
                left -= units
        if left:
            raise ReturnExceedsSale("More units than the reservation sold.", sku_id=sku_id)
    ledger.apply(
        session,
        reservation.location_id,
        moves,
        now=now,
        reservation_id=reservation.id,
        reference=reference,
        reason=reason,
    )

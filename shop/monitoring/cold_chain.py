"""The cold chain: SKUs' storage classes and ranges, smart counters' temperatures, incidents and
quarantines.

A counter's heartbeat carries its temperature. While a reading is outside the range of chilled or
frozen stock the counter holds, an excursion row remembers since when; a reading back in range ends
it. An excursion older than `COLD_CHAIN_EXCURSION_MINUTES` (seen at a heartbeat, or by the worker
when heartbeats stop) opens an incident: the batches of the SKUs out of range at that counter are
quarantined there. Quarantine uses the freeze's mechanism (shop.supervision.inspections): the SKUs'
stock levels at the counter are locked, as every stock change locks them, and the batch balance is
marked, so FEFO picking (checkout's reservations, a counter's sales session, staffed sales) and
availability leave it out, and a checkout running at the same moment either finished before or sees
it. Reserved units of a quarantined batch cannot be handed over either. An operator of the counter
(or of the hall above) inspects each batch and releases it or writes it off (its value recorded)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from search import outbox
from shop.auth.actor import Actor
from shop.catalog import version as catalog_version
from shop.catalog.models import Product, Sku
from shop.db import insert_ignore
from shop.errors import InvalidInput, NotFound
from shop.inventory import ledger, locations
from shop.inventory.ledger import BATCH_LEVELS, Move
from shop.inventory.models import Batch, Location, MovementKind
from shop.monitoring.models import (
    ColdChainIncident,
    CounterExcursion,
    IncidentStatus,
    Quarantine,
    QuarantineStatus,
    SkuStorage,
    StorageClass,
)
from shop.notifications import events
from shop.paging import paginate
from shop.suppliers.service import require_member

COLD = (StorageClass.CHILLED, StorageClass.FROZEN)
# Ranges a class gets when none is given, tenths of a degree Celsius.
DEFAULT_RANGES = {StorageClass.AMBIENT: (-100, 350), StorageClass.CHILLED: (0, 40), StorageClass.FROZEN: (-300, -180)}


def decicelsius(celsius: float) -> int:
    return round(celsius * 10)


# --- storage classes ----------------------------------------------------------------------------------


def get_storage(session: Session, sku_id: int) -> dict:
    sku = session.get(Sku, sku_id)
    if sku is None:
        raise NotFound("No such SKU.")
    row = session.get(SkuStorage, sku_id)
    if row is None:
        low, high = DEFAULT_RANGES[StorageClass.AMBIENT]
        return {
            "sku_id": sku_id,
            "storage_class": StorageClass.AMBIENT,
            "min_celsius": low / 10,
            "max_celsius": high / 10,
        }
    return {
        "sku_id": sku_id,
        "storage_class": row.storage_class,
        "min_celsius": row.min_decicelsius / 10,
        "max_celsius": row.max_decicelsius / 10,
    }


def set_storage(session: Session, actor: Actor, sku_id: int, *, data: dict, now: datetime) -> dict:
    """The supplier's member (or an admin) says how the SKU is kept."""
    sku = session.get(Sku, sku_id)
    if sku is None:
        raise NotFound("No such SKU.")
    require_member(actor, session.scalar(sa.select(Product.supplier_id).where(Product.id == sku.product_id)))
    storage_class = data["storage_class"]
    low, high = DEFAULT_RANGES[storage_class]
    if data.get("min_celsius") is not None:
        low = decicelsius(data["min_celsius"])
    if data.get("max_celsius") is not None:
        high = decicelsius(data["max_celsius"])
    if low > high:
        raise InvalidInput("The range is upside down.", fields={"max_celsius": ["Below min_celsius."]})
    row = session.get(SkuStorage, sku_id)
    if row is None:
        row = SkuStorage(sku_id=sku_id)
        session.add(row)
    row.storage_class, row.min_decicelsius, row.max_decicelsius = storage_class, low, high
    row.updated_by_id, row.updated_at = actor.user_id, now
    session.flush()
    return get_storage(session, sku_id)


# --- temperatures, excursions, incidents ------------------------------------------------------------


def _out_of_range(session: Session, counter_id: int, reading: int) -> list[int]:
    """Chilled or frozen SKUs with unquarantined units at the counter whose range misses the reading."""
    b = BATCH_LEVELS
    return sorted(
        session.scalars(
            sa.select(SkuStorage.sku_id)
            .join(b, b.c.sku_id == SkuStorage.sku_id)
            .where(
                b.c.location_id == counter_id,
                b.c.on_hand > 0,
                b.c.quarantined_at.is_(None),
                SkuStorage.storage_class.in_(COLD),
                sa.or_(SkuStorage.min_decicelsius > reading, SkuStorage.max_decicelsius < reading),
            )
            .distinct()
        )
    )


def observe_temperature(
    session: Session, counter_id: int, celsius: float | None, *, now: datetime, excursion_minutes: int
) -> ColdChainIncident | None:
    """A counter's heartbeat reported `celsius`: start, keep or end its excursion; open an incident
    (and quarantine) once the excursion has lasted long enough. Returns the incident opened, if any."""
    if celsius is None:
        return None
    reading = decicelsius(celsius)
    out = _out_of_range(session, counter_id, reading)
    if not out:
        session.execute(sa.delete(CounterExcursion).where(CounterExcursion.location_id == counter_id))
        return None
    insert_ignore(
        session,
        CounterExcursion,
        [{"location_id": counter_id, "out_since": now, "last_decicelsius": reading, "last_seen_at": now}],
        ["location_id"],
    )
    excursion = session.scalar(
        sa.select(CounterExcursion)
        .where(CounterExcursion.location_id == counter_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    excursion.last_decicelsius, excursion.last_seen_at = reading, max(now, excursion.last_seen_at)
    if excursion.incident_id is None and now - excursion.out_since >= timedelta(minutes=excursion_minutes):
        return _open_incident(session, excursion, out, now)
    session.flush()
    return None


def _lock(session: Session, location_id: int, sku_ids: list[int]) -> None:
    """The SKUs' stock levels at the location, as every stock change locks them. Nothing else is
    locked: the products' search documents follow through the outbox's drain after the commit (a
    checkout holds its products before the levels, a counter's sale the levels before the products,
    so a quarantine that took both would deadlock with one of them)."""
    ledger.lock_levels(session, location_id, sku_ids)


def _open_incident(session: Session, excursion: CounterExcursion, sku_ids: list[int], now: datetime):
    counter_id = excursion.location_id
    incident = ColdChainIncident(
        location_id=counter_id,
        status=IncidentStatus.OPEN,
        out_since=excursion.out_since,
        opened_at=now,
        decicelsius=excursion.last_decicelsius,
    )
    session.add(incident)
    session.flush()
    excursion.incident_id = incident.id
    _lock(session, counter_id, sku_ids)
    b = BATCH_LEVELS
    held = session.execute(
        sa.select(b.c.batch_id, b.c.sku_id, b.c.on_hand).where(
            b.c.location_id == counter_id, b.c.sku_id.in_(sku_ids), b.c.on_hand > 0, b.c.quarantined_at.is_(None)
        )
    ).all()
    if held:
        session.execute(
            b.update()
            .where(b.c.location_id == counter_id, b.c.batch_id.in_([row.batch_id for row in held]))
            .values(quarantined_at=now)
        )
        catalog_version.mark_changed(session)  # the batches leave the public catalog's availability
        session.add_all(
            Quarantine(incident_id=incident.id, location_id=counter_id, batch_id=batch, sku_id=sku, units=units)
            for batch, sku, units in held
        )
    session.flush()
    _reindex(session, sku_ids)
    events.cold_chain_alert(session, incident_id=incident.id, location_id=counter_id, batches=len(held), now=now)
    return incident


def _reindex(session: Session, sku_ids) -> None:
    outbox.enqueue_products(
        session,
        session.scalars(sa.select(Sku.product_id).where(Sku.id.in_(sorted(set(sku_ids))))).all(),
        rebuild_before_commit=False,
    )


def raise_due(session: Session, *, now: datetime, excursion_minutes: int) -> int:
    """The worker: excursions that lasted long enough with no heartbeat since to open their incident."""
    opened = 0
    cutoff = now - timedelta(minutes=excursion_minutes)
    due = session.scalars(
        sa.select(CounterExcursion)
        .where(CounterExcursion.incident_id.is_(None), CounterExcursion.out_since <= cutoff)
        .order_by(CounterExcursion.location_id)
        .with_for_update()
    ).all()
    for excursion in due:
        out = _out_of_range(session, excursion.location_id, excursion.last_decicelsius)
        if out:
            _open_incident(session, excursion, out, now)
            opened += 1
    return opened


# --- operators: the list, inspection ------------------------------------------------------------------


def _scoped(actor: Actor, stmt: sa.Select) -> sa.Select:
    locations.require_operator(actor)
    clause = locations.scope_clause(actor)
    return stmt if clause is None else stmt.where(clause)


def list_incidents(session: Session, actor: Actor, *, status: IncidentStatus | None, page: int, size: int):
    """Incidents at the counters the operator runs (an operator of a hall sees its counters')."""
    stmt = _scoped(
        actor,
        sa.select(ColdChainIncident)
        .options(selectinload(ColdChainIncident.quarantines))
        .join(Location, Location.id == ColdChainIncident.location_id),
    )
    if status is not None:
        stmt = stmt.where(ColdChainIncident.status == status)
    return paginate(session, stmt, order_by=ColdChainIncident.id.desc(), page=page, size=size)


def get_incident(session: Session, actor: Actor, incident_id: int) -> ColdChainIncident:
    stmt = _scoped(
        actor,
        sa.select(ColdChainIncident)
        .options(selectinload(ColdChainIncident.quarantines))
        .join(Location, Location.id == ColdChainIncident.location_id)
        .where(ColdChainIncident.id == incident_id),
    )
    incident = session.scalar(stmt)
    if incident is None:
        raise NotFound("No such incident.")
    return incident


def _held(session: Session, actor: Actor, quarantine_id: int) -> Quarantine:
    quarantine = session.scalar(
        sa.select(Quarantine)
        .where(Quarantine.id == quarantine_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if quarantine is None:
        raise NotFound("No such quarantine.")
    try:
        locations.get_location(session, actor, quarantine.location_id)
    except NotFound:
        raise NotFound("No such quarantine.") from None
    return quarantine


def _settle(session: Session, quarantine: Quarantine, now: datetime) -> None:
    incident = session.scalar(
        sa.select(ColdChainIncident)
        .where(ColdChainIncident.id == quarantine.incident_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    pending = session.scalar(
        sa.select(sa.func.count()).where(
            Quarantine.incident_id == incident.id, Quarantine.status == QuarantineStatus.HELD
        )
    )
    if not pending and incident.status == IncidentStatus.OPEN:
        incident.transition(IncidentStatus.RESOLVED, at=now)
    session.flush()
    _reindex(session, [quarantine.sku_id])


def release(session: Session, actor: Actor, quarantine_id: int, *, note: str, now: datetime) -> Quarantine:
    """Inspected and fit for sale: the batch is sellable at the counter again."""
    quarantine = _held(session, actor, quarantine_id)
    quarantine.transition(QuarantineStatus.RELEASED, actor_id=actor.user_id, at=now, reason=note)
    _lock(session, quarantine.location_id, [quarantine.sku_id])
    b = BATCH_LEVELS
    session.execute(
        b.update()
        .where(b.c.location_id == quarantine.location_id, b.c.batch_id == quarantine.batch_id)
        .values(quarantined_at=None)
    )
    catalog_version.mark_changed(session)  # the batch counts in the public catalog's availability again
    _settle(session, quarantine, now)
    return quarantine


def write_off(session: Session, actor: Actor, quarantine_id: int, *, note: str, now: datetime) -> Quarantine:
    """Spoiled: the batch's unreserved units at the counter leave the books (a write-off movement) and
    their value is recorded. The batch stays quarantined there: units still reserved by orders are
    never handed over, and come back unsellable if those orders are cancelled."""
    quarantine = _held(session, actor, quarantine_id)
    quarantine.transition(QuarantineStatus.WRITTEN_OFF, actor_id=actor.user_id, at=now, reason=note)
    _lock(session, quarantine.location_id, [quarantine.sku_id])
    b = BATCH_LEVELS
    on_hand, reserved, best_before = session.execute(
        sa.select(b.c.on_hand, b.c.reserved, b.c.best_before).where(
            b.c.location_id == quarantine.location_id, b.c.batch_id == quarantine.batch_id
        )
    ).one()
    units = on_hand - reserved
    price = session.scalar(sa.select(Sku.price_fen).where(Sku.id == quarantine.sku_id))
    ledger.apply(
        session,
        quarantine.location_id,
        [Move(MovementKind.WRITE_OFF, quarantine.sku_id, quarantine.batch_id, best_before, on_hand=-units)],
        now=now,
        actor_id=actor.user_id,
        reason=f"cold chain incident {quarantine.incident_id}: {note}"[:300],
        reference=f"quarantine:{quarantine.id}",
    )
    quarantine.written_off_units, quarantine.written_off_fen = units, units * price
    _settle(session, quarantine, now)
    return quarantine


def trace_codes(session: Session, quarantines: list[Quarantine]) -> dict[int, str]:
    """The trace code of each quarantined batch, by batch id, for the operator to find the packages."""
    batch_ids = sorted({q.batch_id for q in quarantines})
    if not batch_ids:
        return {}
    return dict(session.execute(sa.select(Batch.id, Batch.trace_code).where(Batch.id.in_(batch_ids))).all())

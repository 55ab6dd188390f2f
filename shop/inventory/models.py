"""Locations (centre → halls → counters; zones), batches, cached stock balances, the movements ledger,
transfers, reservations and the smart counters' keys and events.

Balances (`StockLevel` per location and SKU, `BatchLevel` per location and batch) are caches of the
ledger (`Movement`). Only `shop.inventory.ledger` changes them, always together with the movement
rows, in the same transaction."""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship

from shop.catalog.models import Sku
from shop.db import Base, enum_column, utcnow_column_default
from shop.reference.models import District
from shop.transitions import StateMachine

# Best-before dates are calendar dates in China (no daylight saving since 1991): a batch may be
# sold through the last day printed on it, local time.
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def china_today(now: datetime) -> date:
    return now.astimezone(CHINA).date()


class LocationKind(enum.StrEnum):
    CENTRE = "centre"  # 中心: the one operations centre at the root
    HALL = "hall"  # 专馆
    COUNTER = "counter"  # 专柜, often an unmanned smart cabinet in an office, school or hospital
    ZONE = "zone"  # 专区 in a store, under a hall or the centre


# Which kinds a location of each kind may hang under.
PARENT_KINDS: dict[LocationKind, set[LocationKind]] = {
    LocationKind.CENTRE: set(),
    LocationKind.HALL: {LocationKind.CENTRE},
    LocationKind.COUNTER: {LocationKind.HALL},
    LocationKind.ZONE: {LocationKind.HALL, LocationKind.CENTRE},
}


class Location(Base):
    __tablename__ = "locations"
    __table_args__ = (
        sa.CheckConstraint("(kind = 'centre') = (parent_id IS NULL)", name="root_is_centre"),
        sa.CheckConstraint("host_institution IS NULL OR kind = 'counter'", name="host_only_for_counters"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[LocationKind] = mapped_column(enum_column(LocationKind, "location_kind"))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("locations.id"), index=True)
    # Materialised path of ids from the centre, "/1/4/9/": a hall operator's scope is a prefix.
    path: Mapped[str] = mapped_column(sa.String(255), index=True, default="")
    name: Mapped[str] = mapped_column(sa.String(200))
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    address: Mapped[str] = mapped_column(sa.String(300))
    host_institution: Mapped[str | None] = mapped_column(sa.String(200))
    # {"mon": [{"opens": "08:30", "closes": "17:30"}], ..., "note": "..."}; a missing day is closed.
    opening_hours: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)

    district: Mapped[District] = relationship()
    device: Mapped[CounterDevice | None] = relationship(back_populates="location", uselist=False)

    def within(self, scope_ids: set[int]) -> bool:
        """Whether this location is one of `scope_ids` or lies under one of them."""
        return any(f"/{scope_id}/" in self.path for scope_id in scope_ids)


class CounterDevice(Base):
    """The smart cabinet of a counter: its API key (only the sha256 is kept) and its heartbeat."""

    __tablename__ = "counter_devices"

    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"), primary_key=True)
    key_sha256: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    key_prefix: Mapped[str | None] = mapped_column(sa.String(16))
    key_issued_at: Mapped[datetime | None]
    key_issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(index=True)
    last_heartbeat: Mapped[dict | None] = mapped_column(sa.JSON)

    location: Mapped[Location] = relationship(back_populates="device")


class Batch(Base):
    """A lot of one SKU from its supplier, with the trace code printed on its packages."""

    __tablename__ = "stock_batches"
    __table_args__ = (
        sa.CheckConstraint("produced_on <= best_before", name="dates_in_order"),
        # "not frozen" reads the few frozen batches through this index, not every batch
        sa.Index("ix_stock_batches_frozen_at", "frozen_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"), index=True)
    trace_code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    produced_on: Mapped[date] = mapped_column(sa.Date)  # harvest or production date
    best_before: Mapped[date] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)
    # Set when the batch failed a spot check: unsellable everywhere, out of picking and availability.
    frozen_at: Mapped[datetime | None]

    sku: Mapped[Sku] = relationship()

    def expired(self, now: datetime) -> bool:
        return self.best_before < china_today(now)


def not_frozen(batch_id_column) -> sa.ColumnElement[bool]:
    """The batch in `batch_id_column` may be sold: it has not been frozen by a failed spot check.
    (A probe of the batch by its key, correlated: not a scan of every batch for the frozen ones,
    which no index serves. On an alias, so it never correlates to a batch of an enclosing query.)"""
    frozen = aliased(Batch, name="frozen_batch")
    return ~sa.exists().where(frozen.id == batch_id_column, frozen.frozen_at.is_not(None))


def sellable_level(levels: sa.Table) -> sa.ColumnElement[bool]:
    """The batch balance of `levels` (the batch_levels table or an alias) may be sold: the batch is not
    frozen everywhere by a failed spot check, nor quarantined at this location (cold chain)."""
    return sa.and_(levels.c.quarantined_at.is_(None), not_frozen(levels.c.batch_id))


def sellable_units(levels: sa.Table, today) -> sa.ColumnElement[bool]:
    """The batch balance of `levels` has units to sell on `today` (a date, Asia/Shanghai, or a
    parameter): some on hand not reserved, of a batch not expired (sold through its best-before day),
    not frozen and not quarantined here. What FEFO picking takes from, and what availability counts."""
    return sa.and_(levels.c.best_before >= today, levels.c.on_hand > levels.c.reserved, sellable_level(levels))


class StockLevel(Base):
    """Cached balance of one SKU at one location, and its low-stock threshold. Every movement of the
    SKU at the location locks this row first, so it is also the point where they queue."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        sa.CheckConstraint("reserved >= 0", name="reserved_non_negative"),
        sa.CheckConstraint("on_hand >= reserved", name="reserved_within_on_hand"),
        sa.CheckConstraint("low_stock_threshold >= 0", name="threshold_non_negative"),
    )

    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"), primary_key=True, index=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    low_stock_threshold: Mapped[int] = mapped_column(default=0)

    sku: Mapped[Sku] = relationship()


class BatchLevel(Base):
    """Cached balance of one batch at one location (FEFO picks from these)."""

    __tablename__ = "batch_levels"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["location_id", "sku_id"],
            ["stock_levels.location_id", "stock_levels.sku_id"],
            name="fk_batch_levels_stock_levels",
        ),
        sa.CheckConstraint("reserved >= 0", name="reserved_non_negative"),
        sa.CheckConstraint("on_hand >= reserved", name="reserved_within_on_hand"),
        sa.Index("ix_batch_levels_fefo", "location_id", "sku_id", "best_before"),
        sa.Index("ix_batch_levels_sku_best_before", "sku_id", "best_before"),
        # a location's expired and expiring batches: a range of dates, not every batch there
        sa.Index("ix_batch_levels_location_id_best_before", "location_id", "best_before"),
    )

    location_id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_batches.id"), primary_key=True, index=True)
    sku_id: Mapped[int]
    best_before: Mapped[date] = mapped_column(sa.Date)  # copied from the batch for the FEFO index
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    # Set while the batch is quarantined here (a cold-chain incident): unsellable at this location only.
    quarantined_at: Mapped[datetime | None]

    batch: Mapped[Batch] = relationship()


class MovementKind(enum.StrEnum):
    RECEIVE = "receive"  # a supplier's delivery
    TRANSFER_OUT = "transfer_out"  # dispatched; in transit until received
    TRANSFER_IN = "transfer_in"  # received at the destination (the shortfall stays on the transfer line)
    SALE = "sale"
    RETURN = "return"
    ADJUSTMENT = "adjustment"  # after a count, with a reason
    WRITE_OFF = "write_off"
    RESERVE = "reserve"
    RELEASE = "release"


class Movement(Base):
    """The stock ledger, append-only (the database refuses UPDATE and DELETE on it)."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        sa.CheckConstraint("on_hand_delta <> 0 OR reserved_delta <> 0", name="moves_something"),
        sa.Index("ix_stock_movements_location_at", "location_id", "created_at"),
        sa.Index("ix_stock_movements_velocity", "location_id", "sku_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MovementKind] = mapped_column(enum_column(MovementKind, "movement_kind"))
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"))
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"))
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_batches.id"), index=True)
    on_hand_delta: Mapped[int]
    reserved_delta: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    counter_event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counter_events.id"), index=True)
    transfer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stock_transfers.id"), index=True)
    reservation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stock_reservations.id"), index=True)
    reason: Mapped[str | None] = mapped_column(sa.String(300))
    reference: Mapped[str | None] = mapped_column(sa.String(100))

    sku: Mapped[Sku] = relationship()
    batch: Mapped[Batch] = relationship()


class TransferStatus(enum.StrEnum):
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"


TRANSFER_TRANSITIONS = {TransferStatus.IN_TRANSIT: {TransferStatus.RECEIVED}, TransferStatus.RECEIVED: set()}


class Transfer(StateMachine, Base):
    __tablename__ = "stock_transfers"
    __table_args__ = (sa.CheckConstraint("from_location_id <> to_location_id", name="between_two_locations"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    from_location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"), index=True)
    to_location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"), index=True)
    status: Mapped[TransferStatus] = mapped_column(
        enum_column(TransferStatus, "transfer_status"), default=TransferStatus.IN_TRANSIT, index=True
    )
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    dispatched_at: Mapped[datetime]
    dispatched_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    received_at: Mapped[datetime | None]
    received_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    received_by_counter_event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counter_events.id"))

    from_location: Mapped[Location] = relationship(foreign_keys=[from_location_id])
    to_location: Mapped[Location] = relationship(foreign_keys=[to_location_id])
    lines: Mapped[list[TransferLine]] = relationship(
        order_by="TransferLine.id", cascade="all, delete-orphan", back_populates="transfer"
    )

    TRANSITIONS = TRANSFER_TRANSITIONS
    ENTITY = "transfer"

    def record_transition(self, source, target, *, actor_id: int | None, at: datetime, reason: str) -> None:
        if target == TransferStatus.RECEIVED:
            self.received_at = at
            self.received_by_id = actor_id


class TransferLine(Base):
    __tablename__ = "stock_transfer_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity_sent > 0", name="sent_positive"),
        sa.CheckConstraint(
            "quantity_received IS NULL OR (quantity_received >= 0 AND quantity_received <= quantity_sent)",
            name="received_within_sent",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_transfers.id"), index=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"))
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_batches.id"))
    quantity_sent: Mapped[int]
    quantity_received: Mapped[int | None]

    transfer: Mapped[Transfer] = relationship(back_populates="lines")
    batch: Mapped[Batch] = relationship()
    sku: Mapped[Sku] = relationship()

    @property
    def shortfall(self) -> int | None:
        return None if self.quantity_received is None else self.quantity_sent - self.quantity_received


class ReservationStatus(enum.StrEnum):
    HELD = "held"
    COMMITTED = "committed"  # sold: the reserved units left the shelf
    RELEASED = "released"


RESERVATION_TRANSITIONS = {
    ReservationStatus.HELD: {ReservationStatus.COMMITTED, ReservationStatus.RELEASED},
    ReservationStatus.COMMITTED: set(),
    ReservationStatus.RELEASED: set(),
}


class Reservation(StateMachine, Base):
    """Units set aside at a location (by batch, FEFO) for an order; the lines are its reserve movements."""

    __tablename__ = "stock_reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(100), unique=True)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"), index=True)
    status: Mapped[ReservationStatus] = mapped_column(
        enum_column(ReservationStatus, "reservation_status"), default=ReservationStatus.HELD
    )
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    TRANSITIONS = RESERVATION_TRANSITIONS
    ENTITY = "reservation"

    def record_transition(self, source, target, *, actor_id: int | None, at: datetime, reason: str) -> None:
        self.closed_at = at


class CounterEventKind(enum.StrEnum):
    SALE = "sale"
    RESTOCK = "restock"


class CounterEvent(Base):
    """A report of a smart counter, kept with its result so that a replay is answered, not applied."""

    __tablename__ = "counter_events"
    __table_args__ = (sa.UniqueConstraint("counter_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    counter_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"))
    event_id: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[CounterEventKind] = mapped_column(enum_column(CounterEventKind, "counter_event_kind"))
    payload_sha256: Mapped[str] = mapped_column(sa.String(64))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    result: Mapped[dict | None] = mapped_column(sa.JSON)

"""Tables of the monitoring slice: supply declarations (with their history), risk assessments and their
level changes, absorption campaigns and their allocations, SKU storage classes, and cold-chain
excursions, incidents and quarantines.

Level changes, allocations and incidents are rows of their own so that a notification slice can
announce them later without this slice knowing how."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import Base, enum_column, utcnow_column_default
from shop.transitions import StateMachine

# --- supply declarations ---------------------------------------------------------------------------


class SupplyDeclaration(Base):
    """What a supplier says of a certified product's harvest now: one row per product, the latest
    version; every version is also kept in `supply_declaration_history`."""

    __tablename__ = "supply_declarations"
    __table_args__ = (
        sa.CheckConstraint("harvest_from <= harvest_until", name="harvest_in_order"),
        sa.CheckConstraint("unsold_quantity >= 0 AND unsold_quantity <= expected_quantity", name="unsold_within"),
        sa.CheckConstraint("keeps_days >= 0", name="keeps_non_negative"),
    )

    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), primary_key=True, autoincrement=False)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)  # the product's origin
    version: Mapped[int] = mapped_column(default=1)
    unit: Mapped[str] = mapped_column(sa.String(20))  # the unit of the product's SKUs
    expected_quantity: Mapped[int] = mapped_column(sa.BigInteger)
    expected_kg: Mapped[int] = mapped_column(sa.BigInteger)
    unsold_quantity: Mapped[int] = mapped_column(sa.BigInteger)
    unsold_kg: Mapped[int] = mapped_column(sa.BigInteger)
    harvest_from: Mapped[date] = mapped_column(sa.Date)
    harvest_until: Mapped[date] = mapped_column(sa.Date)
    keeps_days: Mapped[int]  # how long the produce keeps after harvest
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    declared_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    declared_at: Mapped[datetime]


class SupplyDeclarationVersion(Base):
    """Every version of every declaration, append-only."""

    __tablename__ = "supply_declaration_history"
    __table_args__ = (sa.UniqueConstraint("product_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    version: Mapped[int]
    expected_quantity: Mapped[int] = mapped_column(sa.BigInteger)
    expected_kg: Mapped[int] = mapped_column(sa.BigInteger)
    unsold_quantity: Mapped[int] = mapped_column(sa.BigInteger)
    unsold_kg: Mapped[int] = mapped_column(sa.BigInteger)
    harvest_from: Mapped[date] = mapped_column(sa.Date)
    harvest_until: Mapped[date] = mapped_column(sa.Date)
    keeps_days: Mapped[int]
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    declared_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    declared_at: Mapped[datetime]


# --- risk -------------------------------------------------------------------------------------------


class RiskLevel(enum.StrEnum):
    NONE = "none"
    WATCH = "watch"
    WARNING = "warning"
    CRITICAL = "critical"


LEVEL_ORDER = {RiskLevel.NONE: 0, RiskLevel.WATCH: 1, RiskLevel.WARNING: 2, RiskLevel.CRITICAL: 3}


class RiskAssessment(Base):
    """A product's current risk level and the figures that led to it. Written only when the figures
    differ from the stored ones: the same figures never change a level."""

    __tablename__ = "risk_assessments"
    __table_args__ = (sa.Index("ix_risk_assessments_level_district_id", "level", "district_id"),)

    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), primary_key=True, autoincrement=False)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"))
    level: Mapped[RiskLevel] = mapped_column(enum_column(RiskLevel, "risk_level"))
    figures: Mapped[dict] = mapped_column(sa.JSON)
    # sha1 of the figures and the declaration's version: the job compares this, not the JSON
    figures_sha1: Mapped[str] = mapped_column(sa.String(40))
    declaration_version: Mapped[int]
    level_since: Mapped[datetime]
    assessed_at: Mapped[datetime]


class RiskLevelChange(Base):
    """Each change of a product's level (the first assessment is one, from none), with its figures."""

    __tablename__ = "risk_level_changes"
    __table_args__ = (
        sa.Index("ix_risk_level_changes_product_id_at", "product_id", "at"),
        sa.Index("ix_risk_level_changes_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"))
    from_level: Mapped[RiskLevel] = mapped_column(enum_column(RiskLevel, "risk_from_level"))
    to_level: Mapped[RiskLevel] = mapped_column(enum_column(RiskLevel, "risk_to_level"))
    figures: Mapped[dict] = mapped_column(sa.JSON)
    at: Mapped[datetime]


# --- absorption campaigns -----------------------------------------------------------------------------


class CampaignKind(enum.StrEnum):
    ORDINARY = "ordinary"
    EMERGENCY = "emergency"  # 战疫战灾


class CampaignStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Campaign(StateMachine, Base):
    """消纳: the coordinator's organised purchase of at-risk products, up to a target quantity (units
    of the campaign's SKUs) within a window. `allocated_quantity` only grows by a conditional UPDATE
    that keeps it within the target."""

    __tablename__ = "absorption_campaigns"
    __table_args__ = (
        sa.CheckConstraint("target_quantity > 0", name="target_positive"),
        sa.CheckConstraint("allocated_quantity >= 0 AND allocated_quantity <= target_quantity", name="within_target"),
        sa.CheckConstraint("starts_at < ends_at", name="window_in_order"),
        sa.Index("ix_absorption_campaigns_status_ends_at", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[CampaignKind] = mapped_column(enum_column(CampaignKind, "campaign_kind"))
    status: Mapped[CampaignStatus] = mapped_column(
        enum_column(CampaignStatus, "campaign_status"), default=CampaignStatus.OPEN
    )
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    target_quantity: Mapped[int] = mapped_column(sa.BigInteger)
    allocated_quantity: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]  # the end of its last day, Asia/Shanghai
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(sa.String(200))

    skus: Mapped[list[CampaignSku]] = relationship(order_by="CampaignSku.sku_id", cascade="all, delete-orphan")

    TRANSITIONS = {CampaignStatus.OPEN: {CampaignStatus.CLOSED}, CampaignStatus.CLOSED: set()}
    ENTITY = "campaign"

    def record_transition(self, source, target, *, actor_id: int | None, at: datetime, reason: str) -> None:
        self.closed_at = at
        self.close_reason = reason[:200]


class CampaignSku(Base):
    __tablename__ = "absorption_campaign_skus"

    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("absorption_campaigns.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"), primary_key=True, index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)


class CampaignAllocation(Base):
    """A quantity the coordinator allocated to an organisation, and the draft bulk order it made."""

    __tablename__ = "absorption_allocations"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("absorption_campaigns.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"))
    quantity: Mapped[int]
    bulk_order_id: Mapped[int] = mapped_column(sa.ForeignKey("bulk_orders.id"), unique=True)
    allocated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    allocated_at: Mapped[datetime]


# --- cold chain ---------------------------------------------------------------------------------------


class StorageClass(enum.StrEnum):
    AMBIENT = "ambient"
    CHILLED = "chilled"
    FROZEN = "frozen"


class SkuStorage(Base):
    """How a SKU must be kept: its storage class and temperature range, in tenths of a degree Celsius.
    A SKU without a row is ambient."""

    __tablename__ = "sku_storage"
    __table_args__ = (sa.CheckConstraint("min_decicelsius <= max_decicelsius", name="range_in_order"),)

    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"), primary_key=True, autoincrement=False)
    storage_class: Mapped[StorageClass] = mapped_column(enum_column(StorageClass, "storage_class"))
    min_decicelsius: Mapped[int]
    max_decicelsius: Mapped[int]
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime]


class CounterExcursion(Base):
    """A counter whose heartbeats report a temperature outside the range of chilled or frozen stock it
    holds: since when, and the last reading. Gone when a reading is back in range."""

    __tablename__ = "cold_chain_excursions"

    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"), primary_key=True, autoincrement=False)
    out_since: Mapped[datetime]
    last_decicelsius: Mapped[int]
    last_seen_at: Mapped[datetime]
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cold_chain_incidents.id"))


class IncidentStatus(enum.StrEnum):
    OPEN = "open"  # batches in quarantine wait for an operator
    RESOLVED = "resolved"  # every quarantined batch released or written off


class ColdChainIncident(StateMachine, Base):
    """A counter out of range for longer than allowed: the alert, and the batches it quarantined."""

    __tablename__ = "cold_chain_incidents"
    __table_args__ = (sa.Index("ix_cold_chain_incidents_status_opened_at", "status", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"), index=True)
    status: Mapped[IncidentStatus] = mapped_column(
        enum_column(IncidentStatus, "incident_status"), default=IncidentStatus.OPEN
    )
    out_since: Mapped[datetime]
    opened_at: Mapped[datetime]
    decicelsius: Mapped[int]  # the reading that raised it
    resolved_at: Mapped[datetime | None]

    quarantines: Mapped[list[Quarantine]] = relationship(order_by="Quarantine.id", back_populates="incident")

    TRANSITIONS = {IncidentStatus.OPEN: {IncidentStatus.RESOLVED}, IncidentStatus.RESOLVED: set()}
    ENTITY = "cold-chain incident"

    def record_transition(self, source, target, *, actor_id: int | None, at: datetime, reason: str) -> None:
        self.resolved_at = at


class QuarantineStatus(enum.StrEnum):
    HELD = "held"
    RELEASED = "released"
    WRITTEN_OFF = "written_off"


class Quarantine(StateMachine, Base):
    """One batch at the incident's counter, unsellable until an operator inspects it."""

    __tablename__ = "cold_chain_quarantines"
    __table_args__ = (sa.UniqueConstraint("incident_id", "batch_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("cold_chain_incidents.id"))
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"))
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_batches.id"), index=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"))
    units: Mapped[int]  # on hand when quarantined
    status: Mapped[QuarantineStatus] = mapped_column(
        enum_column(QuarantineStatus, "quarantine_status"), default=QuarantineStatus.HELD
    )
    written_off_units: Mapped[int] = mapped_column(default=0)
    written_off_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]

    incident: Mapped[ColdChainIncident] = relationship(back_populates="quarantines")

    TRANSITIONS = {
        QuarantineStatus.HELD: {QuarantineStatus.RELEASED, QuarantineStatus.WRITTEN_OFF},
        QuarantineStatus.RELEASED: set(),
        QuarantineStatus.WRITTEN_OFF: set(),
    }
    ENTITY = "quarantine"

    def record_transition(self, source, target, *, actor_id: int | None, at: datetime, reason: str) -> None:
        self.decided_by_id, self.decided_at, self.note = actor_id, at, reason[:500]

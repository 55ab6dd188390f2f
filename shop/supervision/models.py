from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import Base, enum_column, utcnow_column_default
from shop.transitions import StateMachine


class Workflow(StateMachine):
    """A supervision row with a state machine (shop.transitions): each move is an event row."""

    events: list

    @classmethod
    def event_class(cls):
        """The row's event model (its first event, the one that records its creation, is made with it)."""
        return cls.__mapper__.relationships["events"].mapper.class_

    def record_transition(self, source, target, *, actor_id: int | None, at: datetime, reason: str) -> None:
        self.events.append(
            self.event_class()(
                from_status=source.value, to_status=target.value, actor_id=actor_id, at=at, reason=reason or None
            )
        )


class EventColumns:
    """Who moved a workflow row from which state to which, and when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    from_status: Mapped[str | None] = mapped_column(sa.String(32))
    to_status: Mapped[str] = mapped_column(sa.String(32))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(sa.String(2000))


# --- 1. eligibility ----------------------------------------------------------------------------


class EligiblePlace(Base):
    """A place outside the poverty-alleviated districts made eligible by an act, for a period: a
    whole district, a township, or a village of a township (matched in the production base)."""

    __tablename__ = "eligible_places"
    __table_args__ = (
        sa.CheckConstraint("village IS NULL OR township_id IS NOT NULL", name="village_in_township"),
        sa.CheckConstraint("eligible_until IS NULL OR eligible_until > eligible_from", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("townships.id"))
    village: Mapped[str | None] = mapped_column(sa.String(60))
    act: Mapped[str] = mapped_column(sa.String(300))
    act_url: Mapped[str | None] = mapped_column(sa.String(1000))
    eligible_from: Mapped[datetime]
    eligible_until: Mapped[datetime | None]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)


# --- 5. sanctions and credit -------------------------------------------------------------------


class SanctionKind(enum.StrEnum):
    WARNING = "warning"
    SUSPENSION = "suspension"
    REVOCATION = "revocation"
    BLACKLIST = "blacklist"


class SanctionStatus(enum.StrEnum):
    IN_EFFECT = "in_effect"
    LIFTED = "lifted"


class SanctionEvent(EventColumns, Base):
    __tablename__ = "sanction_events"
    sanction_id: Mapped[int] = mapped_column(sa.ForeignKey("sanctions.id", ondelete="CASCADE"), index=True)


class Sanction(Workflow, Base):
    """A measure against a supplier. A suspension keeps its certification out of force until lifted;
    a blacklist refuses applications until `until` (the instant, compared with now in the query)."""

    __tablename__ = "sanctions"
    ENTITY = "sanction"
    TRANSITIONS = {SanctionStatus.IN_EFFECT: {SanctionStatus.LIFTED}, SanctionStatus.LIFTED: set()}

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    kind: Mapped[SanctionKind] = mapped_column(enum_column(SanctionKind, "sanction_kind"))
    status: Mapped[SanctionStatus] = mapped_column(
        enum_column(SanctionStatus, "sanction_status"), default=SanctionStatus.IN_EFFECT
    )
    certification_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certifications.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    # The district whose certifier may see it (the certification's, else the supplier's).
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(2000))
    until: Mapped[datetime | None]
    imposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    imposed_at: Mapped[datetime]

    events: Mapped[list[SanctionEvent]] = relationship(order_by="SanctionEvent.id", cascade="all, delete-orphan")


# --- 2. amendments of certified facts ----------------------------------------------------------


class AmendmentStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class AmendmentEvent(EventColumns, Base):
    __tablename__ = "amendment_events"
    amendment_id: Mapped[int] = mapped_column(sa.ForeignKey("amendments.id", ondelete="CASCADE"), index=True)


class Amendment(Workflow, Base):
    """A supplier's request to change certified facts (origin, kind, production base, labels),
    decided by a certifier of the certification's district."""

    __tablename__ = "amendments"
    ENTITY = "amendment"
    TRANSITIONS = {
        AmendmentStatus.PENDING: {AmendmentStatus.APPROVED, AmendmentStatus.REJECTED, AmendmentStatus.WITHDRAWN},
        AmendmentStatus.APPROVED: set(),
        AmendmentStatus.REJECTED: set(),
        AmendmentStatus.WITHDRAWN: set(),
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    certification_id: Mapped[int] = mapped_column(sa.ForeignKey("certifications.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    status: Mapped[AmendmentStatus] = mapped_column(
        enum_column(AmendmentStatus, "amendment_status"), default=AmendmentStatus.PENDING
    )
    changes: Mapped[dict] = mapped_column(sa.JSON)
    previous: Mapped[dict] = mapped_column(sa.JSON)
    reason: Mapped[str] = mapped_column(sa.String(2000))
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(sa.String(2000))

    events: Mapped[list[AmendmentEvent]] = relationship(order_by="AmendmentEvent.id", cascade="all, delete-orphan")


# --- 4. complaints -----------------------------------------------------------------------------


class ComplaintCategory(enum.StrEnum):
    QUALITY = "quality"
    PRICE = "price"
    SHORT_WEIGHT = "short_weight"
    FALSE_LABEL = "false_label"
    SERVICE = "service"
    COUNTER_FAULT = "counter_fault"


class Handler(enum.StrEnum):
    CERTIFIER = "certifier"  # of the district the complaint is routed to
    REGULATOR = "regulator"


class ComplaintStatus(enum.StrEnum):
    FILED = "filed"
    ACCEPTED = "accepted"
    AWAITING_SUPPLIER = "awaiting_supplier"
    DECIDED = "decided"
    CLOSED = "closed"


class Outcome(enum.StrEnum):
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class ComplaintEvent(EventColumns, Base):
    __tablename__ = "complaint_events"
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id", ondelete="CASCADE"), index=True)


class Complaint(Workflow, Base):
    """A complaint (or an anonymous report) about an order, product, supplier or location, routed by
    its subject to a district's certifier or to the regulator. Each state has a deadline."""

    __tablename__ = "complaints"
    __table_args__ = (sa.Index("ix_complaints_status_deadline_at", "status", "deadline_at"),)
    ENTITY = "complaint"
    S = ComplaintStatus
    TRANSITIONS = {
        S.FILED: {S.ACCEPTED, S.CLOSED},  # closed unheard: not admissible
        S.ACCEPTED: {S.AWAITING_SUPPLIER, S.DECIDED},
        S.AWAITING_SUPPLIER: {S.ACCEPTED, S.DECIDED},  # the supplier's answer puts it back to the handler
        S.DECIDED: {S.CLOSED},
        S.CLOSED: set(),
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    complainant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    anonymous: Mapped[bool] = mapped_column(default=False)
    # An anonymous reporter follows the report with a token; only its digest is kept.
    tracking_digest: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    contact: Mapped[str | None] = mapped_column(sa.String(200))
    category: Mapped[ComplaintCategory] = mapped_column(enum_column(ComplaintCategory, "complaint_category"))
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("products.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    location_id: Mapped[int | None] = mapped_column(sa.ForeignKey("locations.id"), index=True)
    after_sales_id: Mapped[int | None] = mapped_column(sa.ForeignKey("after_sales_requests.id"))
    handler: Mapped[Handler] = mapped_column(enum_column(Handler, "complaint_handler"))
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    description: Mapped[str] = mapped_column(sa.String(4000))
    evidence: Mapped[list] = mapped_column(sa.JSON, default=list)
    status: Mapped[ComplaintStatus] = mapped_column(
        enum_column(ComplaintStatus, "complaint_status"), default=ComplaintStatus.FILED
    )
    deadline_at: Mapped[datetime | None]
    outcome: Mapped[Outcome | None] = mapped_column(enum_column(Outcome, "complaint_outcome"))
    decision: Mapped[str | None] = mapped_column(sa.String(4000))  # what the complainant reads
    refund_fen: Mapped[int | None]
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    filed_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    events: Mapped[list[ComplaintEvent]] = relationship(order_by="ComplaintEvent.id", cascade="all, delete-orphan")
    messages: Mapped[list[ComplaintMessage]] = relationship(
        order_by="ComplaintMessage.id", cascade="all, delete-orphan"
    )


class Author(enum.StrEnum):
    COMPLAINANT = "complainant"
    SUPPLIER = "supplier"
    HANDLER = "handler"


class ComplaintMessage(Base):
    """The thread: the complainant, the supplier and the handler write; `internal` notes are the
    handler's own and never shown to the complainant or the supplier."""

    __tablename__ = "complaint_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    author: Mapped[Author] = mapped_column(enum_column(Author, "message_author"))
    internal: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(sa.String(4000))
    evidence: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime]


# --- 3. after-sales requests -------------------------------------------------------------------


class AfterSalesKind(enum.StrEnum):
    REFUND = "refund"
    RETURN = "return"


class AfterSalesStatus(enum.StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ESCALATED = "escalated"  # rejected, then taken to a complaint


class AfterSalesEvent(EventColumns, Base):
    __tablename__ = "after_sales_events"
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("after_sales_requests.id", ondelete="CASCADE"), index=True)


class AfterSalesRequest(Workflow, Base):
    """A buyer's refund or return request on lines of a completed order. The location's operator or
    the supplier answers before `answer_by`; with no answer by then it counts as accepted."""

    __tablename__ = "after_sales_requests"
    __table_args__ = (sa.Index("ix_after_sales_requests_status_answer_by", "status", "answer_by"),)
    ENTITY = "after_sales_request"
    S = AfterSalesStatus
    TRANSITIONS = {
        S.REQUESTED: {S.ACCEPTED, S.REJECTED},
        S.ACCEPTED: set(),
        S.REJECTED: {S.ESCALATED},
        S.ESCALATED: set(),
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    kind: Mapped[AfterSalesKind] = mapped_column(enum_column(AfterSalesKind, "after_sales_kind"))
    lines: Mapped[list] = mapped_column(sa.JSON)  # [{"line_id", "quantity"}]
    reason: Mapped[str] = mapped_column(sa.String(2000))
    evidence: Mapped[list] = mapped_column(sa.JSON, default=list)
    status: Mapped[AfterSalesStatus] = mapped_column(
        enum_column(AfterSalesStatus, "after_sales_status"), default=AfterSalesStatus.REQUESTED
    )
    answer_by: Mapped[datetime]
    lapsed: Mapped[bool] = mapped_column(default=False)  # accepted because no one answered in time
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(sa.String(2000))
    refund_id: Mapped[int | None]
    created_at: Mapped[datetime]

    events: Mapped[list[AfterSalesEvent]] = relationship(order_by="AfterSalesEvent.id", cascade="all, delete-orphan")


# --- 7. quality spot checks --------------------------------------------------------------------


class InspectionResult(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"


class Inspection(Base):
    """A spot check (抽检) of a batch (by trace code) or of a product, with its report document."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stock_batches.id"), index=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    result: Mapped[InspectionResult] = mapped_column(enum_column(InspectionResult, "inspection_result"))
    report_url: Mapped[str] = mapped_column(sa.String(1000))
    report_sha256: Mapped[str] = mapped_column(sa.String(64))
    notes: Mapped[str] = mapped_column(sa.String(2000), default="")
    inspected_at: Mapped[datetime]
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    sanction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sanctions.id"))

    recalls: Mapped[list[Recall]] = relationship(order_by="Recall.order_id", cascade="all, delete-orphan")

    @property
    def scope(self) -> str:
        return "batch" if self.batch_id is not None else "product"


class Recall(Base):
    """An order that took units of a batch that failed its spot check."""

    __tablename__ = "recalls"
    __table_args__ = (sa.UniqueConstraint("inspection_id", "order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    units: Mapped[int]


# --- 6. price monitoring -----------------------------------------------------------------------


class SkuPriceChange(Base):
    """Append-only history of a SKU's price: who set it, when, from what to what."""

    __tablename__ = "sku_price_changes"
    __table_args__ = (sa.Index("ix_sku_price_changes_sku_id_changed_at", "sku_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"))
    old_price_fen: Mapped[int | None]  # None when the SKU was created
    new_price_fen: Mapped[int]
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    changed_at: Mapped[datetime]


class PriceUnit(enum.StrEnum):
    KG = "kg"  # per kilogram, from the SKU's net_weight_g
    PIECE = "piece"  # per SKU unit


class ReferencePrice(Base):
    """The regulator's reference price of a category (and its sub-categories) per unit, for a period."""

    __tablename__ = "reference_prices"
    __table_args__ = (
        sa.CheckConstraint("price_fen > 0", name="price_positive"),
        sa.CheckConstraint("valid_until > valid_from", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id"), index=True)
    unit: Mapped[PriceUnit] = mapped_column(enum_column(PriceUnit, "price_unit"))
    price_fen: Mapped[int]
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    set_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]


class FlagKind(enum.StrEnum):
    ABOVE_REFERENCE = "above_reference"
    SHARP_RISE = "sharp_rise"


class FlagStatus(enum.StrEnum):
    OPEN = "open"
    JUSTIFIED = "justified"  # the supplier explained
    CORRECTED = "corrected"  # the price came back within bounds
    CLOSED = "closed"  # the regulator's word


class PriceFlagEvent(EventColumns, Base):
    __tablename__ = "price_flag_events"
    flag_id: Mapped[int] = mapped_column(sa.ForeignKey("price_flags.id", ondelete="CASCADE"), index=True)


class PriceFlag(Workflow, Base):
    __tablename__ = "price_flags"
    ENTITY = "price_flag"
    F = FlagStatus
    TRANSITIONS = {
        F.OPEN: {F.JUSTIFIED, F.CORRECTED, F.CLOSED},
        F.JUSTIFIED: {F.CORRECTED, F.CLOSED},
        F.CORRECTED: {F.CLOSED},
        F.CLOSED: set(),
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    kind: Mapped[FlagKind] = mapped_column(enum_column(FlagKind, "flag_kind"))
    status: Mapped[FlagStatus] = mapped_column(enum_column(FlagStatus, "flag_status"), default=FlagStatus.OPEN)
    price_fen: Mapped[int]
    details: Mapped[dict] = mapped_column(sa.JSON)
    justification: Mapped[str | None] = mapped_column(sa.String(2000))
    flagged_at: Mapped[datetime]
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]

    events: Mapped[list[PriceFlagEvent]] = relationship(order_by="PriceFlagEvent.id", cascade="all, delete-orphan")

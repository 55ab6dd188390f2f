from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.catalog.models import Product
from shop.db import Base, enum_column, utcnow_column_default
from shop.reference.models import District
from shop.suppliers.models import Supplier
from shop.transitions import StateMachine


class CertStatus(enum.StrEnum):
    """Stored states. Whether a published certification is in its objection window, in force or
    expired is not stored: it follows from the instant (see `effective_status`)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    PUBLISHED = "published"
    OBJECTED = "objected"
    WITHDRAWN = "withdrawn"  # an objection was upheld
    REVOKED = "revoked"
    SUSPENDED = "suspended"  # a sanction: not in force until lifted (back to published)


TRANSITIONS: dict[CertStatus, set[CertStatus]] = {
    CertStatus.PENDING: {CertStatus.APPROVED, CertStatus.REJECTED},
    CertStatus.APPROVED: {CertStatus.PUBLISHED, CertStatus.REVOKED},
    CertStatus.PUBLISHED: {CertStatus.OBJECTED, CertStatus.REVOKED, CertStatus.SUSPENDED},
    CertStatus.OBJECTED: {CertStatus.PUBLISHED, CertStatus.WITHDRAWN, CertStatus.REVOKED},
    CertStatus.SUSPENDED: {CertStatus.PUBLISHED, CertStatus.REVOKED},
    CertStatus.REJECTED: set(),
    CertStatus.WITHDRAWN: set(),
    CertStatus.REVOKED: set(),
}


class ObjectionStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class Announcement(Base):
    """A published batch of certifications (公示) with its objection window."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    published_at: Mapped[datetime]
    objection_until: Mapped[datetime]
    published_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    certifications: Mapped[list[Certification]] = relationship(
        back_populates="announcement", order_by="Certification.id"
    )


class Certification(StateMachine, Base):
    __tablename__ = "certifications"
    __table_args__ = (
        sa.CheckConstraint("households_benefiting >= 0", name="households_non_negative"),
        sa.Index("ix_certifications_in_force", "product_id", "status", "valid_from", "valid_until"),
        # The catalog's next boundary (a certification entering or leaving force) is one index probe.
        # (single columns: with the status first, SQLite would prefer them to the index above)
        sa.Index("ix_certifications_valid_from", "valid_from"),
        sa.Index("ix_certifications_valid_until", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    # The origin district when applying: whose certifier decides.
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("townships.id"))
    status: Mapped[CertStatus] = mapped_column(enum_column(CertStatus, "cert_status"), default=CertStatus.PENDING)
    production_base: Mapped[str] = mapped_column(sa.String(300))
    expected_yearly_output: Mapped[int]
    output_unit: Mapped[str] = mapped_column(sa.String(20))
    households_benefiting: Mapped[int]
    renews_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certifications.id"))
    certificate_no: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    decision_reason: Mapped[str | None] = mapped_column(sa.String(1000))
    announcement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("announcements.id"), index=True)
    objection_until: Mapped[datetime | None]
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    applied_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)

    product: Mapped[Product] = relationship()
    supplier: Mapped[Supplier] = relationship()
    district: Mapped[District] = relationship()
    announcement: Mapped[Announcement | None] = relationship(back_populates="certifications")
    documents: Mapped[list[CertificationDocument]] = relationship(
        order_by="CertificationDocument.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[CertificationEvent]] = relationship(
        order_by="CertificationEvent.id", cascade="all, delete-orphan", back_populates="certification"
    )

    def effective_status(self, now: datetime) -> str:
        if self.status != CertStatus.PUBLISHED:
            return self.status.value
        assert self.valid_from is not None and self.valid_until is not None
        if now < self.valid_from:
            return "in_objection_window"
        return "in_force" if now < self.valid_until else "expired"

    TRANSITIONS = TRANSITIONS
    ENTITY = "certification"

    def record_transition(self, source, target, *, actor_id: int | None, at: datetime, reason: str) -> None:
        self.events.append(
            CertificationEvent(from_status=source, to_status=target, actor_id=actor_id, at=at, reason=reason or None)
        )


class CertificationDocument(Base):
    __tablename__ = "certification_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    certification_id: Mapped[int] = mapped_column(sa.ForeignKey("certifications.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    url: Mapped[str] = mapped_column(sa.String(1000))
    sha256: Mapped[str] = mapped_column(sa.String(64))


class CertificationEvent(Base):
    __tablename__ = "certification_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    certification_id: Mapped[int] = mapped_column(sa.ForeignKey("certifications.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[CertStatus | None] = mapped_column(enum_column(CertStatus, "cert_event_from"))
    to_status: Mapped[CertStatus] = mapped_column(enum_column(CertStatus, "cert_event_to"))
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(sa.String(1000))

    certification: Mapped[Certification] = relationship(back_populates="events")


class Objection(Base):
    __tablename__ = "objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    certification_id: Mapped[int] = mapped_column(sa.ForeignKey("certifications.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.String(2000))
    status: Mapped[ObjectionStatus] = mapped_column(
        enum_column(ObjectionStatus, "objection_status"), default=ObjectionStatus.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(sa.String(1000))

    certification: Mapped[Certification] = relationship()

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, enum_column, utcnow_column_default
from shop.errors import IllegalTransition


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


PAYMENT_TRANSITIONS = {
    PaymentStatus.PENDING: {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.CANCELLED},
    PaymentStatus.SUCCEEDED: set(),
    PaymentStatus.FAILED: set(),
    PaymentStatus.CANCELLED: set(),
}


class Payment(Base):
    """One payment attempt of an order (or of an organisation's bulk order) through one gateway."""

    __tablename__ = "payments"
    __table_args__ = (
        sa.CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
        sa.CheckConstraint("(order_id IS NULL) <> (bulk_order_id IS NULL)", name="pays_one_thing"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    bulk_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bulk_orders.id"), index=True)
    gateway: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[PaymentStatus] = mapped_column(enum_column(PaymentStatus, "payment_status"))
    amount_fen: Mapped[int]
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    points_used: Mapped[int] = mapped_column(default=0)
    reference: Mapped[str | None] = mapped_column(sa.String(100))  # bank transfer reference, gateway id
    failure_message: Mapped[str | None] = mapped_column(sa.String(500))
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)
    completed_at: Mapped[datetime | None]

    def transition(self, target: PaymentStatus, *, at: datetime) -> None:
        if target not in PAYMENT_TRANSITIONS[self.status]:
            raise IllegalTransition("payment", self.status.value, target.value)
        self.status = target
        self.completed_at = at


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (sa.CheckConstraint("amount_fen >= 0", name="amount_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payments.id"))
    amount_fen: Mapped[int]
    points_returned: Mapped[int] = mapped_column(default=0)
    points_clawed_back: Mapped[int] = mapped_column(default=0)
    lines: Mapped[list] = mapped_column(sa.JSON, default=list)  # [{"line_id", "quantity", "amount_fen"}]
    reference: Mapped[str | None] = mapped_column(sa.String(100))
    reason: Mapped[str] = mapped_column(sa.String(500))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)

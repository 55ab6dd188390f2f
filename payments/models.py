from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import Base, enum_column, utcnow_column_default
from shop.transitions import StateMachine


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # Money arrived for an attempt the order could not take (already paid, cancelled, expired, or the
    # amount did not match) and was sent back in full.
    RETURNED = "returned"


PAYMENT_TRANSITIONS = {
    PaymentStatus.PENDING: {
        PaymentStatus.SUCCEEDED,
        PaymentStatus.FAILED,
        PaymentStatus.CANCELLED,
        PaymentStatus.RETURNED,
    },
    PaymentStatus.SUCCEEDED: set(),
    PaymentStatus.FAILED: {PaymentStatus.RETURNED},
    # A gateway may still take money for an attempt we gave up on; it goes back.
    PaymentStatus.CANCELLED: {PaymentStatus.RETURNED},
    PaymentStatus.RETURNED: set(),
}


# The columns naming what a payment (and a refund) pays: one of them is set. A new payable adds its
# column here, on both tables (with a migration), and registers itself (payments.payables).
OWNER_COLUMNS = ("order_id", "bulk_order_id")


class Payment(StateMachine, Base):
    """One payment attempt of an order (or of an organisation's bulk order) through one gateway
    (for Stripe: one PaymentIntent)."""

    __tablename__ = "payments"
    __table_args__ = (
        sa.CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
        sa.CheckConstraint("(order_id IS NULL) <> (bulk_order_id IS NULL)", name="pays_one_thing"),
        sa.CheckConstraint("refunded_fen >= 0", name="refunded_non_negative"),
        # An order is paid by at most one payment, whatever races with what.
        sa.Index(
            "uq_payments_order_id_succeeded",
            "order_id",
            unique=True,
            postgresql_where=sa.text("status = 'succeeded'"),
            sqlite_where=sa.text("status = 'succeeded'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    bulk_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bulk_orders.id"), index=True)
    gateway: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[PaymentStatus] = mapped_column(enum_column(PaymentStatus, "payment_status"))
    amount_fen: Mapped[int]
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    points_used: Mapped[int] = mapped_column(default=0)
    reference: Mapped[str | None] = mapped_column(sa.String(100))  # bank transfer reference, gateway charge id
    failure_message: Mapped[str | None] = mapped_column(sa.String(500))
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The gateway's id of the attempt (a Stripe PaymentIntent, pi_…), the key our calls about it are
    # derived from (idempotency keys), and the last status the gateway reported with its time.
    external_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True, index=True)
    gateway_key: Mapped[str | None] = mapped_column(sa.String(100))
    gateway_status: Mapped[str | None] = mapped_column(sa.String(40))
    gateway_seen_at: Mapped[datetime | None]
    refunded_fen: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)
    completed_at: Mapped[datetime | None]

    events: Mapped[list[PaymentEvent]] = relationship(order_by="PaymentEvent.id", viewonly=True)

    # Handed to the buyer's browser to confirm a Stripe attempt; never stored.
    client_secret = None

    def owner(self) -> dict[str, int]:
        """What the attempt pays, as its owner column and id: {"order_id": 7}."""
        return {column: getattr(self, column) for column in OWNER_COLUMNS if getattr(self, column) is not None}

    TRANSITIONS = PAYMENT_TRANSITIONS
    ENTITY = "payment"

    def record_transition(self, source, target, *, actor_id: int | None, at: datetime, reason: str) -> None:
        self.completed_at = at


class RefundKind(enum.StrEnum):
    REFUND = "refund"  # through our API, by an admin or an operator
    OUTSIDE = "outside"  # made at the gateway (Stripe dashboard), learned from its event
    RETURN = "return"  # money an attempt took that the order could not keep, sent back automatically


class Refund(Base):
    """Money that went back: of a shop order, or (sent back by Stripe, refunded at Stripe) of an
    organisation's bulk order."""

    __tablename__ = "refunds"
    __table_args__ = (
        sa.CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
        sa.CheckConstraint("(order_id IS NULL) <> (bulk_order_id IS NULL)", name="pays_back_one_thing"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    bulk_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bulk_orders.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payments.id"))
    kind: Mapped[RefundKind] = mapped_column(enum_column(RefundKind, "refund_kind"), default=RefundKind.REFUND)
    amount_fen: Mapped[int]
    points_returned: Mapped[int] = mapped_column(default=0)
    points_clawed_back: Mapped[int] = mapped_column(default=0)
    lines: Mapped[list] = mapped_column(sa.JSON, default=list)  # [{"line_id", "quantity", "amount_fen"}]
    reference: Mapped[str | None] = mapped_column(sa.String(100))
    external_id: Mapped[str | None] = mapped_column(sa.String(255))  # the gateway's refund id (re_…)
    reason: Mapped[str] = mapped_column(sa.String(500))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)


class EventSource(enum.StrEnum):
    WEBHOOK = "webhook"  # a signed event the gateway sent
    RECONCILE = "reconcile"  # what we learned by asking the gateway
    CHECKOUT = "checkout"  # what the gateway answered while the buyer was paying or cancelling


class PaymentEvent(Base):
    """Append-only: everything a gateway told us about payments, and what we did with it. Webhook
    events are stored by their id, once: a second delivery finds the row and changes nothing."""

    __tablename__ = "payment_events"
    __table_args__ = (sa.UniqueConstraint("gateway", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway: Mapped[str] = mapped_column(sa.String(20))
    source: Mapped[EventSource] = mapped_column(enum_column(EventSource, "payment_event_source"))
    event_id: Mapped[str | None] = mapped_column(sa.String(255))  # evt_…, for webhooks
    type: Mapped[str] = mapped_column(sa.String(100))
    object_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)  # pi_…, ch_…
    payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payments.id"), index=True)
    outcome: Mapped[str] = mapped_column(sa.String(200), default="")
    payload: Mapped[dict | None] = mapped_column(sa.JSON)
    occurred_at: Mapped[datetime | None]  # when the gateway says it happened
    received_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)

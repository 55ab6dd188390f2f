from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import Base, enum_column, utcnow_column_default
from shop.transitions import StateMachine


class Fulfilment(enum.StrEnum):
    PICKUP = "pickup"  # at a counter or hall
    DELIVERY = "delivery"  # shipped from a hall
    BOOKING = "booking"  # a service's slot (shop.bookings): capacity, not stock


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    READY_FOR_PICKUP = "ready_for_pickup"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


S = OrderStatus
ORDER_TRANSITIONS: dict[OrderStatus, set[OrderStatus]] = {
    S.PENDING_PAYMENT: {S.PAID, S.CANCELLED},
    # paid → completed: a booking order, once every booking is checked in, a no-show or cancelled
    S.PAID: {S.READY_FOR_PICKUP, S.SHIPPED, S.COMPLETED, S.PARTIALLY_REFUNDED, S.REFUNDED},
    S.READY_FOR_PICKUP: {S.COMPLETED, S.PARTIALLY_REFUNDED, S.REFUNDED},
    S.SHIPPED: {S.COMPLETED, S.PARTIALLY_REFUNDED, S.REFUNDED},
    S.PARTIALLY_REFUNDED: {S.READY_FOR_PICKUP, S.SHIPPED, S.COMPLETED, S.PARTIALLY_REFUNDED, S.REFUNDED},
    S.COMPLETED: {S.PARTIALLY_REFUNDED, S.REFUNDED},
    S.CANCELLED: set(),
    S.REFUNDED: set(),
}


class CartLine(Base):
    __tablename__ = "cart_lines"
    __table_args__ = (
        # One line per SKU, place, fulfilment, offer and slot; the offer and the slot are often NULL, which
        # must not make two lines distinct. SQLite takes its write lock before the add reads, so only
        # PostgreSQL, where parallel adds interleave, needs the key to say it.
        sa.UniqueConstraint(
            "user_id",
            "sku_id",
            "location_id",
            "fulfilment",
            "rush_sale_id",
            "slot_id",
            postgresql_nulls_not_distinct=True,
        ),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"))
    quantity: Mapped[int]
    fulfilment: Mapped[Fulfilment] = mapped_column(enum_column(Fulfilment, "fulfilment"))
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"))
    rush_sale_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rush_sales.id"))
    # A service line (fulfilment "booking"): the slot and how many people come.
    slot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking_slots.id"))
    party_size: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)


class Order(StateMachine, Base):
    __tablename__ = "orders"
    __table_args__ = (
        sa.CheckConstraint("total_fen >= 0", name="total_non_negative"),
        sa.CheckConstraint("refunded_fen >= 0 AND refunded_fen <= paid_fen", name="refund_within_paid"),
        sa.Index("ix_orders_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    buyer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus, "order_status"))
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("locations.id"), index=True)
    fulfilment: Mapped[Fulfilment] = mapped_column(enum_column(Fulfilment, "order_fulfilment"))
    delivery_address: Mapped[dict | None] = mapped_column(sa.JSON)
    subtotal_fen: Mapped[int]
    discount_fen: Mapped[int]
    points_redeemed: Mapped[int] = mapped_column(default=0)
    points_redeemed_value_fen: Mapped[int] = mapped_column(default=0)
    points_cost: Mapped[int] = mapped_column(default=0)  # rush-sale points
    total_fen: Mapped[int]  # cash to pay
    paid_fen: Mapped[int] = mapped_column(default=0)
    refunded_fen: Mapped[int] = mapped_column(default=0)
    points_earned: Mapped[int] = mapped_column(default=0)
    coupon_id: Mapped[int | None] = mapped_column(sa.ForeignKey("coupons.id"))
    quote: Mapped[dict] = mapped_column(sa.JSON)  # the frozen price snapshot
    pickup_code: Mapped[str | None] = mapped_column(sa.String(6))
    pickup_attempts: Mapped[int] = mapped_column(default=0)  # wrong codes given since the code was issued
    pickup_locked_at: Mapped[datetime | None]  # set when the attempts ran out; a new code unlocks
    tracking_number: Mapped[str | None] = mapped_column(sa.String(60))
    expires_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)

    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.id", cascade="all, delete-orphan")
    events: Mapped[list[OrderEvent]] = relationship(order_by="OrderEvent.id", cascade="all, delete-orphan")

    # Not stored: the code as its reader may see it, set by orders.disclosure (hidden unless set).
    shown_pickup_code = None

    @property
    def reservation_reference(self) -> str:
        return f"order:{self.id}"

    TRANSITIONS = ORDER_TRANSITIONS
    ENTITY = "order"

    def record_transition(self, source, target, *, actor_id: int | None, at: datetime, reason: str) -> None:
        self.events.append(OrderEvent(from_status=source, to_status=target, actor_id=actor_id, at=at, note=reason))


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        sa.CheckConstraint("refunded_quantity >= 0 AND refunded_quantity <= quantity", name="refund_within_quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"))
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    name: Mapped[str] = mapped_column(sa.String(300))
    quantity: Mapped[int]
    unit_price_fen: Mapped[int]
    subtotal_fen: Mapped[int]
    discount_fen: Mapped[int]
    points_value_fen: Mapped[int] = mapped_column(default=0)  # the share of redeemed points
    total_fen: Mapped[int]
    points_cost: Mapped[int] = mapped_column(default=0)
    rush_sale_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rush_sales.id"))
    gift_promotion_id: Mapped[int | None] = mapped_column(sa.ForeignKey("promotions.id"))
    deep_poverty: Mapped[bool] = mapped_column(default=False)
    adjustments: Mapped[list] = mapped_column(sa.JSON, default=list)
    refunded_quantity: Mapped[int] = mapped_column(default=0)
    refunded_fen: Mapped[int] = mapped_column(default=0)


class OrderEvent(Base):
    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[OrderStatus | None] = mapped_column(enum_column(OrderStatus, "order_event_from"))
    to_status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus, "order_event_to"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(sa.String(500), default="")

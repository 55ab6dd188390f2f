"""The inbox (one row per notification and recipient), each user's choice of channels per kind, and
the deliveries beyond the inbox (WeChat subscribe message, SMS) with their status."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, enum_column, utcnow_column_default


class NotificationKind(enum.StrEnum):
    """What happened. Stored as plain text (no CHECK), so a new kind is one line here."""

    ORDER_PAID = "order_paid"
    ORDER_READY_FOR_PICKUP = "order_ready_for_pickup"
    ORDER_SHIPPED = "order_shipped"
    ORDER_REFUNDED = "order_refunded"
    AFTER_SALES_REQUESTED = "after_sales_requested"  # to the supplier and the location's operators
    AFTER_SALES_DECIDED = "after_sales_decided"  # to the buyer: accepted (refund made) or rejected
    AFTER_SALES_ESCALATED = "after_sales_escalated"  # to the supplier: the buyer took it to a complaint
    COMPLAINT_UPDATED = "complaint_updated"  # to the complainant, at every move
    COMPLAINT_AWAITING_SUPPLIER = "complaint_awaiting_supplier"  # to the supplier: the handler asks
    CERTIFICATION_DECIDED = "certification_decided"  # to the supplier: every move after the application
    LOW_STOCK = "low_stock"  # to the location's operators
    EARLY_WARNING = "early_warning"  # to the supplier, the district's certifiers, the coordinators
    CAMPAIGN_ALLOCATION = "campaign_allocation"  # to the organisation's members and approvers: a draft to approve
    COLD_CHAIN_ALERT = "cold_chain_alert"  # to the counter's operators and the hall's above: batches quarantined


class Channel(enum.StrEnum):
    INBOX = "inbox"  # always: the inbox is the record
    WECHAT = "wechat"  # a subscribe message in the mini-program
    SMS = "sms"


# Without a choice of their own a user gets WeChat messages of every kind, and SMS only of these.
SMS_BY_DEFAULT = frozenset(
    {NotificationKind.ORDER_READY_FOR_PICKUP, NotificationKind.LOW_STOCK, NotificationKind.COLD_CHAIN_ALERT}
)


def enabled_by_default(kind: str, channel: Channel) -> bool:
    if channel == Channel.SMS:
        return kind in SMS_BY_DEFAULT
    return True


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.String(1000), default="")
    # ids of what it is about ({"order_id": 7}), for the front end to link to
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)
    read_at: Mapped[datetime | None]


class Preference(Base):
    """A user's choice for one kind on one channel (no row: the default)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "notification_channel"), primary_key=True)
    enabled: Mapped[bool]


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # to send, at next_attempt_at
    SENT = "sent"
    SKIPPED = "skipped"  # not wanted any more, no address (no WeChat binding, no phone) or channel off
    FAILED = "failed"  # refused for good, or out of attempts


class Delivery(Base):
    __tablename__ = "notification_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("notification_id", "channel"),
        sa.Index("ix_notification_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(sa.ForeignKey("notifications.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "delivery_channel"))
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)

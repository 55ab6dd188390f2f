from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, enum_column, utcnow_column_default


class PointsKind(enum.StrEnum):
    EARN = "earn"  # an order completed
    SPEND = "spend"  # redeemed at checkout (or a rush sale's points price)
    RETURN = "return"  # an unpaid order expired or was cancelled, or a refund returned spent points
    CLAWBACK = "clawback"  # an order that earned points was refunded
    ADJUST = "adjust"  # an admin's correction, with a note
    EXPIRE = "expire"  # credits older than POINTS_EXPIRE_DAYS that were not spent


class PointsAccount(Base):
    """The cached balance; always equal to the sum of the user's ledger entries."""

    __tablename__ = "points_accounts"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True, autoincrement=False)
    balance: Mapped[int] = mapped_column(default=0)


class PointsEntry(Base):
    """Append-only points ledger."""

    __tablename__ = "points_entries"
    __table_args__ = (sa.CheckConstraint("delta <> 0", name="delta_non_zero"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[PointsKind] = mapped_column(enum_column(PointsKind, "points_kind"))
    delta: Mapped[int]
    balance_after: Mapped[int]
    order_id: Mapped[int | None] = mapped_column(index=True)
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)

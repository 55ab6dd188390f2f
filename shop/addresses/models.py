"""A buyer's delivery addresses; at most one of them is the default (a partial unique index)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, utcnow_column_default


class Address(Base):
    __tablename__ = "addresses"
    __table_args__ = (
        sa.Index(
            "uq_addresses_default_per_user",
            "user_id",
            unique=True,
            sqlite_where=sa.text("is_default"),
            postgresql_where=sa.text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    recipient: Mapped[str] = mapped_column(sa.String(100))
    phone: Mapped[str] = mapped_column(sa.String(20))
    # the county-level administrative division, 6 digits of GB/T 2260 (500236: 奉节县)
    region_code: Mapped[str] = mapped_column(sa.String(6))
    detail: Mapped[str] = mapped_column(sa.String(300))  # street, building, room
    postal_code: Mapped[str | None] = mapped_column(sa.String(6))
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow_column_default, onupdate=utcnow_column_default)

    @property
    def district_id(self) -> int | None:
        """The Chongqing district or county (reference data) the address lies in, if it is in Chongqing."""
        return int(self.region_code) if self.region_code.startswith("50") else None

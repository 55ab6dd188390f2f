from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import Base, enum_column


class DistrictKind(enum.StrEnum):
    DISTRICT = "district"
    COUNTY = "county"
    AUTONOMOUS_COUNTY = "autonomous_county"


class District(Base):
    """A district or county of Chongqing; its id is the official 6-digit code."""

    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_en: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[DistrictKind] = mapped_column(enum_column(DistrictKind, "district_kind"))
    poverty_alleviated: Mapped[bool] = mapped_column(default=False)

    townships: Mapped[list[Township]] = relationship(back_populates="district", order_by="Township.id")


class Township(Base):
    __tablename__ = "townships"
    __table_args__ = (sa.UniqueConstraint("district_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    name_en: Mapped[str] = mapped_column(sa.String(40))
    deep_poverty: Mapped[bool] = mapped_column(default=False)

    district: Mapped[District] = relationship(back_populates="townships")

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, enum_column, utcnow_column_default
from shop.promotions.pricing import CouponKind, PromotionKind


class ScopeColumns:
    """Which products an offer covers; empty lists cover everything."""

    product_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    category_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    supplier_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    district_ids: Mapped[list] = mapped_column(sa.JSON, default=list)


class Promotion(ScopeColumns, Base):
    __tablename__ = "promotions"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="window"),
        sa.CheckConstraint("gift_stock IS NULL OR gifts_given <= gift_stock", name="gift_stock_holds"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[PromotionKind] = mapped_column(enum_column(PromotionKind, "promotion_kind"))
    priority: Mapped[int] = mapped_column(default=0)
    exclusive: Mapped[bool] = mapped_column(default=False)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    is_active: Mapped[bool] = mapped_column(default=True)
    tiers: Mapped[list] = mapped_column(sa.JSON, default=list)  # [[threshold_fen, off_fen], ...]
    every_fen: Mapped[int] = mapped_column(default=0)
    off_fen: Mapped[int] = mapped_column(default=0)
    cap_fen: Mapped[int] = mapped_column(default=0)
    percent_bp: Mapped[int] = mapped_column(default=0)
    threshold_fen: Mapped[int] = mapped_column(default=0)
    gift_sku_id: Mapped[int | None] = mapped_column(sa.ForeignKey("skus.id"))
    gift_quantity: Mapped[int] = mapped_column(default=1)
    gift_stock: Mapped[int | None]  # how many gifts may be given; None: no limit
    gifts_given: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)


class Coupon(ScopeColumns, Base):
    __tablename__ = "coupons"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="window"),
        sa.CheckConstraint("total_uses IS NULL OR used_count <= total_uses", name="uses_hold"),
        sa.CheckConstraint("used_count >= 0", name="used_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[CouponKind] = mapped_column(enum_column(CouponKind, "coupon_kind"))
    value: Mapped[int]
    min_spend_fen: Mapped[int] = mapped_column(default=0)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    total_uses: Mapped[int | None]
    used_count: Mapped[int] = mapped_column(default=0)
    per_buyer_uses: Mapped[int] = mapped_column(default=1)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)


class CouponUse(Base):
    """How many times one buyer holds or has used a coupon."""

    __tablename__ = "coupon_uses"
    __table_args__ = (sa.CheckConstraint("uses >= 0", name="uses_non_negative"),)

    coupon_id: Mapped[int] = mapped_column(sa.ForeignKey("coupons.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    uses: Mapped[int] = mapped_column(default=0)


class RushSale(Base):
    """积分抢购: a SKU for points (optionally plus cash), limited in quantity, per buyer and in time."""

    __tablename__ = "rush_sales"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="window"),
        sa.CheckConstraint("sold >= 0 AND sold <= quantity_cap", name="sold_within_cap"),
        sa.CheckConstraint("points_price > 0", name="points_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"), index=True)
    points_price: Mapped[int]
    cash_price_fen: Mapped[int] = mapped_column(default=0)
    quantity_cap: Mapped[int]
    sold: Mapped[int] = mapped_column(default=0)
    per_buyer_cap: Mapped[int]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)


class RushSaleBuyer(Base):
    __tablename__ = "rush_sale_buyers"
    __table_args__ = (sa.CheckConstraint("bought >= 0", name="bought_non_negative"),)

    rush_sale_id: Mapped[int] = mapped_column(sa.ForeignKey("rush_sales.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    bought: Mapped[int] = mapped_column(default=0)


class VolumeTier(Base):
    """A supplier's volume price for organisation purchases: from `min_quantity` units of the SKU in
    one bulk order, each unit costs `unit_price_fen`."""

    __tablename__ = "volume_tiers"
    __table_args__ = (
        sa.UniqueConstraint("sku_id", "min_quantity"),
        sa.CheckConstraint("min_quantity >= 2", name="min_quantity_at_least_two"),
        sa.CheckConstraint("unit_price_fen > 0", name="unit_price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id", ondelete="CASCADE"), index=True)
    min_quantity: Mapped[int]
    unit_price_fen: Mapped[int]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)

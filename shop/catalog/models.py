from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import Base, enum_column, utcnow_column_default
from shop.reference.models import District, Township
from shop.suppliers.models import Supplier


class BrandTier(enum.StrEnum):
    REGIONAL_PUBLIC = "regional_public"  # e.g. 巴味渝珍
    DISTRICT_PUBLIC = "district_public"
    ENTERPRISE = "enterprise"


class ProductKind(enum.StrEnum):
    GOODS = "goods"
    SERVICE = "service"  # e.g. a rural-tourism package


class LabelKind(enum.StrEnum):
    GEOGRAPHICAL_INDICATION = "geographical_indication"
    GREEN_FOOD = "green_food"
    ORGANIC = "organic"


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    # Materialised path of ids, "/1/4/", so a subtree is one LIKE on an index.
    path: Mapped[str] = mapped_column(sa.String(255), index=True, default="")


class Brand(Base):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    tier: Mapped[BrandTier] = mapped_column(enum_column(BrandTier, "brand_tier"))
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("districts.id"))
    supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suppliers.id"))


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        sa.Index("ix_products_price_min_fen_id", "price_min_fen", "id"),
        sa.Index("ix_products_origin_district_id_price_min_fen", "origin_district_id", "price_min_fen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id"), index=True)
    brand_id: Mapped[int | None] = mapped_column(sa.ForeignKey("brands.id"), index=True)
    kind: Mapped[ProductKind] = mapped_column(enum_column(ProductKind, "product_kind"), default=ProductKind.GOODS)
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str | None] = mapped_column(sa.String(200))  # beside the Chinese name, for English readers
    description: Mapped[str] = mapped_column(sa.Text, default="")
    origin_district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    origin_township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("townships.id"))
    images: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow_column_default, onupdate=utcnow_column_default)
    # The lowest price of an active SKU (NULL without one), for the price sorts. Written only by the
    # database's triggers on skus (migration 0031), in the transaction that changes a SKU.
    price_min_fen: Mapped[int | None] = mapped_column(
        server_default=sa.FetchedValue(), server_onupdate=sa.FetchedValue()
    )

    supplier: Mapped[Supplier] = relationship()
    category: Mapped[Category] = relationship()
    brand: Mapped[Brand | None] = relationship()
    origin_district: Mapped[District] = relationship()
    origin_township: Mapped[Township | None] = relationship()
    skus: Mapped[list[Sku]] = relationship(back_populates="product", order_by="Sku.id", cascade="all, delete-orphan")
    labels: Mapped[list[ProductLabel]] = relationship(order_by="ProductLabel.id", cascade="all, delete-orphan")

    # The certification in force now, attached by the catalog queries (not a column).
    current_certification = None
    # How to book a service, attached by the product detail (not a column; None for goods and lists).
    booking = None


class ProductLabel(Base):
    __tablename__ = "product_labels"
    __table_args__ = (sa.UniqueConstraint("product_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    kind: Mapped[LabelKind] = mapped_column(enum_column(LabelKind, "label_kind"))
    certificate_no: Mapped[str] = mapped_column(sa.String(64))
    # The label's certificate as a document (URL + sha256), checked by the district certifier at review.
    evidence_url: Mapped[str | None] = mapped_column(sa.String(1000))
    evidence_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    verified_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


class Sku(Base):
    __tablename__ = "skus"
    __table_args__ = (sa.CheckConstraint("price_fen > 0", name="price_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    price_fen: Mapped[int]
    unit: Mapped[str] = mapped_column(sa.String(20))
    net_weight_g: Mapped[int | None]
    is_active: Mapped[bool] = mapped_column(default=True)

    product: Mapped[Product] = relationship(back_populates="skus")


class CatalogVersion(Base):
    """The public catalog's version: one row (id 1) whose token every transaction that changes what
    the catalog shows replaces (see shop.catalog.version). Cached pages are keyed by it."""

    __tablename__ = "catalog_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(32))
    changed_at: Mapped[datetime]

"""The search document of a product, built from the database: one shape for both backends.

A product is indexed while it has a published certification (in force, in its objection window or
expired): the backends filter on the validity window at query time, so an expiry needs no reindex.
A product with none (pending, rejected, withdrawn, revoked only) has no document.

Extending the document (as `sales_count` and `stock_until` below, or a later `at_risk_unsold` from
monitoring) takes three steps, none of which edits the builder:
1. register a contributor with `@contributor`: a function (session, product_ids) -> {id: {field: value}}
   run once per batch, whose fields are merged into each document (missing products get `defaults`);
2. add the field to `elasticsearch_backend.MAPPINGS`;
3. add a column to `SearchDocument` (with a migration) — the embedded backend copies every
   document field that is a column of its table.
Then add the filter to `SearchQuery` and both backends, or a boost to `boosts.BOOSTS`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from search import text
from shop import clock
from shop.bookings.availability import open_days
from shop.catalog.models import Brand, Category, Product, ProductLabel, Sku
from shop.certification.models import Certification, CertStatus
from shop.inventory.models import BatchLevel, Location, LocationKind, Movement, MovementKind, sellable_level
from shop.monitoring.models import Campaign, CampaignSku, CampaignStatus, RiskAssessment, RiskLevel
from shop.orders.models import Order, OrderLine
from shop.reference.models import District, Township
from shop.suppliers.models import Supplier

Document = dict
Contributor = Callable[[Session, list[int]], dict[int, dict]]


@dataclass
class _Registered:
    func: Contributor
    defaults: dict = field(default_factory=dict)


CONTRIBUTORS: list[_Registered] = []


def contributor(defaults: dict) -> Callable[[Contributor], Contributor]:
    """Register extra document fields (see the module doc). `defaults` fill products it omits."""

    def register(func: Contributor) -> Contributor:
        CONTRIBUTORS.append(_Registered(func, dict(defaults)))
        return func

    return register


@contributor(defaults={"sales_count": 0})
def _sales(session: Session, product_ids: list[int]) -> dict[int, dict]:
    """Units sold: lines of completed orders (less what was refunded; gifts are not sales) and
    sales over the counter (the stock ledger's sale movements that no order reserved). Order
    completion and every stock movement put the product in the outbox (see `search.outbox`)."""
    sold: dict[int, int] = defaultdict(int)
    ordered = (
        sa.select(OrderLine.product_id, sa.func.sum(OrderLine.quantity - OrderLine.refunded_quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.product_id.in_(product_ids),
            OrderLine.gift_promotion_id.is_(None),
            Order.completed_at.is_not(None),
        )
        .group_by(OrderLine.product_id)
    )
    over_the_counter = (
        sa.select(Sku.product_id, -sa.func.sum(Movement.on_hand_delta))
        .join(Sku, Sku.id == Movement.sku_id)
        .where(Sku.product_id.in_(product_ids), Movement.kind == MovementKind.SALE, Movement.reservation_id.is_(None))
        .group_by(Sku.product_id)
    )
    for stmt in (ordered, over_the_counter):
        for product_id, units in session.execute(stmt):
            sold[product_id] += int(units or 0)
    return {product_id: {"sales_count": max(units, 0)} for product_id, units in sold.items()}


@contributor(defaults={"stock_until": None})
def _stock(session: Session, product_ids: list[int]) -> dict[int, dict]:
    """The latest best-before day among batches of active SKUs with units available (on hand, not
    reserved) at active halls, counters and zones: the product is in stock until that day passes,
    so the backends decide `in_stock` at query time and expiry needs no reindex."""
    levels = BatchLevel.__table__
    stmt = (
        sa.select(Sku.product_id, sa.func.max(levels.c.best_before))
        .join(Sku, Sku.id == levels.c.sku_id)
        .join(Location, Location.id == levels.c.location_id)
        .where(
            Sku.product_id.in_(product_ids),
            Sku.is_active,
            levels.c.on_hand > levels.c.reserved,
            sellable_level(levels),
            Location.is_active,
            Location.kind != LocationKind.CENTRE,
        )
        .group_by(Sku.product_id)
    )
    return {product_id: {"stock_until": until.isoformat()} for product_id, until in session.execute(stmt)}


@contributor(defaults={"open_days": []})
def _open_days(session: Session, product_ids: list[int]) -> dict[int, dict]:
    """Services: the days from today with a slot with capacity left. Every booking and cancellation
    puts the product in the outbox (shop.bookings.capacity); days passing need no reindex, the
    filter starts at today."""

    return {
        product_id: {"open_days": days} for product_id, days in open_days(session, product_ids, clock.now()).items()
    }


@contributor(defaults={"at_risk_unsold": False})
def _at_risk(session: Session, product_ids: list[int]) -> dict[int, dict]:
    """Produce to help sell (boosted by `SEARCH_BOOST_AT_RISK_UNSOLD`): in an open absorption campaign,
    or at warning or critical risk of going unsold. Opening and closing a campaign and a change of
    level across warning write the products' outbox rows (shop.monitoring)."""
    in_campaign = (
        sa.select(CampaignSku.product_id)
        .join(Campaign, Campaign.id == CampaignSku.campaign_id)
        .where(CampaignSku.product_id.in_(product_ids), Campaign.status == CampaignStatus.OPEN)
    )
    at_risk = sa.select(RiskAssessment.product_id).where(
        RiskAssessment.product_id.in_(product_ids),
        RiskAssessment.level.in_((RiskLevel.WARNING, RiskLevel.CRITICAL)),
    )
    return {product_id: {"at_risk_unsold": True} for product_id in session.scalars(sa.union(in_campaign, at_risk))}


def millis(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_documents(session: Session, product_ids: list[int]) -> dict[int, Document | None]:
    """The document of each product id, or None when it has none (not indexable or gone)."""
    ids = sorted(set(product_ids))
    result: dict[int, Document | None] = dict.fromkeys(ids)
    if not ids:
        return result
    parent = aliased(Category)
    certs: dict[int, list[dict]] = defaultdict(list)
    for cert in session.execute(
        sa.select(Certification.product_id, Certification.valid_from, Certification.valid_until)
        .where(Certification.product_id.in_(ids), Certification.status == CertStatus.PUBLISHED)
        .order_by(Certification.product_id, Certification.valid_from, Certification.id)
    ):
        certs[cert.product_id].append({"valid_from": millis(cert.valid_from), "valid_until": millis(cert.valid_until)})
    indexable = [i for i in ids if certs.get(i)]
    if not indexable:
        return result
    rows = session.execute(
        sa.select(
            Product,
            Supplier.name.label("supplier_name"),
            Category.path.label("category_path"),
            Category.name.label("category_name"),
            parent.name.label("parent_category_name"),
            Brand.name.label("brand_name"),
            Brand.tier.label("brand_tier"),
            District.name.label("district_name"),
            District.name_en.label("district_name_en"),
            District.poverty_alleviated,
            Township.name.label("township_name"),
            Township.name_en.label("township_name_en"),
            Township.deep_poverty,
        )
        .join(Supplier, Supplier.id == Product.supplier_id)
        .join(Category, Category.id == Product.category_id)
        .outerjoin(parent, parent.id == Category.parent_id)
        .outerjoin(Brand, Brand.id == Product.brand_id)
        .join(District, District.id == Product.origin_district_id)
        .outerjoin(Township, Township.id == Product.origin_township_id)
        .where(Product.id.in_(indexable))
        .execution_options(populate_existing=True)  # what the database says now, not the session's copy
    ).all()
    prices: dict[int, list[int]] = defaultdict(list)
    for product_id, price in session.execute(
        sa.select(Sku.product_id, Sku.price_fen)
        .where(Sku.product_id.in_(indexable), Sku.is_active)
        .order_by(Sku.product_id, Sku.price_fen)
    ):
        prices[product_id].append(price)
    labels: dict[int, list[str]] = defaultdict(list)
    for product_id, kind in session.execute(
        sa.select(ProductLabel.product_id, ProductLabel.kind)
        .where(ProductLabel.product_id.in_(indexable))
        .order_by(ProductLabel.product_id, ProductLabel.kind)
    ):
        labels[product_id].append(kind.value)
    extras: dict[int, dict] = defaultdict(dict)
    for registered in CONTRIBUTORS:
        found = registered.func(session, indexable)
        for product_id in indexable:
            extras[product_id].update({**registered.defaults, **found.get(product_id, {})})

    for row in rows:
        product: Product = row.Product
        origin = " ".join(
            n for n in (row.district_name, row.district_name_en, row.township_name, row.township_name_en) if n
        )
        category = " ".join(n for n in (row.parent_category_name, row.category_name) if n)
        brand_name = row.brand_name or ""
        pinyin_source = " ".join((product.name, brand_name, row.district_name, row.township_name or ""))
        product_prices = prices.get(product.id, [])
        result[product.id] = {
            "id": product.id,
            "name": product.name,
            "description": product.description or "",
            "brand_name": brand_name,
            "supplier_name": row.supplier_name,
            "origin": origin,
            "category_name": category,
            "category_id": product.category_id,
            "category_path": row.category_path,
            "district_id": product.origin_district_id,
            "district_name": row.district_name,
            "township_id": product.origin_township_id,
            "poverty_alleviated": bool(row.poverty_alleviated),
            "deep_poverty": bool(row.deep_poverty),
            "brand_id": product.brand_id,
            "brand_tier": row.brand_tier.value if row.brand_tier else None,
            "supplier_id": product.supplier_id,
            "kind": product.kind.value,
            "labels": labels.get(product.id, []),
            "prices": sorted(set(product_prices)),
            "price_min": min(product_prices) if product_prices else None,
            "price_max": max(product_prices) if product_prices else None,
            "created_at": iso(product.created_at),
            "image": (product.images or [None])[0],
            "pinyin": text.unique(text.pinyin_keys(pinyin_source)),
            "suggest": text.unique(text.suggest_keys(product.name) + text.suggest_keys(brand_name)),
            "certs": certs[product.id],
            **extras[product.id],
        }
    return result


# Fields of a document that the text match reads, and their weight for relevance.
NAME_FIELDS = ("name",)
BODY_FIELDS = ("brand_name", "supplier_name", "origin", "category_name", "description")


def indexable_ids(session: Session, batch: int = 1000, after: int = 0) -> Iterator[list[int]]:
    """Every product with a published certification, in id order, in batches."""
    while True:
        ids = list(
            session.scalars(
                sa.select(Product.id)
                .where(
                    Product.id > after,
                    sa.exists().where(
                        Certification.product_id == Product.id, Certification.status == CertStatus.PUBLISHED
                    ),
                )
                .order_by(Product.id)
                .limit(batch)
            )
        )
        if not ids:
            return
        yield ids
        after = ids[-1]


def document_batches(
    session: Session, batch: int = 500, on_batch: Callable[[], None] | None = None
) -> Iterator[dict[int, Document | None]]:
    """Every indexable product's document, in id order, in batches (for rebuilds and checks)."""
    for ids in indexable_ids(session, batch=batch):
        yield build_documents(session, ids)
        if on_batch is not None:
            on_batch()


def count_indexable(session: Session) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count(sa.distinct(Certification.product_id))).where(
                Certification.status == CertStatus.PUBLISHED
            )
        )
        or 0
    )

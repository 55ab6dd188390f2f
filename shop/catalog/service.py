"""Categories, brands, products and SKUs; the public catalog shows only products in force now."""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from shop import clock
from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.bookings.offerings import booking_info
from shop.catalog.errors import BrandTaken, SkuCodeTaken, SlugTaken
from shop.catalog.models import Brand, BrandTier, Category, Product, ProductLabel, Sku
from shop.certification.query import current_certifications, product_in_force
from shop.errors import Forbidden, InvalidInput, NotFound
from shop.monitoring.gates import refuse_price_rise
from shop.paging import paginate
from shop.reference.models import District
from shop.reference.service import check_origin
from shop.supervision.gates import refuse_locked_changes
from shop.supervision.prices import PriceRules, record_price
from shop.suppliers.service import get_supplier, require_member

PRODUCT_FIELDS = (
    "name",
    "name_en",
    "description",
    "kind",
    "category_id",
    "brand_id",
    "origin_district_id",
    "origin_township_id",
    "images",
)


# --- categories and brands -------------------------------------------------------------------


def create_category(session: Session, actor: Actor, *, name: str, slug: str | None, parent_id: int | None) -> Category:
    actor.require(Role.ADMIN)
    slug = slug or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or None
    if not slug:
        raise InvalidInput("A slug is needed for this name.", fields={"slug": ["Required for non-Latin names."]})
    if session.scalar(sa.select(Category.id).where(Category.slug == slug)) is not None:
        raise SlugTaken("A category with this slug exists already.")
    parent = None
    if parent_id is not None:
        parent = session.get(Category, parent_id)
        if parent is None:
            raise InvalidInput("Unknown parent category.", fields={"parent_id": ["Unknown."]})
    category = Category(name=name, slug=slug, parent_id=parent_id)
    session.add(category)
    session.flush()
    category.path = f"{parent.path if parent else '/'}{category.id}/"
    session.flush()
    return category


def list_categories(session: Session, *, parent_id: int | None, page: int, size: int):
    stmt = sa.select(Category)
    if parent_id is not None:
        stmt = stmt.where(Category.parent_id == parent_id)
    return paginate(session, stmt, order_by=[Category.path, Category.id], page=page, size=size)


def create_brand(
    session: Session, actor: Actor, *, name: str, tier: BrandTier, district_id: int | None, supplier_id: int | None
) -> Brand:
    if tier == BrandTier.ENTERPRISE:
        if supplier_id is None:
            raise InvalidInput("An enterprise brand belongs to a supplier.", fields={"supplier_id": ["Required."]})
        get_supplier(session, supplier_id)
        require_member(actor, supplier_id)
    else:
        actor.require(Role.ADMIN)
        if tier == BrandTier.DISTRICT_PUBLIC and district_id is None:
            raise InvalidInput("A district public brand names its district.", fields={"district_id": ["Required."]})
    if district_id is not None and session.get(District, district_id) is None:
        raise InvalidInput("Unknown district.", fields={"district_id": ["Unknown."]})
    if session.scalar(sa.select(Brand.id).where(Brand.name == name)) is not None:
        raise BrandTaken("A brand with this name exists already.")
    brand = Brand(name=name, tier=tier, district_id=district_id, supplier_id=supplier_id)
    session.add(brand)
    session.flush()
    return brand


def list_brands(session: Session, *, tier: BrandTier | None, page: int, size: int):
    stmt = sa.select(Brand)
    if tier is not None:
        stmt = stmt.where(Brand.tier == tier)
    return paginate(session, stmt, order_by=Brand.id, page=page, size=size)


# --- products (suppliers' side) --------------------------------------------------------------


def _load_options():
    return (
        joinedload(Product.supplier),
        joinedload(Product.category),
        joinedload(Product.brand),
        joinedload(Product.origin_district),
        joinedload(Product.origin_township),
        selectinload(Product.skus),
        selectinload(Product.labels),
    )


def _check_refs(session: Session, data: dict, supplier_id: int) -> None:
    if "category_id" in data and session.get(Category, data["category_id"]) is None:
        raise InvalidInput("Unknown category.", fields={"category_id": ["Unknown."]})
    if data.get("brand_id") is not None:
        brand = session.get(Brand, data["brand_id"])
        if brand is None:
            raise InvalidInput("Unknown brand.", fields={"brand_id": ["Unknown."]})
        if brand.tier == BrandTier.ENTERPRISE and brand.supplier_id != supplier_id:
            raise InvalidInput(
                "That enterprise brand belongs to another supplier.", fields={"brand_id": ["Not yours."]}
            )


def _apply_labels(product: Product, labels: list[dict]) -> None:
    kinds = [label["kind"] for label in labels]
    if len(kinds) != len(set(kinds)):
        raise InvalidInput("Each label kind at most once.", fields={"labels": ["Duplicate label kind."]})

    def same(old: ProductLabel, new: dict) -> bool:
        return (old.kind, old.certificate_no, old.evidence_url, old.evidence_sha256) == (
            new["kind"],
            new["certificate_no"],
            new.get("evidence_url"),
            (new.get("evidence_sha256") or "").lower() or None,
        )

    # A label given again unchanged keeps its row, and so its verification.
    kept = {old.kind: old for old in product.labels}
    product.labels = [
        kept[label["kind"]]
        if label["kind"] in kept and same(kept[label["kind"]], label)
        else ProductLabel(
            kind=label["kind"],
            certificate_no=label["certificate_no"],
            evidence_url=label.get("evidence_url"),
            evidence_sha256=(label.get("evidence_sha256") or "").lower() or None,
        )
        for label in labels
    ]


def create_product(
    session: Session, actor: Actor, *, supplier_id: int, data: dict, price_rules: PriceRules | None = None
) -> Product:
    get_supplier(session, supplier_id)
    require_member(actor, supplier_id)
    _check_refs(session, data, supplier_id)
    check_origin(session, data["origin_district_id"], data.get("origin_township_id"))
    product = Product(supplier_id=supplier_id, **{k: data[k] for k in PRODUCT_FIELDS if k in data})
    _apply_labels(product, data.get("labels", []))
    session.add(product)
    session.flush()
    for sku in data.get("skus", []):
        add_sku(session, actor, product.id, data=sku, price_rules=price_rules)
    return get_product_for_supplier(session, actor, product.id)


def _own_product(session: Session, actor: Actor, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound("No such product.")
    if not (actor.is_admin or actor.has(Role.SUPPLIER_MEMBER, product.supplier_id)):
        raise Forbidden("Only members of the product's supplier may do this.")
    return product


def update_product(session: Session, actor: Actor, product_id: int, *, data: dict) -> Product:
    product = _own_product(session, actor, product_id)
    refuse_locked_changes(session, product, data, clock.now())
    _check_refs(session, data, product.supplier_id)
    if "origin_district_id" in data or "origin_township_id" in data:
        check_origin(
            session,
            data.get("origin_district_id", product.origin_district_id),
            data.get("origin_township_id", product.origin_township_id),
        )
    for key in PRODUCT_FIELDS:
        if key in data:
            setattr(product, key, data[key])
    if "labels" in data:
        _apply_labels(product, data["labels"])
    session.flush()
    return get_product_for_supplier(session, actor, product_id)


def add_sku(
    session: Session, actor: Actor, product_id: int, *, data: dict, price_rules: PriceRules | None = None
) -> Sku:
    _own_product(session, actor, product_id)
    if session.scalar(sa.select(Sku.id).where(Sku.code == data["code"])) is not None:
        raise SkuCodeTaken("A SKU with this code exists already.", code_value=data["code"])
    sku = Sku(product_id=product_id, **data)
    session.add(sku)
    session.flush()
    record_price(session, sku, None, actor_id=actor.user_id, now=clock.now(), rules=price_rules)
    return sku


def update_sku(
    session: Session, actor: Actor, sku_id: int, *, data: dict, price_rules: PriceRules | None = None
) -> Sku:
    sku = session.get(Sku, sku_id)
    if sku is None:
        raise NotFound("No such SKU.")
    _own_product(session, actor, sku.product_id)
    old_price = sku.price_fen
    if "price_fen" in data:
        refuse_price_rise(session, sku.product_id, old_price, data["price_fen"], clock.now())
    for key in ("name", "price_fen", "unit", "net_weight_g", "is_active"):
        if key in data:
            setattr(sku, key, data[key])
    session.flush()
    record_price(session, sku, old_price, actor_id=actor.user_id, now=clock.now(), rules=price_rules)
    return sku


def get_product_for_supplier(session: Session, actor: Actor, product_id: int) -> Product:
    """A product as its supplier sees it, certified or not."""
    _own_product(session, actor, product_id)
    product = session.scalar(sa.select(Product).options(*_load_options()).where(Product.id == product_id))
    _attach_certifications(session, [product], clock.now())
    return product


def list_supplier_products(session: Session, actor: Actor, supplier_id: int, *, page: int, size: int):
    get_supplier(session, supplier_id)
    require_member(actor, supplier_id)
    stmt = sa.select(Product).options(*_load_options()).where(Product.supplier_id == supplier_id)
    items, total = paginate(session, stmt, order_by=Product.id, page=page, size=size)
    _attach_certifications(session, items, clock.now())
    return items, total


# --- the public catalog ----------------------------------------------------------------------


def _attach_certifications(session: Session, products: list[Product], now: datetime) -> None:
    certs = current_certifications(session, [p.id for p in products], now)
    for product in products:
        product.current_certification = certs.get(product.id)


def get_public_product(session: Session, product_id: int, now: datetime) -> Product:
    product = session.scalar(
        sa.select(Product).options(*_load_options()).where(Product.id == product_id, product_in_force(Product.id, now))
    )
    if product is None:
        raise NotFound("No such product, or it is not certified now.")
    _attach_certifications(session, [product], now)
    product.booking = booking_info(session, product)
    return product

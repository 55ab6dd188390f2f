"""The public catalog as plain rows: a page or a product's detail in a fixed number of statements
whatever the page size, with what a shopper needs (price range, availability now, certificate,
origin, labels), built as JSON-ready dicts without ORM objects or schema dumping.

A page costs at most three statements (the caller reads the catalog version first, a fourth):
1. the products of the page joined with their supplier, category, brand, origin and the
   certification in force now, with the price range and the availability as correlated subqueries;
2. their SKUs and labels, one UNION ALL;
3. the total, only when the page does not tell it: an exact count up to a bound, beyond which the
   total is that bound and `total_is_estimate` is true, so a page never counts every product.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from shop.bookings.availability import open_slot_exists
from shop.bookings.models import Offering, Slot
from shop.bookings.offerings import HOW_TO_BOOK, list_offerings
from shop.bookings.schemas import OfferingSchema
from shop.catalog.models import Brand, Category, LabelKind, Product, ProductKind, ProductLabel, Sku
from shop.certification.models import Certification
from shop.certification.query import current_certification_id, product_in_force
from shop.db import UTCDateTime
from shop.errors import NotFound
from shop.inventory.models import BatchLevel, Location, LocationKind, china_today, sellable_units
from shop.reference.models import District, Township
from shop.suppliers.models import Supplier

# Counted exactly up to this many matching products; beyond it a page says "at least" this many.
DEFAULT_COUNT_BOUND = 1000

CERT = aliased(Certification, name="cert")


def _stamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(member) -> str | None:
    return None if member is None else getattr(member, "value", member)


def conditions(filters: dict, now: datetime) -> list[sa.ColumnElement[bool]]:
    """The public catalog's filters as conditions on Product (no statement of their own)."""
    found: list[sa.ColumnElement[bool]] = []
    if filters.get("category_id") is not None:
        root = sa.select(Category.path).where(Category.id == filters["category_id"]).scalar_subquery()
        found.append(Product.category_id.in_(sa.select(Category.id).where(Category.path.startswith(root))))
    if filters.get("district_id") is not None:
        found.append(Product.origin_district_id == filters["district_id"])
    if filters.get("poverty_alleviated") is not None:
        found.append(
            Product.origin_district_id.in_(
                sa.select(District.id).where(District.poverty_alleviated == filters["poverty_alleviated"])
            )
        )
    if filters.get("deep_poverty") is not None:
        deep = Product.origin_township_id.in_(sa.select(Township.id).where(Township.deep_poverty))
        found.append(deep if filters["deep_poverty"] else sa.or_(Product.origin_township_id.is_(None), ~deep))
    if filters.get("brand_id") is not None:
        found.append(Product.brand_id == filters["brand_id"])
    if filters.get("brand_tier") is not None:
        found.append(Product.brand_id.in_(sa.select(Brand.id).where(Brand.tier == filters["brand_tier"])))
    if filters.get("label") is not None:
        found.append(
            sa.exists().where(ProductLabel.product_id == Product.id, ProductLabel.kind == LabelKind(filters["label"]))
        )
    if filters.get("kind") is not None:
        found.append(Product.kind == filters["kind"])
    if filters.get("supplier_id") is not None:
        found.append(Product.supplier_id == filters["supplier_id"])
    if filters.get("available_from") is not None or filters.get("available_to") is not None:
        found.append(open_slot_exists(Product.id, filters.get("available_from"), filters.get("available_to"), now))
    price = [Sku.product_id == Product.id, Sku.is_active]
    if filters.get("price_min") is not None:
        price.append(Sku.price_fen >= filters["price_min"])
    if filters.get("price_max") is not None:
        price.append(Sku.price_fen <= filters["price_max"])
    if len(price) > 2:
        found.append(sa.exists().where(*price))
    return found


def _price(func) -> sa.ScalarSelect:
    return (
        sa.select(func(Sku.price_fen))
        .where(Sku.product_id == Product.id, Sku.is_active)
        .correlate(Product)
        .scalar_subquery()
    )


# A page's order, ties broken by id (the price sorts read the lowest active price the triggers keep).
SORTS = {
    "newest": lambda: [Product.created_at.desc(), Product.id.desc()],
    "price": lambda: [Product.price_min_fen.asc(), Product.id],
    "-price": lambda: [Product.price_min_fen.desc(), Product.id],
    "name": lambda: [Product.name, Product.id],
}

NOW = sa.bindparam("now", type_=UTCDateTime())
TODAY = sa.bindparam("today", type_=sa.Date())
BATCH_LEVELS = BatchLevel.__table__


def _stocked_locations() -> sa.ScalarSelect:
    """How many active halls, counters and zones have units of an active SKU of the product to sell
    today: the batches FEFO picking would take from (`sellable_units`: not reserved, not expired, not
    frozen, not quarantined there), so "in stock" is what a buyer can take. The operations centre
    sells to nobody: its stock waits to be sent out."""
    b = BATCH_LEVELS
    return (
        sa.select(sa.func.count(sa.distinct(b.c.location_id)))
        .join(Sku, Sku.id == b.c.sku_id)
        .join(Location, Location.id == b.c.location_id)
        .where(
            Sku.product_id == Product.id,
            Sku.is_active,
            Location.is_active,
            Location.kind != LocationKind.CENTRE,
            sellable_units(b, TODAY),
        )
        .correlate(Product)
        .scalar_subquery()
    )


def _bookable() -> sa.ColumnElement:
    """A service: some slot from today on (Asia/Shanghai) with places left, of an active offering (the
    condition of `open_slot_exists`, with today as a parameter); NULL for goods."""
    open_slot = sa.exists().where(
        Offering.product_id == Product.id,
        Offering.is_active,
        Slot.offering_id == Offering.id,
        Slot.is_closed.is_(False),
        Slot.booked < Slot.capacity,
        Slot.day >= TODAY,
    )
    return sa.case((Product.kind == ProductKind.SERVICE, open_slot), else_=sa.null())


def _rows_select() -> sa.Select:
    """Products with everything an item shows; `now` and `today` are parameters."""
    now = NOW
    bookable = _bookable()
    return (
        sa.select(
            Product.id,
            Product.name,
            Product.name_en,
            Product.description,
            Product.kind,
            Product.images,
            Product.created_at,
            Supplier.id.label("supplier_id"),
            Supplier.name.label("supplier_name"),
            Category.id.label("category_id"),
            Category.parent_id.label("category_parent_id"),
            Category.name.label("category_name"),
            Category.slug.label("category_slug"),
            Category.path.label("category_path"),
            Brand.id.label("brand_id"),
            Brand.name.label("brand_name"),
            Brand.tier.label("brand_tier"),
            Brand.district_id.label("brand_district_id"),
            Brand.supplier_id.label("brand_supplier_id"),
            District.id.label("district_id"),
            District.name.label("district_name"),
            District.name_en.label("district_name_en"),
            District.kind.label("district_kind"),
            District.poverty_alleviated.label("district_poverty_alleviated"),
            Township.id.label("township_id"),
            Township.district_id.label("township_district_id"),
            Township.name.label("township_name"),
            Township.name_en.label("township_name_en"),
            Township.deep_poverty.label("township_deep_poverty"),
            CERT.id.label("cert_id"),
            CERT.certificate_no.label("cert_no"),
            CERT.valid_from.label("cert_valid_from"),
            CERT.valid_until.label("cert_valid_until"),
            Product.price_min_fen,
            _price(sa.func.max).label("price_max_fen"),
            _stocked_locations().label("stocked_locations"),
            bookable.label("bookable"),
        )
        .select_from(Product)
        .join(CERT, CERT.id == current_certification_id(Product.id, now))
        # Many-to-one lookups by key, written as outer joins (the keys are not null, so the rows are
        # the same): PostgreSQL then keeps this join order instead of searching every order, whose
        # planning cost more than running the query.
        .outerjoin(Supplier, Supplier.id == Product.supplier_id)
        .outerjoin(Category, Category.id == Product.category_id)
        .outerjoin(District, District.id == Product.origin_district_id)
        .outerjoin(Brand, Brand.id == Product.brand_id)
        .outerjoin(Township, Township.id == Product.origin_township_id)
    )


def _children_select() -> sa.Select:
    """The SKUs and the labels of the products in the parameter `ids`, in one statement."""
    text = sa.String()
    product_ids = sa.bindparam("ids", expanding=True)
    skus = sa.select(
        sa.literal(0).label("tag"),
        Sku.product_id.label("product_id"),
        Sku.id.label("id"),
        Sku.code.label("s1"),
        Sku.name.label("s2"),
        Sku.unit.label("s3"),
        sa.cast(sa.null(), text).label("s4"),
        Sku.price_fen.label("i1"),
        Sku.net_weight_g.label("i2"),
        Sku.is_active.label("b1"),
    ).where(Sku.product_id.in_(product_ids))
    labels = sa.select(
        sa.literal(1),
        ProductLabel.product_id,
        ProductLabel.id,
        sa.cast(ProductLabel.kind, text),
        ProductLabel.certificate_no,
        ProductLabel.evidence_url,
        ProductLabel.evidence_sha256,
        sa.cast(sa.null(), sa.Integer()),
        sa.cast(sa.null(), sa.Integer()),
        ProductLabel.verified_at.is_not(None),
    ).where(ProductLabel.product_id.in_(product_ids))
    union = sa.union_all(skus, labels).subquery()
    return sa.select(union).order_by(union.c.tag, union.c.product_id, union.c.id)


# Built once: constructing these costs more than the database's work for them.
_ROWS = _rows_select()
_CHILDREN = _children_select()


def _children(session: Session, product_ids: list[int]) -> tuple[dict[int, list], dict[int, list]]:
    rows = session.execute(_CHILDREN, {"ids": product_ids})
    sku_lists: dict[int, list] = {pid: [] for pid in product_ids}
    label_lists: dict[int, list] = {pid: [] for pid in product_ids}
    for tag, product_id, row_id, s1, s2, s3, s4, i1, i2, b1 in rows:
        if tag == 0:
            sku_lists[product_id].append(
                {
                    "id": row_id,
                    "product_id": product_id,
                    "code": s1,
                    "name": s2,
                    "price_fen": i1,
                    "unit": s3,
                    "net_weight_g": i2,
                    "is_active": bool(b1),
                }
            )
        else:
            label_lists[product_id].append(
                {
                    "kind": s1,
                    "certificate_no": s2,
                    "evidence_url": s3,
                    "evidence_sha256": s4,
                    "verified": bool(b1),
                }
            )
    return sku_lists, label_lists


def _item(row, skus: list, labels: list) -> dict:
    stocked = row.stocked_locations or 0
    return {
        "id": row.id,
        "name": row.name,
        "name_en": row.name_en,
        "description": row.description,
        "kind": _value(row.kind),
        "supplier": {"id": row.supplier_id, "name": row.supplier_name},
        "category": {
            "id": row.category_id,
            "parent_id": row.category_parent_id,
            "name": row.category_name,
            "slug": row.category_slug,
            "path": row.category_path,
        },
        "brand": None
        if row.brand_id is None
        else {
            "id": row.brand_id,
            "name": row.brand_name,
            "tier": _value(row.brand_tier),
            "district_id": row.brand_district_id,
            "supplier_id": row.brand_supplier_id,
        },
        "origin_district": {
            "id": row.district_id,
            "name": row.district_name,
            "name_en": row.district_name_en,
            "kind": _value(row.district_kind),
            "poverty_alleviated": bool(row.district_poverty_alleviated),
        },
        "origin_township": None
        if row.township_id is None
        else {
            "id": row.township_id,
            "district_id": row.township_district_id,
            "name": row.township_name,
            "name_en": row.township_name_en,
            "deep_poverty": bool(row.township_deep_poverty),
        },
        "images": list(row.images or []),
        "labels": labels,
        "skus": skus,
        "certification": {
            "id": row.cert_id,
            "certificate_no": row.cert_no,
            "valid_from": _stamp(row.cert_valid_from),
            "valid_until": _stamp(row.cert_valid_until),
        },
        "certificate_no": row.cert_no,
        "created_at": _stamp(row.created_at),
        "booking": None,
        "price_min_fen": row.price_min_fen,
        "price_max_fen": row.price_max_fen,
        "availability": {
            "in_stock": stocked > 0,
            "stocked_locations": stocked,
            "bookable": None if row.bookable is None else bool(row.bookable),
        },
    }


def _items(session: Session, rows: list) -> list[dict]:
    if not rows:
        return []
    skus, labels = _children(session, [row.id for row in rows])
    return [_item(row, skus[row.id], labels[row.id]) for row in rows]


def _inline(name: str) -> sa.BindParameter:
    """A parameter written into the SQL when it runs: with LIMIT and OFFSET as numbers, PostgreSQL
    keeps one generic plan for a prepared statement instead of planning it afresh each time (its
    generic estimate of an unknown LIMIT is a tenth of the table, which makes it never choose that plan),
    and planning this page costs several times more than running it."""
    return sa.bindparam(name, type_=sa.Integer(), literal_execute=True)


def _page_statements(sort: str, where: list) -> tuple[sa.Select, sa.Select]:
    """The page's rows and its bounded count, with `now`, `today`, `limit`, `offset` and `bound`
    as parameters."""
    matching = sa.select(Product.id).where(product_in_force(Product.id, NOW), *where).order_by(*SORTS[sort]())
    page_ids = matching.limit(_inline("limit")).offset(_inline("offset")).subquery()
    rows = _ROWS.join(page_ids, page_ids.c.id == Product.id).order_by(*SORTS[sort]())
    limited = (
        sa.select(sa.literal(1))
        .select_from(Product)
        .where(product_in_force(Product.id, NOW), *where)
        .limit(_inline("bound"))
    )
    return rows, sa.select(sa.func.count()).select_from(limited.subquery())


_DETAIL = _ROWS.where(Product.id == sa.bindparam("product_id"))

# The unfiltered pages' statements, by sort, built once.
_UNFILTERED: dict[str, tuple[sa.Select, sa.Select]] = {}


def product_page(
    session: Session,
    *,
    filters: dict,
    sort: str,
    page: int,
    size: int,
    now: datetime,
    count_bound: int = DEFAULT_COUNT_BOUND,
) -> dict:
    """A page of products in force at `now`: {"items", "page", "size", "total", "total_is_estimate"}."""
    where = conditions(filters, now)
    if where:
        rows_stmt, count_stmt = _page_statements(sort, where)
    else:
        if sort not in _UNFILTERED:
            _UNFILTERED[sort] = _page_statements(sort, [])
        rows_stmt, count_stmt = _UNFILTERED[sort]
    offset = (page - 1) * size
    params = {"now": now, "today": china_today(now), "limit": size, "offset": offset}
    items = _items(session, session.execute(rows_stmt, params).all())
    estimate = False
    if 0 < len(items) < size or (page == 1 and not items):
        total = offset + len(items)  # the last page: the total is known without counting
    else:
        bound = max(count_bound, offset + size) + 1
        total = session.scalar(count_stmt, {"now": now, "bound": bound}) or 0
        estimate = total >= bound
    return {"items": items, "page": page, "size": size, "total": total, "total_is_estimate": estimate}


def product_detail(session: Session, product_id: int, now: datetime) -> dict:
    """One product in force at `now`, with how to book it if it is a service; NotFound otherwise."""
    row = session.execute(_DETAIL, {"now": now, "today": china_today(now), "product_id": product_id}).one_or_none()
    if row is None:
        raise NotFound("No such product, or it is not certified now.")
    item = _items(session, [row])[0]
    if _value(row.kind) == ProductKind.SERVICE.value:
        offerings = list_offerings(session, product_id)
        item["booking"] = {
            "bookable": bool(offerings),
            "how_to_book": HOW_TO_BOOK.replace("{product_id}", str(product_id)),
            "offerings": OfferingSchema(many=True).dump(offerings),
        }
    return item

"""From what a buyer asks for (SKUs, quantities, rush sales, a coupon, points) to a priced quote:
load the terms from the database, then call the pure pricing engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.bookings.holds import slot_terms
from shop.catalog.models import Category, Product, ProductKind, Sku
from shop.certification.query import product_in_force
from shop.errors import InvalidInput
from shop.points import service as points_service
from shop.promotions import pricing
from shop.promotions import service as offers
from shop.reference.models import Township


@dataclass(frozen=True)
class Item:
    key: str
    sku_id: int
    quantity: int
    rush_sale_id: int | None = None
    slot_id: int | None = None  # a service's slot: priced at the slot's price


class Requested(Protocol):
    """What a buyer asks to be priced: a cart line, or an item of a quote request."""

    sku_id: int
    quantity: int
    rush_sale_id: int | None


@dataclass(frozen=True)
class Wanted:
    """An item of a quote request."""

    sku_id: int
    quantity: int
    rush_sale_id: int | None = None


@dataclass(frozen=True)
class PointsSettings:
    point_value_fen: int = 1
    max_share_bp: int = 5000


def _priced_skus() -> sa.Select:
    skus, products = Sku.__table__.c, Product.__table__.c
    categories, townships = Category.__table__.c, Township.__table__.c
    return (
        sa.select(
            skus.id.label("sku_id"),
            skus.name.label("sku_name"),
            skus.price_fen,
            skus.is_active,
            products.id.label("product_id"),
            products.name.label("product_name"),
            products.kind,
            products.supplier_id,
            products.origin_district_id,
            categories.path,
            product_in_force(products.id, sa.bindparam("now")).label("in_force"),
            townships.deep_poverty,
        )
        .select_from(Sku.__table__)
        .join(Product.__table__, products.id == skus.product_id)
        .join(Category.__table__, categories.id == products.category_id)
        .outerjoin(Township.__table__, townships.id == products.origin_township_id)
        .where(skus.id.in_(sa.bindparam("sku_ids", expanding=True)))
    )


# Built once (every quote and checkout runs it), of the tables' columns: plain rows, no ORM objects
# to build per line, nor ORM machinery per statement. The township comes along for checkout, whose
# order lines say deep poverty.
_PRICED_SKUS = _priced_skus()


def build_lines(
    session: Session, items: list[Item], user_id: int, now: datetime, loaded: dict | None = None
) -> list[pricing.Line]:
    """The pricing engine's lines. `loaded`, if given, receives {sku_id: row} as read here (the SKU's
    id, name, price; its product's id, name; the origin township's deep_poverty, None without one),
    for a caller that needs them next (checkout's order lines)."""
    sku_ids = {item.sku_id for item in items}
    found = {row.sku_id: row for row in session.execute(_PRICED_SKUS, {"sku_ids": sorted(sku_ids), "now": now})}
    if loaded is not None:
        loaded.update(found)
    unknown = sorted(sku_ids - set(found))
    if unknown:
        raise InvalidInput("Unknown SKUs.", fields={"items": {"sku_id": [f"Unknown: {unknown}"]}})
    rush = offers.rush_terms(session, {i.rush_sale_id for i in items if i.rush_sale_id}, user_id)
    slots = slot_terms(session, [i.slot_id for i in items], now)
    lines = []
    for item in items:
        sku = found[item.sku_id]
        terms = rush.get(item.rush_sale_id) if item.rush_sale_id else None
        if item.rush_sale_id and (terms is None or terms.sku_id != sku.sku_id):
            raise InvalidInput("That rush sale is not for this SKU.", fields={"items": {"rush_sale_id": ["Mismatch."]}})
        unit_price, bookable = sku.price_fen, True
        if sku.kind == ProductKind.SERVICE:
            # a service is priced per slot (weekday, weekend, holiday); without a bookable slot of
            # its own SKU it is not orderable
            slot = slots.get(item.slot_id)
            bookable = slot is not None and slot.sku_id == sku.sku_id and slot.bookable and not item.rush_sale_id
            unit_price = slot.price_fen if slot is not None else sku.price_fen
        lines.append(
            pricing.Line(
                key=item.key,
                sku_id=sku.sku_id,
                product_id=sku.product_id,
                supplier_id=sku.supplier_id,
                district_id=sku.origin_district_id,
                category_path=sku.path,
                unit_price_fen=unit_price,
                quantity=item.quantity,
                in_force=bool(sku.in_force) and sku.is_active,
                slot_unavailable=not bookable,
                rush=terms,
            )
        )
    return lines


def quote(
    session: Session,
    *,
    user_id: int,
    requested: Mapping[str, Requested],
    coupon_code: str | None,
    points_requested: int,
    settings: PointsSettings,
    now: datetime,
    loaded: dict | None = None,
) -> pricing.Quote:
    """The one buyer's quote (cart, checkout, quote requests): what is requested, by the key each
    quoted line answers with, priced for the buyer now."""
    items = [
        Item(
            key=key,
            sku_id=r.sku_id,
            quantity=r.quantity,
            rush_sale_id=r.rush_sale_id,
            slot_id=getattr(r, "slot_id", None),
        )
        for key, r in requested.items()
    ]
    lines = build_lines(session, items, user_id, now, loaded)
    coupon = None
    if coupon_code:
        coupon = offers.coupon_terms(session, coupon_code, user_id)
        if coupon is None:
            raise InvalidInput("Unknown coupon code.", fields={"coupon_code": ["Unknown."]})
    points = pricing.PointsTerms(
        # the balance matters only to points asked for (rush-sale points are held by a conditional UPDATE)
        balance=points_service.balance(session, user_id) if points_requested > 0 else 0,
        requested=points_requested,
        point_value_fen=settings.point_value_fen,
        max_share_bp=settings.max_share_bp,
    )
    return pricing.price(lines, offers.active_promotions(session, now), now, coupon=coupon, points=points)


def organisation_quote(session: Session, items: list[Item], now: datetime) -> pricing.Quote:
    """An organisation's bulk purchase: list prices with the suppliers' volume tiers; consumer
    promotions, coupons and points do not apply."""
    from dataclasses import replace

    from shop.promotions import tiers

    lines = build_lines(session, items, 0, now)
    by_sku = tiers.tiers_for(session, {line.sku_id for line in lines})
    lines = [replace(line, volume_tiers=by_sku[line.sku_id]) if line.sku_id in by_sku else line for line in lines]
    return pricing.price(lines, [], now)

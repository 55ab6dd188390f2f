"""Supplier-defined volume price tiers per SKU, used when organisations buy in bulk."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.catalog.models import Product, Sku
from shop.errors import InvalidInput, NotFound
from shop.promotions.models import VolumeTier


def _sku(session: Session, sku_id: int) -> tuple[Sku, Product]:
    row = session.execute(
        sa.select(Sku, Product).join(Product, Product.id == Sku.product_id).where(Sku.id == sku_id)
    ).first()
    if row is None:
        raise NotFound("No such SKU.")
    return row[0], row[1]


def list_tiers(session: Session, sku_id: int) -> list[VolumeTier]:
    _sku(session, sku_id)
    return list(
        session.scalars(sa.select(VolumeTier).where(VolumeTier.sku_id == sku_id).order_by(VolumeTier.min_quantity))
    )


def replace_tiers(session: Session, actor: Actor, sku_id: int, *, tiers: list[dict], now: datetime) -> list[VolumeTier]:
    """The SKU's supplier (or an admin) sets its whole tier list: more units never cost more each,
    and every tier price is below the list price."""
    sku, product = _sku(session, sku_id)
    if not (actor.is_admin or actor.has(Role.SUPPLIER_MEMBER, product.supplier_id)):
        raise NotFound("No such SKU.")
    ordered = sorted(tiers, key=lambda t: t["min_quantity"])
    quantities = [t["min_quantity"] for t in ordered]
    if len(set(quantities)) != len(quantities):
        raise InvalidInput("Each minimum quantity once.", fields={"tiers": ["Duplicate min_quantity."]})
    previous = sku.price_fen
    for tier in ordered:
        if tier["unit_price_fen"] >= previous:
            raise InvalidInput(
                "Each tier must be cheaper than the list price and than the tier below it.",
                fields={"tiers": [f"min_quantity {tier['min_quantity']}: unit_price_fen must be below {previous}."]},
            )
        previous = tier["unit_price_fen"]
    session.execute(sa.delete(VolumeTier).where(VolumeTier.sku_id == sku_id))
    rows = [
        VolumeTier(
            sku_id=sku_id,
            min_quantity=t["min_quantity"],
            unit_price_fen=t["unit_price_fen"],
            created_by_id=actor.user_id,
            created_at=now,
        )
        for t in ordered
    ]
    session.add_all(rows)
    session.flush()
    return rows


def tiers_for(session: Session, sku_ids: set[int]) -> dict[int, tuple[tuple[int, int], ...]]:
    """{sku_id: ((min_quantity, unit_price_fen), ...)} for the pricing engine."""
    if not sku_ids:
        return {}
    found: dict[int, list[tuple[int, int]]] = {}
    for sku_id, min_quantity, unit in session.execute(
        sa.select(VolumeTier.sku_id, VolumeTier.min_quantity, VolumeTier.unit_price_fen)
        .where(VolumeTier.sku_id.in_(sku_ids))
        .order_by(VolumeTier.sku_id, VolumeTier.min_quantity)
    ):
        found.setdefault(sku_id, []).append((min_quantity, unit))
    return {sku_id: tuple(rows) for sku_id, rows in found.items()}

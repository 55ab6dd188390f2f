"""Promotions, coupons and rush sales: their administration, the terms the pricing engine reads,
and the atomic claims checkout makes (each a single conditional UPDATE)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.catalog.models import Sku
from shop.db import insert_ignore
from shop.errors import InvalidInput, NotFound
from shop.paging import paginate
from shop.promotions import pricing
from shop.promotions.errors import (
    CouponBuyerLimit,
    CouponCodeTaken,
    CouponUsedUp,
    RushSaleBuyerLimit,
    RushSaleSoldOut,
)
from shop.promotions.models import Coupon, CouponUse, Promotion, RushSale, RushSaleBuyer
from shop.promotions.pricing import PromotionKind

SCOPE_KEYS = ("product_ids", "category_ids", "supplier_ids", "district_ids")


def _scope(row) -> pricing.Scope:
    return pricing.Scope(**{key: frozenset(getattr(row, key) or ()) for key in SCOPE_KEYS})


def _check_window(data: dict) -> None:
    if data["ends_at"] <= data["starts_at"]:
        raise InvalidInput("The offer must end after it starts.", fields={"ends_at": ["Must be after starts_at."]})


# --- administration --------------------------------------------------------------------------


def create_promotion(session: Session, actor: Actor, *, data: dict) -> Promotion:
    actor.require(Role.ADMIN)
    _check_window(data)
    kind = data["kind"]
    needs = {
        PromotionKind.THRESHOLD_DISCOUNT: ("tiers", "every_fen"),
        PromotionKind.THRESHOLD_GIFT: ("gift_sku_id",),
        PromotionKind.PERCENT_DISCOUNT: ("percent_bp",),
        PromotionKind.FIXED_DISCOUNT: ("off_fen",),
    }[kind]
    if not any(data.get(field) for field in needs):
        raise InvalidInput(f"A {kind.value} promotion needs {' or '.join(needs)}.", fields={needs[0]: ["Required."]})
    if kind == PromotionKind.THRESHOLD_DISCOUNT and data.get("every_fen") and not data.get("off_fen"):
        raise InvalidInput("A repeating discount needs off_fen.", fields={"off_fen": ["Required."]})
    if kind == PromotionKind.THRESHOLD_GIFT:
        if session.get(Sku, data["gift_sku_id"]) is None:
            raise InvalidInput("Unknown gift SKU.", fields={"gift_sku_id": ["Unknown."]})
        if not data.get("threshold_fen"):
            raise InvalidInput("A gift promotion needs its threshold.", fields={"threshold_fen": ["Required."]})
    promotion = Promotion(**data)
    session.add(promotion)
    session.flush()
    return promotion


def update_promotion(session: Session, actor: Actor, promotion_id: int, *, data: dict) -> Promotion:
    actor.require(Role.ADMIN)
    promotion = session.get(Promotion, promotion_id)
    if promotion is None:
        raise NotFound("No such promotion.")
    for key in ("name", "priority", "exclusive", "starts_at", "ends_at", "is_active"):
        if key in data:
            setattr(promotion, key, data[key])
    _check_window({"starts_at": promotion.starts_at, "ends_at": promotion.ends_at})
    session.flush()
    return promotion


def list_promotions(session: Session, *, active_at: datetime | None, page: int, size: int):
    stmt = sa.select(Promotion)
    if active_at is not None:
        stmt = stmt.where(Promotion.is_active, Promotion.starts_at <= active_at, Promotion.ends_at > active_at)
    return paginate(session, stmt, order_by=[Promotion.priority.desc(), Promotion.id], page=page, size=size)


def create_coupon(session: Session, actor: Actor, *, data: dict) -> Coupon:
    actor.require(Role.ADMIN)
    _check_window(data)
    data["code"] = data["code"].upper()
    if data["kind"] == pricing.CouponKind.PERCENT and not 0 < data["value"] <= 10_000:
        raise InvalidInput(
            "A percent coupon's value is in basis points (1–10000).", fields={"value": ["Out of range."]}
        )
    if session.scalar(sa.select(Coupon.id).where(Coupon.code == data["code"])) is not None:
        raise CouponCodeTaken("A coupon with this code exists already.")
    coupon = Coupon(**data)
    session.add(coupon)
    session.flush()
    return coupon


def list_coupons(session: Session, actor: Actor, *, page: int, size: int):
    actor.require(Role.ADMIN)
    return paginate(session, sa.select(Coupon), order_by=Coupon.id.desc(), page=page, size=size)


def create_rush_sale(session: Session, actor: Actor, *, data: dict) -> RushSale:
    actor.require(Role.ADMIN)
    _check_window(data)
    if session.get(Sku, data["sku_id"]) is None:
        raise InvalidInput("Unknown SKU.", fields={"sku_id": ["Unknown."]})
    if data["per_buyer_cap"] > data["quantity_cap"]:
        raise InvalidInput("The per-buyer cap cannot exceed the quantity cap.", fields={"per_buyer_cap": ["Too big."]})
    rush = RushSale(**data)
    session.add(rush)
    session.flush()
    return rush


def list_rush_sales(session: Session, *, active_at: datetime | None, page: int, size: int):
    stmt = sa.select(RushSale)
    if active_at is not None:
        stmt = stmt.where(RushSale.starts_at <= active_at, RushSale.ends_at > active_at)
    return paginate(session, stmt, order_by=[RushSale.starts_at, RushSale.id], page=page, size=size)


def get_rush_sale(session: Session, rush_sale_id: int) -> RushSale:
    rush = session.get(RushSale, rush_sale_id)
    if rush is None:
        raise NotFound("No such rush sale.")
    return rush


# --- terms for the pricing engine ------------------------------------------------------------


# Built once (every quote and checkout runs it); plain rows, no ORM objects
_PROMOTIONS = Promotion.__table__
_ACTIVE_PROMOTIONS = sa.select(_PROMOTIONS).where(
    _PROMOTIONS.c.is_active, _PROMOTIONS.c.starts_at <= sa.bindparam("now"), _PROMOTIONS.c.ends_at > sa.bindparam("now")
)


def active_promotions(session: Session, now: datetime) -> list[pricing.Promotion]:
    rows = session.execute(_ACTIVE_PROMOTIONS, {"now": now})
    return [
        pricing.Promotion(
            id=p.id,
            name=p.name,
            kind=p.kind,
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            priority=p.priority,
            exclusive=p.exclusive,
            scope=_scope(p),
            tiers=tuple((int(t), int(o)) for t, o in p.tiers or ()),
            every_fen=p.every_fen,
            off_fen=p.off_fen,
            cap_fen=p.cap_fen,
            percent_bp=p.percent_bp,
            threshold_fen=p.threshold_fen,
            gift_sku_id=p.gift_sku_id,
            gift_quantity=p.gift_quantity,
            gift_available=p.gift_stock is None or p.gifts_given + p.gift_quantity <= p.gift_stock,
        )
        for p in rows
    ]


def coupon_terms(session: Session, code: str, user_id: int) -> pricing.Coupon | None:
    coupon = session.scalar(sa.select(Coupon).where(Coupon.code == code.upper(), Coupon.is_active))
    if coupon is None:
        return None
    used = (
        session.scalar(sa.select(CouponUse.uses).where(CouponUse.coupon_id == coupon.id, CouponUse.user_id == user_id))
        or 0
    )
    reason = ""
    if coupon.total_uses is not None and coupon.used_count >= coupon.total_uses:
        reason = "coupon_used_up"
    elif used >= coupon.per_buyer_uses:
        reason = "coupon_buyer_limit"
    return pricing.Coupon(
        id=coupon.id,
        code=coupon.code,
        kind=coupon.kind,
        value=coupon.value,
        min_spend_fen=coupon.min_spend_fen,
        starts_at=coupon.starts_at,
        ends_at=coupon.ends_at,
        scope=_scope(coupon),
        usable=not reason,
        unusable_reason=reason,
    )


def rush_terms(session: Session, rush_sale_ids: set[int], user_id: int) -> dict[int, pricing.RushTerms]:
    if not rush_sale_ids:
        return {}
    bought = dict(
        session.execute(
            sa.select(RushSaleBuyer.rush_sale_id, RushSaleBuyer.bought).where(
                RushSaleBuyer.rush_sale_id.in_(rush_sale_ids), RushSaleBuyer.user_id == user_id
            )
        ).all()
    )
    return {
        r.id: pricing.RushTerms(
            id=r.id,
            sku_id=r.sku_id,
            points_price=r.points_price,
            cash_price_fen=r.cash_price_fen,
            remaining=r.quantity_cap - r.sold,
            buyer_remaining=r.per_buyer_cap - bought.get(r.id, 0),
            starts_at=r.starts_at,
            ends_at=r.ends_at,
        )
        for r in session.scalars(sa.select(RushSale).where(RushSale.id.in_(rush_sale_ids)))
    }


# --- atomic claims at checkout, and their release -------------------------------------------


def _changed(session: Session, stmt) -> bool:
    return session.execute(stmt, execution_options={"synchronize_session": False}).rowcount == 1


def claim_coupon(session: Session, coupon_id: int, user_id: int, now: datetime) -> None:
    total_ok = _changed(
        session,
        sa.update(Coupon)
        .where(
            Coupon.id == coupon_id,
            Coupon.is_active,
            Coupon.starts_at <= now,
            Coupon.ends_at > now,
            sa.or_(Coupon.total_uses.is_(None), Coupon.used_count < Coupon.total_uses),
        )
        .values(used_count=Coupon.used_count + 1),
    )
    if not total_ok:
        raise CouponUsedUp("The coupon has been used up.")
    insert_ignore(session, CouponUse, [dict(coupon_id=coupon_id, user_id=user_id, uses=0)])
    per_buyer = sa.select(Coupon.per_buyer_uses).where(Coupon.id == coupon_id).scalar_subquery()
    if not _changed(
        session,
        sa.update(CouponUse)
        .where(
            CouponUse.coupon_id == coupon_id,
            CouponUse.user_id == user_id,
            CouponUse.uses < per_buyer,
        )
        .values(uses=CouponUse.uses + 1),
    ):
        raise CouponBuyerLimit("You have used this coupon as often as allowed.")


def release_coupon(session: Session, coupon_id: int, user_id: int) -> None:
    session.execute(
        sa.update(Coupon).where(Coupon.id == coupon_id, Coupon.used_count > 0).values(used_count=Coupon.used_count - 1),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        sa.update(CouponUse)
        .where(CouponUse.coupon_id == coupon_id, CouponUse.user_id == user_id, CouponUse.uses > 0)
        .values(uses=CouponUse.uses - 1),
        execution_options={"synchronize_session": False},
    )


def claim_rush_sale(session: Session, rush_sale_id: int, user_id: int, quantity: int, now: datetime) -> None:
    if not _changed(
        session,
        sa.update(RushSale)
        .where(
            RushSale.id == rush_sale_id,
            RushSale.starts_at <= now,
            RushSale.ends_at > now,
            RushSale.sold + quantity <= RushSale.quantity_cap,
        )
        .values(sold=RushSale.sold + quantity),
    ):
        raise RushSaleSoldOut("The rush sale is sold out or closed.")
    insert_ignore(session, RushSaleBuyer, [dict(rush_sale_id=rush_sale_id, user_id=user_id, bought=0)])
    cap = sa.select(RushSale.per_buyer_cap).where(RushSale.id == rush_sale_id).scalar_subquery()
    if not _changed(
        session,
        sa.update(RushSaleBuyer)
        .where(
            RushSaleBuyer.rush_sale_id == rush_sale_id,
            RushSaleBuyer.user_id == user_id,
            RushSaleBuyer.bought + quantity <= cap,
        )
        .values(bought=RushSaleBuyer.bought + quantity),
    ):
        raise RushSaleBuyerLimit("You have reached this rush sale's limit per buyer.")


def release_rush_sale(session: Session, rush_sale_id: int, user_id: int, quantity: int) -> None:
    session.execute(
        sa.update(RushSale)
        .where(RushSale.id == rush_sale_id, RushSale.sold >= quantity)
        .values(sold=RushSale.sold - quantity),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        sa.update(RushSaleBuyer)
        .where(
            RushSaleBuyer.rush_sale_id == rush_sale_id,
            RushSaleBuyer.user_id == user_id,
            RushSaleBuyer.bought >= quantity,
        )
        .values(bought=RushSaleBuyer.bought - quantity),
        execution_options={"synchronize_session": False},
    )


def claim_gift(session: Session, promotion_id: int, quantity: int) -> bool:
    """Take `quantity` gifts from the promotion's gift stock; False when it has run out."""
    return _changed(
        session,
        sa.update(Promotion)
        .where(
            Promotion.id == promotion_id,
            sa.or_(Promotion.gift_stock.is_(None), Promotion.gifts_given + quantity <= Promotion.gift_stock),
        )
        .values(gifts_given=Promotion.gifts_given + quantity),
    )


def release_gift(session: Session, promotion_id: int, quantity: int) -> None:
    session.execute(
        sa.update(Promotion)
        .where(Promotion.id == promotion_id, Promotion.gifts_given >= quantity)
        .values(gifts_given=Promotion.gifts_given - quantity),
        execution_options={"synchronize_session": False},
    )

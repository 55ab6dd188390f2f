"""Demo offers: promotions, a coupon, a points rush sale, and welcome points for the buyer."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import User
from shop.catalog.models import Sku
from shop.points import service as points
from shop.points.models import PointsKind
from shop.promotions import service as offers
from shop.promotions.pricing import CouponKind, PromotionKind


def load(session: Session, admin: Actor, buyer: User, now) -> dict[str, int]:
    """满减 and 满赠 running for a month, a new-customer coupon, a points rush sale, and points for the buyer."""
    skus = {sku.code: sku for sku in session.scalars(sa.select(Sku))}
    month = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=30)}
    offers.create_promotion(
        session,
        admin,
        data={
            "name": "满99减10 满199减30",
            "kind": PromotionKind.THRESHOLD_DISCOUNT,
            "tiers": [[9900, 1000], [19900, 3000]],
            **month,
        },
    )
    offers.create_promotion(
        session,
        admin,
        data={
            "name": "满168赠涪陵榨菜",
            "kind": PromotionKind.THRESHOLD_GIFT,
            "threshold_fen": 16800,
            "gift_sku_id": skus["FL-ZHACAI-80G-10"].id,
            "gift_stock": 100,
            **month,
        },
    )
    offers.create_coupon(
        session,
        admin,
        data={
            "code": "XINREN10",
            "name": "新人券 ¥10 off from ¥50",
            "kind": CouponKind.FIXED,
            "value": 1000,
            "min_spend_fen": 5000,
            "per_buyer_uses": 1,
            "total_uses": 1000,
            **month,
        },
    )
    offers.create_rush_sale(
        session,
        admin,
        data={
            "name": "积分抢购 奉节脐橙 5kg",
            "sku_id": skus["FJ-NAVEL-5KG"].id,
            "points_price": 3000,
            "cash_price_fen": 990,
            "quantity_cap": 20,
            "per_buyer_cap": 1,
            "starts_at": now - timedelta(hours=1),
            "ends_at": now + timedelta(days=7),
        },
    )
    points.post(session, buyer.id, 5000, PointsKind.ADJUST, note="demo welcome points")
    return {"promotions": 2, "coupons": 1, "rush_sales": 1}

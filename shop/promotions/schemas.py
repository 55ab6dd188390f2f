from __future__ import annotations

import marshmallow as ma

from shop.promotions import quoting
from shop.promotions.pricing import CouponKind, PromotionKind
from shop.web import BIG, Id, Int, Timestamp, page_schema

FEN = {"strict": True, "validate": ma.validate.Range(min=0, max=1_000_000_000)}
FEN_SCHEMA = {"type": "integer", "minimum": 0, "maximum": 1_000_000_000}
IDS = ma.fields.List(Id(strict=True), load_default=list, validate=ma.validate.Length(max=500))


class ScopeArgs(ma.Schema):
    product_ids = IDS
    category_ids = IDS
    supplier_ids = IDS
    district_ids = IDS


class PromotionArgs(ScopeArgs):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    kind = ma.fields.Enum(PromotionKind, by_value=True, required=True)
    priority = Int(load_default=0, validate=ma.validate.Range(min=-1000, max=1000))
    exclusive = ma.fields.Boolean(load_default=False)
    starts_at = Timestamp(required=True)
    ends_at = Timestamp(required=True)
    tiers = ma.fields.List(
        ma.fields.Tuple(
            (Int(**FEN), Int(**FEN)),
            # OpenAPI 3.0 has no tuples: a pair of amounts in fen
            metadata={"type": "array", "items": FEN_SCHEMA, "minItems": 2, "maxItems": 2},
        ),
        load_default=list,
        validate=ma.validate.Length(max=10),
        metadata={"description": "[[threshold_fen, off_fen], ...]: spend at least threshold, get off_fen off"},
    )
    every_fen = Int(load_default=0, **FEN, metadata={"description": "Repeating: each full every_fen"})
    off_fen = Int(load_default=0, **FEN)
    cap_fen = Int(load_default=0, **FEN, metadata={"description": "Repeating: at most this much off"})
    percent_bp = Int(load_default=0, strict=True, validate=ma.validate.Range(min=0, max=10_000))
    threshold_fen = Int(load_default=0, **FEN)
    gift_sku_id = Id(load_default=None)
    gift_quantity = Int(load_default=1, validate=ma.validate.Range(min=1, max=100))
    gift_stock = Int(load_default=None, validate=ma.validate.Range(min=0, max=1_000_000))


class PromotionUpdateArgs(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    priority = Int(validate=ma.validate.Range(min=-1000, max=1000))
    exclusive = ma.fields.Boolean()
    starts_at = Timestamp()
    ends_at = Timestamp()
    is_active = ma.fields.Boolean()


class PromotionSchema(PromotionArgs):
    id = Int(required=True)
    is_active = ma.fields.Boolean(required=True)
    gifts_given = Int(required=True)


class PromotionQueryArgs(ma.Schema):
    active = ma.fields.Boolean(load_default=True, metadata={"description": "Only promotions running now"})


class CouponArgs(ScopeArgs):
    code = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[A-Za-z0-9_-]{3,40}$"))
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    kind = ma.fields.Enum(CouponKind, by_value=True, required=True)
    value = Int(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=1, max=1_000_000_000),
        metadata={"description": "fen for fixed, basis points for percent"},
    )
    min_spend_fen = Int(load_default=0, **FEN)
    starts_at = Timestamp(required=True)
    ends_at = Timestamp(required=True)
    total_uses = Int(load_default=None, validate=ma.validate.Range(min=1, max=10_000_000))
    per_buyer_uses = Int(load_default=1, validate=ma.validate.Range(min=1, max=1000))


class CouponSchema(CouponArgs):
    id = Int(required=True)
    used_count = Int(required=True)
    is_active = ma.fields.Boolean(required=True)


class RushSaleArgs(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    sku_id = Id(required=True)
    points_price = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=10_000_000))
    cash_price_fen = Int(load_default=0, **FEN)
    quantity_cap = Int(required=True, validate=ma.validate.Range(min=1, max=1_000_000))
    per_buyer_cap = Int(required=True, validate=ma.validate.Range(min=1, max=1_000_000))
    starts_at = Timestamp(required=True)
    ends_at = Timestamp(required=True)


class RushSaleSchema(RushSaleArgs):
    id = Int(required=True)
    sold = Int(required=True)
    remaining = ma.fields.Method("_remaining", required=True)

    def _remaining(self, rush):
        return rush.quantity_cap - rush.sold


PromotionPageSchema = page_schema(PromotionSchema, "PromotionPage")
CouponPageSchema = page_schema(CouponSchema, "CouponPage")
RushSalePageSchema = page_schema(RushSaleSchema, "RushSalePage")


class QuoteItemArgs(ma.Schema):
    sku_id = Id(required=True)
    quantity = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=10_000))
    rush_sale_id = Id(load_default=None)

    @ma.post_load
    def _wanted(self, data, **_kwargs):
        return quoting.Wanted(**data)


class QuoteArgs(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(QuoteItemArgs), required=True, validate=ma.validate.Length(min=1, max=200))
    coupon_code = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40))
    points = Int(
        load_default=0,
        strict=True,
        validate=ma.validate.Range(min=0, max=10_000_000),
        metadata={"description": "Points the buyer wants to redeem"},
    )


class AdjustmentSchema(ma.Schema):
    source = ma.fields.String(required=True, metadata={"description": "promotion, coupon or points"})
    source_id = Id(allow_none=True)
    label = ma.fields.String(required=True)
    amount_fen = Int(required=True)


class QuotedLineSchema(ma.Schema):
    key = ma.fields.String(required=True)
    sku_id = Id(required=True)
    quantity = Int(required=True)
    unit_price_fen = Int(required=True)
    subtotal_fen = Int(required=True)
    discount_fen = Int(required=True, metadata={"description": "Promotions and coupons taken off; points not included"})
    points_value_fen = Int(required=True, metadata={"description": "The line's share of the redeemed points' value"})
    total_fen = Int(required=True)
    points_cost = Int(required=True)
    rush_sale_id = Id(allow_none=True)
    problem = ma.fields.String(allow_none=True)
    adjustments = ma.fields.List(ma.fields.Nested(AdjustmentSchema), required=True)


class GiftSchema(ma.Schema):
    promotion_id = Id(required=True)
    sku_id = Id(required=True)
    quantity = Int(required=True)
    label = ma.fields.String(required=True)


class QuoteSchema(ma.Schema):
    lines = ma.fields.List(ma.fields.Nested(QuotedLineSchema), required=True)
    gifts = ma.fields.List(ma.fields.Nested(GiftSchema), required=True)
    subtotal_fen = Int(required=True)
    discount_fen = Int(required=True)
    points_redeemed = Int(required=True)
    points_redeemed_value_fen = Int(required=True)
    points_cost = Int(required=True, metadata={"description": "Points the rush-sale lines cost"})
    total_fen = Int(required=True)
    coupon_code = ma.fields.String(allow_none=True)
    coupon_problem = ma.fields.String(allow_none=True)
    applied_promotions = ma.fields.List(Id(), required=True)
    problems = ma.fields.List(ma.fields.String(), required=True)


# --- volume tiers (organisations buying many units) ---


class TierArgs(ma.Schema):
    min_quantity = Int(required=True, strict=True, validate=ma.validate.Range(min=2, max=1_000_000))
    unit_price_fen = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=10**9))


class TiersArgs(ma.Schema):
    tiers = ma.fields.List(ma.fields.Nested(TierArgs), required=True, validate=ma.validate.Length(max=20))


class TierSchema(ma.Schema):
    min_quantity = Int(required=True)
    unit_price_fen = Int(validate=BIG, required=True)


class TierListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TierSchema), required=True)

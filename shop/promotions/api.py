from __future__ import annotations

from flask_smorest import Blueprint

from shop import clock
from shop.auth.guard import current_actor, login_required
from shop.http_cache import public_cache
from shop.promotions import quoting, service, tiers
from shop.promotions.schemas import (
    CouponArgs,
    CouponPageSchema,
    CouponSchema,
    PromotionArgs,
    PromotionPageSchema,
    PromotionQueryArgs,
    PromotionSchema,
    PromotionUpdateArgs,
    QuoteArgs,
    QuoteSchema,
    RushSaleArgs,
    RushSalePageSchema,
    RushSaleSchema,
    TierListSchema,
    TiersArgs,
)
from shop.request_session import get_session
from shop.settings import current as current_settings
from shop.web import PageArgs, documented_errors, page_body

blp = Blueprint(
    "promotions",
    __name__,
    url_prefix="/api/v1",
    description="Promotions (满减, 满赠, discounts), coupons, points rush sales, quotes; suppliers' volume tiers",
)


def points_settings() -> quoting.PointsSettings:
    return current_settings().points


@blp.route("/promotions", methods=["GET"])
@public_cache()
@blp.arguments(PromotionQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, PromotionPageSchema)
def list_promotions(query, paging):
    """Promotions, highest priority first (by default only those running now)."""
    active_at = clock.now() if query["active"] else None
    return page_body(service.list_promotions(get_session(), active_at=active_at, **paging), paging)


@blp.route("/promotions", methods=["POST"])
@blp.arguments(PromotionArgs)
@blp.response(201, PromotionSchema)
@documented_errors(403)
@login_required
def create_promotion(args):
    """Admins: create a threshold discount, threshold gift, percentage or fixed discount."""
    return service.create_promotion(get_session(), current_actor(), data=args)


@blp.route("/promotions/<int:promotion_id>", methods=["PATCH"])
@blp.arguments(PromotionUpdateArgs)
@blp.response(200, PromotionSchema)
@documented_errors(403, 404)
@login_required
def update_promotion(args, promotion_id):
    """Admins: rename, reprioritise, reschedule or switch off a promotion."""
    return service.update_promotion(get_session(), current_actor(), promotion_id, data=args)


@blp.route("/coupons", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, CouponPageSchema)
@documented_errors(403)
@login_required
def list_coupons(paging):
    """Admins: coupons and how often each has been used."""
    return page_body(service.list_coupons(get_session(), current_actor(), **paging), paging)


@blp.route("/coupons", methods=["POST"])
@blp.arguments(CouponArgs)
@blp.response(201, CouponSchema)
@documented_errors(403, 409)
@login_required
def create_coupon(args):
    """Admins: create a coupon code with a window, minimum spend and use limits."""
    return service.create_coupon(get_session(), current_actor(), data=args)


@blp.route("/rush-sales", methods=["GET"])
@public_cache()
@blp.arguments(PromotionQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, RushSalePageSchema)
def list_rush_sales(query, paging):
    """Points rush sales (by default those open now), with what is left."""
    active_at = clock.now() if query["active"] else None
    return page_body(service.list_rush_sales(get_session(), active_at=active_at, **paging), paging)


@blp.route("/rush-sales/<int:rush_sale_id>", methods=["GET"])
@public_cache()
@blp.response(200, RushSaleSchema)
@documented_errors(404)
def get_rush_sale(rush_sale_id):
    """One rush sale."""
    return service.get_rush_sale(get_session(), rush_sale_id)


@blp.route("/rush-sales", methods=["POST"])
@blp.arguments(RushSaleArgs)
@blp.response(201, RushSaleSchema)
@documented_errors(403)
@login_required
def create_rush_sale(args):
    """Admins: put a SKU on a points rush sale with a quantity cap, a per-buyer cap and a window."""
    return service.create_rush_sale(get_session(), current_actor(), data=args)


@blp.route("/quotes", methods=["POST"])
@blp.arguments(QuoteArgs)
@blp.response(200, QuoteSchema)
@login_required
def create_quote(args):
    """Price a list of SKUs for the logged-in buyer now: every line's discounts explained."""
    return quoting.quote(
        get_session(),
        user_id=current_actor().user_id,
        requested={str(i): item for i, item in enumerate(args["items"])},
        coupon_code=args["coupon_code"],
        points_requested=args["points"],
        settings=points_settings(),
        now=clock.now(),
    )


# --- volume tiers ------------------------------------------------------------------------------


@blp.route("/skus/<int:sku_id>/volume-tiers", methods=["GET"])
@public_cache()
@blp.response(200, TierListSchema)
@documented_errors(404)
def list_volume_tiers(sku_id):
    """A SKU's volume prices for organisations (public)."""
    return {"items": tiers.list_tiers(get_session(), sku_id)}


@blp.route("/skus/<int:sku_id>/volume-tiers", methods=["PUT"])
@blp.arguments(TiersArgs)
@blp.response(200, TierListSchema)
@documented_errors(404)
@login_required
def replace_volume_tiers(args, sku_id):
    """The SKU's supplier (or admins): set its whole list of volume tiers (cheaper with more units)."""
    return {"items": tiers.replace_tiers(get_session(), current_actor(), sku_id, tiers=args["tiers"], now=clock.now())}

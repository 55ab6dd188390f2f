"""Procurement API: pickup vouchers of bulk orders, checked and redeemed online or at a counter."""

from __future__ import annotations

from shop import clock
from shop.auth.guard import current_actor, login_required
from shop.extensions import rate_limited
from shop.procurement import (
    vouchers,
)
from shop.procurement.common_api import blp, settings
from shop.procurement.models import RedemptionChannel
from shop.procurement.schemas import (
    CodeArgs,
    CounterRedeemArgs,
    RedeemArgs,
    RedemptionPageSchema,
    RedemptionSchema,
    VoucherPageSchema,
    VoucherQueryArgs,
    VoucherSchema,
)
from shop.request_session import get_session
from shop.web import PageArgs, documented_errors, page_body


@blp.route("/procurement/organisations/<int:organisation_id>/vouchers", methods=["GET"])
@blp.arguments(VoucherQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, VoucherPageSchema)
@documented_errors(404)
@login_required
def list_vouchers(query, paging, organisation_id):
    """Members: the organisation's vouchers with their codes and QR payloads, to hand out."""
    result = vouchers.list_vouchers(
        get_session(),
        current_actor(),
        organisation_id=organisation_id,
        secret=settings().voucher_secret,
        now=clock.now(),
        **query,
        **paging,
    )
    return page_body(result, paging)


@blp.route("/procurement/bulk-orders/<int:order_id>/vouchers", methods=["GET"])
@blp.arguments(VoucherQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, VoucherPageSchema)
@documented_errors(404)
@login_required
def list_order_vouchers(query, paging, order_id):
    """Members: the vouchers a voucher order issued, with their codes."""
    result = vouchers.list_vouchers(
        get_session(),
        current_actor(),
        bulk_order_id=order_id,
        secret=settings().voucher_secret,
        now=clock.now(),
        **query,
        **paging,
    )
    return page_body(result, paging)


@blp.route("/procurement/vouchers/check", methods=["POST"])
@rate_limited("VOUCHER_RATE_LIMIT")
@blp.arguments(CodeArgs)
@blp.response(200, VoucherSchema)
@documented_errors(404)
@login_required
def check_voucher(args):
    """Whoever holds a code (or scanned its QR): what it is worth now."""
    return vouchers.check(get_session(), args["code"], clock.now())


@blp.route("/procurement/vouchers/redeem", methods=["POST"])
@rate_limited("VOUCHER_RATE_LIMIT")
@blp.arguments(RedeemArgs)
@blp.response(201, RedemptionSchema)
@documented_errors(404, 409)
@login_required
def redeem_online(args):
    """The holder redeems online: part of a value voucher, or a gift box shipped from a hall."""
    return vouchers.redeem(
        get_session(),
        current_actor(),
        raw_code=args["code"],
        channel=RedemptionChannel.ONLINE,
        amount_fen=args["amount_fen"],
        location_id=args["location_id"],
        delivery_address=args["delivery_address"],
        reference=args["reference"],
        now=clock.now(),
    )


@blp.route("/procurement/operator/vouchers/redeem", methods=["POST"])
@rate_limited("VOUCHER_RATE_LIMIT")
@blp.arguments(CounterRedeemArgs)
@blp.response(201, RedemptionSchema)
@documented_errors(403, 404, 409)
@login_required
def redeem_at_counter(args):
    """Operators of the location: scan the code and hand over goods for value (they leave the
    location's stock), or the gift box."""
    return vouchers.redeem(
        get_session(),
        current_actor(),
        raw_code=args["code"],
        channel=RedemptionChannel.COUNTER,
        amount_fen=None,
        location_id=args["location_id"],
        delivery_address=None,
        reference=args["reference"],
        now=clock.now(),
        lines=args["lines"],
    )


@blp.route("/procurement/vouchers/<int:voucher_id>/redemptions", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, RedemptionPageSchema)
@documented_errors(404)
@login_required
def list_redemptions(paging, voucher_id):
    """Members: the redemptions of one of the organisation's vouchers."""
    return page_body(vouchers.list_redemptions(get_session(), current_actor(), voucher_id, **paging), paging)

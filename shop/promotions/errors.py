"""The promotions slice's domain errors and their stable codes (a front end translates the codes)."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict


class PromotionsCode(StrEnum):
    COUPON_BUYER_LIMIT = "coupon_buyer_limit"
    COUPON_CODE_TAKEN = "coupon_code_taken"
    COUPON_MINIMUM_NOT_REACHED = "coupon_minimum_not_reached"
    COUPON_NOT_VALID_NOW = "coupon_not_valid_now"
    COUPON_USED_UP = "coupon_used_up"
    OFFER_UNAVAILABLE = "offer_unavailable"
    RUSH_SALE_BUYER_LIMIT = "rush_sale_buyer_limit"
    RUSH_SALE_SOLD_OUT = "rush_sale_sold_out"


class CouponCodeTaken(Conflict):
    code = PromotionsCode.COUPON_CODE_TAKEN
    message = "A coupon with this code exists already."


class OfferUnavailable(Conflict):
    code = PromotionsCode.OFFER_UNAVAILABLE
    message = "An offer in the cart is no longer available."


class CouponBuyerLimit(OfferUnavailable):
    code = PromotionsCode.COUPON_BUYER_LIMIT
    message = "You have used this coupon as often as allowed."


class CouponMinimumNotReached(OfferUnavailable):
    code = PromotionsCode.COUPON_MINIMUM_NOT_REACHED
    message = "The order does not reach the coupon's minimum spend."


class CouponNotValidNow(OfferUnavailable):
    code = PromotionsCode.COUPON_NOT_VALID_NOW
    message = "The coupon is not valid now."


class CouponUsedUp(OfferUnavailable):
    code = PromotionsCode.COUPON_USED_UP
    message = "The coupon has been used up."


class RushSaleBuyerLimit(OfferUnavailable):
    code = PromotionsCode.RUSH_SALE_BUYER_LIMIT
    message = "You have reached this rush sale's limit per buyer."


class RushSaleSoldOut(OfferUnavailable):
    code = PromotionsCode.RUSH_SALE_SOLD_OUT
    message = "The rush sale is sold out or closed."


class CouponRefused(OfferUnavailable):
    """The quote refused the coupon; the code says why (one of the quote's coupon problems)."""

    codes = (
        PromotionsCode.COUPON_USED_UP,
        PromotionsCode.COUPON_BUYER_LIMIT,
        PromotionsCode.COUPON_NOT_VALID_NOW,
        PromotionsCode.COUPON_MINIMUM_NOT_REACHED,
    )
    message = "The coupon cannot be used for this order."

    def __init__(self, problem: str, message: str | None = None, **details):
        super().__init__(message, **details)
        self.code = PromotionsCode(problem)
        assert self.code in self.codes

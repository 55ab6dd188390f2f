"""The orders slice's domain errors and their stable codes (a front end translates the codes)."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict


class OrdersCode(StrEnum):
    CART_QUANTITY_LIMIT = "cart_quantity_limit"
    CART_NOT_ORDERABLE = "cart_not_orderable"
    NOT_AWAITING_PICKUP = "not_awaiting_pickup"
    NOT_DELIVERY = "not_delivery"
    NOT_PICKUP = "not_pickup"
    NOT_READY = "not_ready"
    NOT_REFUNDABLE = "not_refundable"
    NOT_SHIPPED = "not_shipped"
    PICKUP_LOCKED = "pickup_locked"
    REFUND_EXCEEDS_QUANTITY = "refund_exceeds_quantity"
    WRONG_PICKUP_CODE = "wrong_pickup_code"


class QuantityLimit(Conflict):
    code = OrdersCode.CART_QUANTITY_LIMIT
    message = "A cart line holds at most 10000 units."


class CartNotOrderable(Conflict):
    code = OrdersCode.CART_NOT_ORDERABLE
    message = "Some lines cannot be ordered."


class NotAwaitingPickup(Conflict):
    code = OrdersCode.NOT_AWAITING_PICKUP
    message = "The order is not waiting to be picked up."


class NotDelivery(Conflict):
    code = OrdersCode.NOT_DELIVERY
    message = "Only delivery orders are shipped."


class NotPickup(Conflict):
    code = OrdersCode.NOT_PICKUP
    message = "Only pick-up orders wait at a counter."


class NotReady(Conflict):
    code = OrdersCode.NOT_READY
    message = "The order is not waiting for pick-up."


class NotRefundable(Conflict):
    code = OrdersCode.NOT_REFUNDABLE
    message = "This order cannot be refunded."


class NotShipped(Conflict):
    code = OrdersCode.NOT_SHIPPED
    message = "The order has not been shipped."


class PickupLocked(Conflict):
    code = OrdersCode.PICKUP_LOCKED
    message = "Too many wrong pick-up codes: the code is locked until the buyer asks for a new one."


class RefundExceedsQuantity(Conflict):
    code = OrdersCode.REFUND_EXCEEDS_QUANTITY
    message = "More units than are left to refund."


class WrongPickupCode(Conflict):
    """A wrong code was counted against the order: the caller commits that count (and its event)
    although the answer is an error, or guessing would cost nothing."""

    code = OrdersCode.WRONG_PICKUP_CODE
    message = "The pick-up code is wrong."

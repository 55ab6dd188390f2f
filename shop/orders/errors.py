"""The orders slice's domain errors and their stable codes (a front end translates the codes)."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict


class OrdersCode(StrEnum):
    CART_NOT_ORDERABLE = "cart_not_orderable"
    NOT_DELIVERY = "not_delivery"
    NOT_PICKUP = "not_pickup"
    NOT_READY = "not_ready"
    NOT_REFUNDABLE = "not_refundable"
    NOT_SHIPPED = "not_shipped"
    PICKUP_LOCKED = "pickup_locked"
    REFUND_EXCEEDS_QUANTITY = "refund_exceeds_quantity"
    WRONG_PICKUP_CODE = "wrong_pickup_code"


class CartNotOrderable(Conflict):
    code = OrdersCode.CART_NOT_ORDERABLE
    message = "Some lines cannot be ordered."


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
    message = "Too many wrong codes; the buyer must show the order to staff."


class RefundExceedsQuantity(Conflict):
    code = OrdersCode.REFUND_EXCEEDS_QUANTITY
    message = "More units than are left to refund."


class WrongPickupCode(Conflict):
    code = OrdersCode.WRONG_PICKUP_CODE
    message = "The pick-up code is wrong."

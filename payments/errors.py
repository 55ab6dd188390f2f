"""Errors of talking to a payment gateway: the caller's order is left as it was, and a retry is safe."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict, DomainError


class PaymentsCode(StrEnum):
    INVALID_EVENT = "invalid_event"
    INVALID_SIGNATURE = "invalid_signature"
    NOT_PAYABLE = "not_payable"
    PAYMENT_GATEWAY_ERROR = "payment_gateway_error"
    PAYMENT_GATEWAY_NOT_CONFIGURED = "payment_gateway_not_configured"
    PAYMENT_GATEWAY_UNAVAILABLE = "payment_gateway_unavailable"
    PAYMENT_IN_PROGRESS = "payment_in_progress"
    REFUND_EXCEEDS_PAYMENT = "refund_exceeds_payment"


class GatewayUnavailable(DomainError):
    """The gateway could not be reached or did not answer in time (or is overloaded)."""

    status = 503
    code = PaymentsCode.PAYMENT_GATEWAY_UNAVAILABLE
    message = "The payment provider could not be reached; nothing was charged or changed. Try again."


class GatewayError(DomainError):
    """The gateway answered with an error we did not expect."""

    status = 502
    code = PaymentsCode.PAYMENT_GATEWAY_ERROR
    message = "The payment provider refused the request; nothing was changed here."


class GatewayNotConfigured(DomainError):
    status = 503
    code = PaymentsCode.PAYMENT_GATEWAY_NOT_CONFIGURED
    message = "This payment method is not set up on this server."


class PaymentInProgress(Conflict):
    code = PaymentsCode.PAYMENT_IN_PROGRESS
    message = (
        "A card, Alipay or WeChat Pay payment of this order is completing at the payment provider; "
        "its result arrives in a moment."
    )


class InvalidSignature(DomainError):
    status = 400
    code = PaymentsCode.INVALID_SIGNATURE
    message = "The webhook signature is missing, wrong or too old."


class InvalidEvent(DomainError):
    status = 422
    code = PaymentsCode.INVALID_EVENT
    message = "The webhook body is not a payment provider event."


class NotPayable(Conflict):
    """The payable (an order, a bulk order) is not awaiting payment."""

    code = PaymentsCode.NOT_PAYABLE
    message = "This order is not awaiting payment."


class RefundExceedsPayment(Conflict):
    code = PaymentsCode.REFUND_EXCEEDS_PAYMENT
    message = "A refund cannot exceed what was paid."

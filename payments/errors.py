"""Errors of talking to a payment gateway: the caller's order is left as it was, and a retry is safe."""

from __future__ import annotations

from shop.errors import Conflict, DomainError


class GatewayUnavailable(DomainError):
    """The gateway could not be reached or did not answer in time (or is overloaded)."""

    status = 503
    code = "payment_gateway_unavailable"
    message = "The payment provider could not be reached; nothing was charged or changed. Try again."


class GatewayError(DomainError):
    """The gateway answered with an error we did not expect."""

    status = 502
    code = "payment_gateway_error"
    message = "The payment provider refused the request; nothing was changed here."


class GatewayNotConfigured(DomainError):
    status = 503
    code = "payment_gateway_not_configured"
    message = "This payment method is not set up on this server."


class PaymentInProgress(Conflict):
    code = "payment_in_progress"
    message = (
        "A card, Alipay or WeChat Pay payment of this order is completing at the payment provider; "
        "its result arrives in a moment."
    )


class InvalidSignature(DomainError):
    status = 400
    code = "invalid_signature"
    message = "The webhook signature is missing, wrong or too old."


class InvalidEvent(DomainError):
    status = 422
    code = "invalid_event"
    message = "The webhook body is not a payment provider event."

"""What payment gateways send us: Stripe's signed webhook events."""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask_smorest import Blueprint

from payments import payables
from payments.errors import InvalidEvent
from shop import clock
from shop.extensions import rate_limited
from shop.orders.schemas import StripeEventSchema, WebhookAckSchema
from shop.request_session import get_session
from shop.settings import current as current_settings
from shop.web import documented_errors

MAX_EVENT_BYTES = 1024 * 1024

blp = Blueprint(
    "payments", __name__, url_prefix="/api/v1", description="Payment gateways: Stripe's signed webhook events"
)


@blp.route("/payments/stripe/webhook", methods=["POST"])
@rate_limited("WEBHOOK_RATE_LIMIT")
@blp.doc(
    security=[],
    parameters=[
        {
            "in": "header",
            "name": "Stripe-Signature",
            "required": True,
            "description": "t=<unix time>,v1=<HMAC-SHA256 of '<t>.<body>' with the webhook secret>",
            "schema": {"type": "string", "maxLength": 2000},
        }
    ],
    requestBody={"required": True, "content": {"application/json": {"schema": StripeEventSchema}}},
)
@blp.response(200, WebhookAckSchema)
@documented_errors(400, 413, 422, 503)
def stripe_webhook():
    """Stripe's signed events: payments succeeded, failed or cancelled, refunds made at Stripe.

    Verified by signature first: 400 `invalid_signature` if it is missing, wrong or older than
    `STRIPE_WEBHOOK_TOLERANCE_SECONDS`, and nothing changes. Then each event is processed once, by
    its id, and applied to what its attempt pays, a shop order or an organisation's bulk order:
    `payment_intent.succeeded` pays the order if amount and currency match (else, or if the order
    no longer awaits payment, the money goes back); `payment_intent.payment_failed` keeps the
    order payable (or lets it expire); `payment_intent.canceled` closes the attempt;
    `charge.refunded` records a refund made at Stripe. A duplicate or stale event changes nothing
    (`duplicate: true`). A signed body that is not a Stripe event is 422 `invalid_event`; 503 when
    the webhook secret is not configured or Stripe cannot be reached to send money back. Any error
    answer makes Stripe deliver the event again later.
    """
    registry = current_settings().payments
    request.max_content_length = MAX_EVENT_BYTES  # larger: 413, before anything is read
    payload = request.get_data(cache=False)
    event = registry.stripe.verify_event(payload, request.headers.get("Stripe-Signature"))
    try:
        event = StripeEventSchema().load(event) if isinstance(event, dict) else None
    except ma.ValidationError as error:
        raise InvalidEvent(fields=error.messages) from error
    if event is None:
        raise InvalidEvent(reason="not a JSON object")
    session = get_session()
    row = payables.handle_stripe_event(session, event, payments=registry, now=clock.now())
    return {"received": True, "duplicate": row is None, "outcome": row.outcome if row else None}

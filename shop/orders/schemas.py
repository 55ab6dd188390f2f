from __future__ import annotations

import marshmallow as ma

from payments.models import EventSource, PaymentStatus, RefundKind
from shop.orders.models import Fulfilment, OrderStatus
from shop.promotions.schemas import AdjustmentSchema, QuoteSchema
from shop.web import Id, Int, Timestamp, page_schema


class CartLineArgs(ma.Schema):
    sku_id = Id(required=True)
    quantity = Int(
        load_default=None,
        strict=True,
        validate=ma.validate.Range(min=1, max=10_000),
        metadata={"description": "Units; required for goods. A service: rooms, seats or places (default: enough)"},
    )
    fulfilment = ma.fields.Enum(
        Fulfilment, by_value=True, required=True, metadata={"description": "booking for a service's slot"}
    )
    location_id = Id(
        load_default=None,
        metadata={"description": "Goods: the counter or hall to pick up at, the hall that ships a delivery"},
    )
    rush_sale_id = Id(load_default=None)
    slot_id = Id(load_default=None, metadata={"description": "A service: the slot booked"})
    party_size = Int(
        load_default=None, strict=True, validate=ma.validate.Range(min=1, max=1000), metadata={"description": "Guests"}
    )


class CartLineUpdateArgs(ma.Schema):
    quantity = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=10_000))


class CartLineSchema(ma.Schema):
    id = Int(required=True)
    sku_id = Id(required=True)
    quantity = Int(required=True)
    fulfilment = ma.fields.Enum(Fulfilment, by_value=True, required=True)
    location_id = Id(required=True)
    rush_sale_id = Id(allow_none=True)
    slot_id = Id(allow_none=True)
    party_size = Int(allow_none=True)


class CartSchema(ma.Schema):
    lines = ma.fields.List(ma.fields.Nested(CartLineSchema), required=True)
    quote = ma.fields.Nested(
        QuoteSchema, allow_none=True, metadata={"description": "The cart priced now; line keys are cart line ids"}
    )


class CartQuoteArgs(ma.Schema):
    coupon_code = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40))
    points = Int(load_default=0, validate=ma.validate.Range(min=0, max=10_000_000))


class AddressSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    phone = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[0-9+\- ]{5,20}$"))
    district_id = Id(load_default=None)
    address = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))


class CheckoutArgs(ma.Schema):
    line_ids = ma.fields.List(
        Int(),
        load_default=None,
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "Cart lines to order (default: the whole cart)"},
    )
    coupon_code = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40))
    points = Int(load_default=0, strict=True, validate=ma.validate.Range(min=0, max=10_000_000))
    delivery_address = ma.fields.Nested(AddressSchema, load_default=None)
    address_id = Id(
        load_default=None,
        metadata={"description": "A delivery's address from the address book (default: the book's default)"},
    )

    @ma.validates_schema
    def one_address(self, data, **_kwargs):
        if data.get("delivery_address") and data.get("address_id"):
            raise ma.ValidationError("Give address_id or delivery_address, not both.", "address_id")


class OrderLineSchema(ma.Schema):
    id = Int(required=True)
    sku_id = Id(required=True)
    product_id = Id(required=True)
    name = ma.fields.String(required=True)
    quantity = Int(required=True)
    unit_price_fen = Int(required=True)
    subtotal_fen = Int(required=True)
    discount_fen = Int(required=True)
    points_value_fen = Int(required=True)
    total_fen = Int(required=True)
    points_cost = Int(required=True)
    rush_sale_id = Id(allow_none=True)
    gift_promotion_id = Id(allow_none=True)
    adjustments = ma.fields.List(ma.fields.Nested(AdjustmentSchema), required=True)
    refunded_quantity = Int(required=True)
    refunded_fen = Int(required=True)


class OrderSchema(ma.Schema):
    id = Int(required=True)
    number = ma.fields.String(required=True)
    buyer_id = Id(required=True)
    status = ma.fields.Enum(OrderStatus, by_value=True, required=True)
    location_id = Id(required=True)
    fulfilment = ma.fields.Enum(Fulfilment, by_value=True, required=True)
    delivery_address = ma.fields.Dict(allow_none=True)
    subtotal_fen = Int(required=True)
    discount_fen = Int(required=True)
    points_redeemed = Int(required=True)
    points_redeemed_value_fen = Int(required=True)
    points_cost = Int(required=True)
    total_fen = Int(required=True)
    paid_fen = Int(required=True)
    refunded_fen = Int(required=True)
    points_earned = Int(required=True)
    pickup_code = ma.fields.String(
        attribute="shown_pickup_code",
        dump_only=True,
        allow_none=True,
        metadata={"description": "Shown to the buyer only, once paid"},
    )
    pickup_attempts = Int(
        required=True, metadata={"description": "Wrong pick-up codes given since the code was issued"}
    )
    pickup_locked_at = Timestamp(
        allow_none=True, metadata={"description": "When wrong codes locked the pick-up code; a new code unlocks"}
    )
    tracking_number = ma.fields.String(allow_none=True)
    expires_at = Timestamp(required=True)
    paid_at = Timestamp(allow_none=True)
    completed_at = Timestamp(allow_none=True)
    created_at = Timestamp(required=True)
    lines = ma.fields.List(ma.fields.Nested(OrderLineSchema), required=True)


OrderPageSchema = page_schema(OrderSchema, "OrderPage")


class OrderQueryArgs(ma.Schema):
    status = ma.fields.Enum(OrderStatus, by_value=True, load_default=None)


class LocationOrderQueryArgs(OrderQueryArgs):
    location_id = Id(load_default=None)


class OrderEventSchema(ma.Schema):
    id = Int(required=True)
    from_status = ma.fields.Enum(OrderStatus, by_value=True, allow_none=True)
    to_status = ma.fields.Enum(OrderStatus, by_value=True, required=True)
    actor_id = Id(allow_none=True)
    at = Timestamp(required=True)
    note = ma.fields.String(required=True)


OrderEventPageSchema = page_schema(OrderEventSchema, "OrderEventPage")


class PayArgs(ma.Schema):
    gateway = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(["points", "offline", "stripe", "voucher"]),
        metadata={
            "description": "points: settles at once; offline: a bank transfer an admin confirms; "
            "stripe: card, Alipay or WeChat Pay, confirmed by the buyer with Stripe.js using client_secret; "
            "voucher: a value pickup voucher (提货券) pays the whole total at once"
        },
    )
    voucher_code = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=100),
        metadata={"description": "gateway voucher: the voucher's code, or its scanned QR payload"},
    )

    @ma.validates_schema
    def _code_with_voucher(self, data, **_kwargs):
        if data.get("gateway") == "voucher" and not data.get("voucher_code"):
            raise ma.ValidationError("Required to pay with a voucher.", field_name="voucher_code")
        if data.get("gateway") != "voucher" and data.get("voucher_code"):
            raise ma.ValidationError("Only with gateway voucher.", field_name="voucher_code")


class ConfirmArgs(ma.Schema):
    reference = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=100),
        metadata={"description": "The bank transfer reference"},
    )


class PaymentEventSchema(ma.Schema):
    id = Int(required=True)
    source = ma.fields.Enum(EventSource, by_value=True, required=True)
    event_id = ma.fields.String(allow_none=True, metadata={"description": "The gateway's event id (evt_…)"})
    type = ma.fields.String(required=True, metadata={"example": "payment_intent.succeeded"})
    outcome = ma.fields.String(required=True, metadata={"description": "What it changed here"})
    occurred_at = Timestamp(allow_none=True)
    received_at = Timestamp(required=True)


class PaymentSchema(ma.Schema):
    id = Int(required=True)
    order_id = Id(required=True)
    gateway = ma.fields.String(required=True)
    status = ma.fields.Enum(
        PaymentStatus,
        by_value=True,
        required=True,
        metadata={
            "description": "pending: waiting for the money (a declined card leaves a Stripe attempt pending, "
            "with the decline in failure_message, for another try); returned: money came for an attempt the "
            "order could not take and was sent back in full"
        },
    )
    amount_fen = Int(required=True)
    currency = ma.fields.String(required=True)
    points_used = Int(required=True)
    refunded_fen = Int(required=True)
    reference = ma.fields.String(allow_none=True, metadata={"description": "Bank transfer reference; Stripe charge id"})
    external_id = ma.fields.String(
        allow_none=True, metadata={"description": "The gateway's id of the attempt (Stripe PaymentIntent, pi_…)"}
    )
    gateway_status = ma.fields.String(allow_none=True, metadata={"description": "The gateway's last known status"})
    failure_message = ma.fields.String(allow_none=True)
    client_secret = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "Only in the answer to paying with Stripe, for the buyer, while the attempt is open: "
            "hand it to Stripe.js to confirm the payment. Never stored."
        },
    )
    created_at = Timestamp(required=True)
    completed_at = Timestamp(allow_none=True)
    events = ma.fields.List(
        ma.fields.Nested(PaymentEventSchema),
        metadata={"description": "What the gateway told us about this attempt, in order"},
    )


PaymentPageSchema = page_schema(PaymentSchema, "PaymentPage")


class PickupArgs(ma.Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^\d{6}$"))


class ShipArgs(ma.Schema):
    tracking_number = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=60))


class RefundLineArgs(ma.Schema):
    line_id = Id(required=True)
    quantity = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=10_000))


class RefundArgs(ma.Schema):
    lines = ma.fields.List(ma.fields.Nested(RefundLineArgs), required=True, validate=ma.validate.Length(min=1))
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))
    reference = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=100),
        metadata={"description": "Transfer reference of the money sent back (offline)"},
    )


class RefundSchema(ma.Schema):
    id = Int(required=True)
    order_id = Id(required=True)
    payment_id = Id(allow_none=True)
    kind = ma.fields.Enum(
        RefundKind,
        by_value=True,
        required=True,
        metadata={
            "description": "refund: through this API; outside: made at the payment provider and learned from "
            "its event (money only); return: money of an attempt the order could not take, sent back"
        },
    )
    external_id = ma.fields.String(allow_none=True, metadata={"description": "The gateway's refund id (re_…)"})
    amount_fen = Int(required=True)
    points_returned = Int(required=True)
    points_clawed_back = Int(required=True)
    lines = ma.fields.List(ma.fields.Dict(), required=True)
    reference = ma.fields.String(allow_none=True)
    reason = ma.fields.String(required=True)
    created_at = Timestamp(required=True)


RefundPageSchema = page_schema(RefundSchema, "RefundPage")


class WebhookAckSchema(ma.Schema):
    received = ma.fields.Boolean(required=True)
    duplicate = ma.fields.Boolean(required=True, metadata={"description": "Seen before: nothing was done again"})
    outcome = ma.fields.String(allow_none=True, metadata={"description": "What the event changed here"})


class StripeEventObjectSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255))
    object = ma.fields.String(metadata={"example": "payment_intent"})
    payment_intent = ma.fields.Raw(
        allow_none=True,
        validate=lambda v: v is None or (isinstance(v, str) and 0 < len(v) <= 255),
        metadata={"description": "On a charge: its PaymentIntent's id"},
    )


class StripeEventDataSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    object = ma.fields.Nested(StripeEventObjectSchema, required=True)


class StripeEventSchema(ma.Schema):
    """A Stripe event as Stripe sends it (documented here; read only after its signature is verified)."""

    class Meta:
        unknown = ma.INCLUDE

    id = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=255), metadata={"example": "evt_1QexampleA"}
    )
    type = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=100), metadata={"example": "payment_intent.succeeded"}
    )
    created = Int(required=True, metadata={"description": "Unix time"})
    data = ma.fields.Nested(StripeEventDataSchema, required=True)

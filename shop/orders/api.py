from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from payments import payables
from payments import service as payments
from shop import clock, idempotency
from shop.auth.guard import current_actor, login_required
from shop.extensions import rate_limited
from shop.orders import cart, disclosure, refunds, service
from shop.orders import checkout as checkouts
from shop.orders.errors import WrongPickupCode
from shop.orders.models import Order
from shop.orders.schemas import (
    CartLineArgs,
    CartLineSchema,
    CartLineUpdateArgs,
    CartQuoteArgs,
    CartSchema,
    CheckoutArgs,
    ConfirmArgs,
    LocationOrderQueryArgs,
    OrderEventPageSchema,
    OrderPageSchema,
    OrderQueryArgs,
    OrderSchema,
    PayArgs,
    PaymentPageSchema,
    PaymentSchema,
    PickupArgs,
    RefundArgs,
    RefundPageSchema,
    RefundSchema,
    ShipArgs,
)
from shop.request_session import get_session
from shop.settings import current as current_settings
from shop.web import IDEMPOTENCY, PageArgs, documented_errors, page_body

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description="Cart, checkout, orders, payments, refunds")


def settings() -> service.OrderSettings:
    return current_settings().orders


def _idempotency_key() -> str | None:
    return request.headers.get("Idempotency-Key")


# --- cart ------------------------------------------------------------------------------------


def _cart_body(coupon_code=None, points=0):
    session, actor = get_session(), current_actor()
    lines = cart.list_lines(session, actor.user_id)
    quote = checkouts.quote_cart(
        session,
        actor.user_id,
        lines,
        coupon_code=coupon_code,
        points_requested=points,
        settings=settings(),
        now=clock.now(),
    )
    return {"lines": lines, "quote": quote}


@blp.route("/cart", methods=["GET"])
@blp.arguments(CartQuoteArgs, location="query")
@blp.response(200, CartSchema)
@login_required
def get_cart(query):
    """The buyer's cart, priced now (lines of products no longer in force are flagged, not priced)."""
    return _cart_body(**query)


@blp.route("/cart/lines", methods=["POST"])
@blp.arguments(CartLineArgs)
@blp.response(201, CartLineSchema)
@documented_errors(409)
@login_required
def add_cart_line(args):
    """Add a SKU with its fulfilment and location. The same SKU, place, fulfilment and offer adds up
    in one line, up to 10,000 units (beyond: 409 `cart_quantity_limit`); a pick-up and a delivery of
    one SKU are separate lines, ordered separately."""
    return cart.add_line(get_session(), current_actor().user_id, data=args)


@blp.route("/cart/lines/<int:line_id>", methods=["PATCH"])
@blp.arguments(CartLineUpdateArgs)
@blp.response(200, CartLineSchema)
@documented_errors(404, 409)
@login_required
def update_cart_line(args, line_id):
    """Change a line's quantity."""
    return cart.update_line(get_session(), current_actor().user_id, line_id, **args)


@blp.route("/cart/lines/<int:line_id>", methods=["DELETE"])
@blp.response(204)
@documented_errors(404)
@login_required
def remove_cart_line(line_id):
    """Remove a line."""
    cart.remove_line(get_session(), current_actor().user_id, line_id)


# --- orders ----------------------------------------------------------------------------------


@blp.route("/orders", methods=["POST"])
@blp.arguments(CheckoutArgs)
@blp.response(201, OrderSchema)
@blp.doc(**IDEMPOTENCY)
@documented_errors(404, 409)
@login_required
def checkout(args):
    """Check out the cart: re-priced on the server, stock reserved at the chosen location (earliest
    best-before first), coupon used, points held; the order waits for payment."""
    session, actor = get_session(), current_actor()
    created: list[Order] = []  # the new order itself answers: no reload from the database

    def create() -> int:
        created.append(
            checkouts.checkout(
                session,
                actor,
                line_ids=args["line_ids"],
                coupon_code=args["coupon_code"],
                points_requested=args["points"],
                delivery_address=args["delivery_address"],
                address_id=args["address_id"],
                settings=settings(),
                now=clock.now(),
            )
        )
        return created[0].id

    order_id, _created = idempotency.run_once(
        session, user_id=actor.user_id, scope="orders.create", key=_idempotency_key(), payload=args, create=create
    )
    return disclosure.for_reader(actor, created[0] if created else session.get(Order, order_id))


@blp.route("/orders", methods=["GET"])
@blp.arguments(OrderQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, OrderPageSchema)
@login_required
def list_my_orders(query, paging):
    """The buyer's own orders, newest first (unpaid ones past their time show as cancelled)."""
    actor = current_actor()
    return page_body(
        disclosure.page_for_reader(
            actor, service.list_my_orders(get_session(), actor, now=clock.now(), **query, **paging)
        ),
        paging,
    )


@blp.route("/operator/orders", methods=["GET"])
@blp.arguments(LocationOrderQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, OrderPageSchema)
@documented_errors(403)
@login_required
def list_location_orders(query, paging):
    """Hall operators: the orders of their locations."""
    actor = current_actor()
    return page_body(
        disclosure.page_for_reader(actor, service.list_location_orders(get_session(), actor, **query, **paging)),
        paging,
    )


@blp.route("/orders/<int:order_id>", methods=["GET"])
@blp.response(200, OrderSchema)
@documented_errors(404)
@login_required
def get_order(order_id):
    """One order: its buyer, the operators of its location and admins see it."""
    actor = current_actor()
    return disclosure.for_reader(actor, service.get_order(get_session(), actor, order_id, now=clock.now()))


@blp.route("/orders/<int:order_id>/events", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, OrderEventPageSchema)
@documented_errors(404)
@login_required
def list_order_events(paging, order_id):
    """Every state change of the order: from, to, who, when."""
    return page_body(service.list_events(get_session(), current_actor(), order_id, **paging), paging)


@blp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@blp.response(200, OrderSchema)
@documented_errors(404, 409, 502, 503)
@login_required
def cancel(order_id):
    """The buyer cancels an unpaid order; stock, coupon and points are released. An open Stripe
    payment is closed at Stripe first: if it is completing, 409 `payment_in_progress`; if Stripe
    cannot be reached, 503 and the order stays as it was."""
    actor = current_actor()
    return disclosure.for_reader(
        actor, service.cancel_order(get_session(), actor, order_id, now=clock.now(), settings=settings())
    )


@blp.route("/orders/<int:order_id>/payments", methods=["POST"])
@blp.arguments(PayArgs)
@blp.response(201, PaymentSchema)
@blp.doc(**IDEMPOTENCY)
@documented_errors(404, 409, 502, 503)
@login_required
def pay(args, order_id):
    """Pay the order's total (computed by the server) with points, start an offline bank transfer, or
    start a Stripe payment (card, Alipay, WeChat Pay): the answer carries `client_secret` for
    Stripe.js, and the order becomes paid when Stripe's signed event (or reconciliation) proves it.
    Asking again while a Stripe attempt is open returns that attempt, never a second one. If Stripe
    cannot be reached (503) or refuses (502), nothing changes here and a retry is safe.

    With a value pickup voucher (`voucher_code`: its code or QR payload, held by whoever has it, as
    for any online redemption) the whole total is redeemed from the voucher at once and the order is
    paid; 404 for an unknown code, 409 `voucher_not_redeemable` (with `remaining_fen`) when the voucher
    is a gift box, expired, or its remaining value does not cover the total. A refund gives the value
    back to the voucher (past its expiry: to the organisation's budget where it returns unredeemed
    value, else it lapses)."""
    session, actor = get_session(), current_actor()
    payment_id, _ = idempotency.run_once(
        session,
        user_id=actor.user_id,
        scope=f"orders.{order_id}.pay",
        key=_idempotency_key(),
        payload=args,
        create=lambda: (
            service.pay_order(
                session,
                actor,
                order_id,
                gateway_name=args["gateway"],
                voucher_code=args["voucher_code"],
                settings=settings(),
                now=clock.now(),
            ).id
        ),
    )
    return payables.with_client_secret(payments.get_payment(session, payment_id), payments=settings().payments)


@blp.route("/orders/<int:order_id>/payments", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, PaymentPageSchema)
@documented_errors(404)
@login_required
def list_payments(paging, order_id):
    """Payment attempts of the order, oldest first: gateway, amounts, refunded amount, the gateway's
    ids and status, and what the gateway told us about each (buyer, operators of the location, admins)."""
    service.get_order(get_session(), current_actor(), order_id, now=clock.now())
    return page_body(payments.list_payments(get_session(), order_id, **paging), paging)


@blp.route("/payments/<int:payment_id>/confirm", methods=["POST"])
@blp.arguments(ConfirmArgs)
@blp.response(200, PaymentSchema)
@documented_errors(403, 404, 409)
@login_required
def confirm_offline(args, payment_id):
    """Admins: record the bank transfer that paid an order; the order becomes paid."""
    return service.confirm_offline_payment(
        get_session(), current_actor(), payment_id, settings=settings(), now=clock.now(), **args
    )


@blp.route("/orders/<int:order_id>/ready", methods=["POST"])
@blp.response(200, OrderSchema)
@documented_errors(404, 409)
@login_required
def ready(order_id):
    """Operators of the location: the order waits at the counter."""
    actor = current_actor()
    return disclosure.for_reader(actor, service.mark_ready(get_session(), actor, order_id, now=clock.now()))


@blp.route("/orders/<int:order_id>/pickup", methods=["POST"])
@rate_limited("PICKUP_RATE_LIMIT")
@blp.arguments(PickupArgs)
@blp.response(200, OrderSchema)
@documented_errors(404, 409)
@login_required
def pickup(args, order_id):
    """Operators of the location: hand the order over against the buyer's pick-up code. A wrong code
    is 409 `wrong_pickup_code` (with `attempts_left`) and is recorded in the order's events; after
    `PICKUP_MAX_ATTEMPTS` wrong codes the code is locked (409 `pickup_locked`, `pickup_locked_at` on
    the order) until the buyer asks for a new one."""
    session, actor = get_session(), current_actor()
    try:
        order = service.hand_over(session, actor, order_id, settings=settings(), now=clock.now(), **args)
    except WrongPickupCode:
        session.commit()  # the wrong code counts although the answer is an error
        raise
    return disclosure.for_reader(actor, order)


@blp.route("/orders/<int:order_id>/pickup-code", methods=["POST"])
@rate_limited("PICKUP_RATE_LIMIT")
@blp.response(200, OrderSchema)
@documented_errors(404, 409)
@login_required
def renew_pickup_code(order_id):
    """The buyer gets a new pick-up code (the old one stops working, wrong attempts start again from
    zero): after the code was locked by wrong codes, or if someone else saw it."""
    actor = current_actor()
    return disclosure.for_reader(actor, service.renew_pickup_code(get_session(), actor, order_id, now=clock.now()))


@blp.route("/orders/<int:order_id>/ship", methods=["POST"])
@blp.arguments(ShipArgs)
@blp.response(200, OrderSchema)
@documented_errors(404, 409)
@login_required
def ship(args, order_id):
    """Operators of the hall: the delivery has left."""
    actor = current_actor()
    return disclosure.for_reader(actor, service.ship(get_session(), actor, order_id, now=clock.now(), **args))


@blp.route("/orders/<int:order_id>/delivered", methods=["POST"])
@blp.response(200, OrderSchema)
@documented_errors(404, 409)
@login_required
def delivered(order_id):
    """The buyer (or the hall) confirms the delivery arrived; the order completes and earns points."""
    actor = current_actor()
    return disclosure.for_reader(
        actor, service.confirm_delivery(get_session(), actor, order_id, settings=settings(), now=clock.now())
    )


@blp.route("/orders/<int:order_id>/refunds", methods=["POST"])
@blp.arguments(RefundArgs)
@blp.response(201, RefundSchema)
@blp.doc(**IDEMPOTENCY)
@documented_errors(404, 409, 502, 503)
@login_required
def refund(args, order_id):
    """Admins and operators of the location: refund units of lines; money (through the gateway that
    took it: points, bank transfer reference, or a Stripe refund), points and stock go back. Never
    more than was paid (409 `refund_exceeds_payment`). If Stripe cannot be reached (503) or refuses
    (502), nothing changes here and a retry (same Idempotency-Key) asks Stripe for the same refund."""
    session, actor = get_session(), current_actor()
    refund_id, _ = idempotency.run_once(
        session,
        user_id=actor.user_id,
        scope=f"orders.{order_id}.refund",
        key=_idempotency_key(),
        payload=args,
        create=lambda: refunds.refund_order(session, actor, order_id, settings=settings(), now=clock.now(), **args).id,
    )
    return payments.get_refund(session, refund_id)


@blp.route("/orders/<int:order_id>/refunds", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, RefundPageSchema)
@documented_errors(404)
@login_required
def list_refunds(paging, order_id):
    """Refunds of the order."""
    service.get_order(get_session(), current_actor(), order_id, now=clock.now())
    return page_body(payments.list_refunds(get_session(), order_id, **paging), paging)

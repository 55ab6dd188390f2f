"""Procurement API: bulk orders, their lines, approval, payment, fulfilment and events."""

from __future__ import annotations

from flask import request

from payments import payables
from payments.models import Payment
from shop import clock, idempotency
from shop.auth.guard import current_actor, login_required
from shop.procurement import (
    bulk_orders,
)
from shop.procurement.common_api import IDEMPOTENCY, blp, settings
from shop.procurement.schemas import (
    BulkConfirmArgs,
    BulkOrderArgs,
    BulkOrderEventPageSchema,
    BulkOrderPageSchema,
    BulkOrderQueryArgs,
    BulkOrderSchema,
    BulkOrderUpdateArgs,
    BulkPayArgs,
    BulkPaymentPageSchema,
    BulkPaymentSchema,
    CancelArgs,
    EvaluateArgs,
    ImportArgs,
    LinePageSchema,
    LinesArgs,
    NoteArgs,
    RejectArgs,
    SuppliedQueryArgs,
)
from shop.request_session import get_session
from shop.web import PageArgs, documented_errors, page_body


@blp.route("/procurement/organisations/<int:organisation_id>/bulk-orders", methods=["POST"])
@blp.arguments(BulkOrderArgs)
@blp.response(201, BulkOrderSchema)
@blp.doc(**IDEMPOTENCY)
@documented_errors(403, 404, 409)
@login_required
def create_bulk_order(args, organisation_id):
    """Purchasers: start a draft bulk order of goods, or of pickup vouchers."""
    session, actor = get_session(), current_actor()
    order_id, _ = idempotency.run_once(
        session,
        user_id=actor.user_id,
        scope=f"procurement.{organisation_id}.bulk_orders",
        key=request.headers.get("Idempotency-Key"),
        payload=args,
        create=lambda: bulk_orders.create_bulk_order(session, actor, organisation_id, data=args, now=clock.now()).id,
    )
    return bulk_orders.get_bulk_order(session, actor, order_id)


@blp.route("/procurement/organisations/<int:organisation_id>/bulk-orders", methods=["GET"])
@blp.arguments(BulkOrderQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, BulkOrderPageSchema)
@documented_errors(404)
@login_required
def list_bulk_orders(query, paging, organisation_id):
    """The organisation's bulk orders, newest first."""
    result = bulk_orders.list_bulk_orders(get_session(), current_actor(), organisation_id, **query, **paging)
    return page_body(result, paging)


@blp.route("/procurement/supplied-bulk-orders", methods=["GET"])
@blp.arguments(SuppliedQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, BulkOrderPageSchema)
@documented_errors(403)
@login_required
def list_supplied(query, paging):
    """Hall operators: approved bulk orders their locations supply."""
    return page_body(bulk_orders.list_supplied(get_session(), current_actor(), **query, **paging), paging)


@blp.route("/procurement/bulk-orders/<int:order_id>", methods=["GET"])
@blp.response(200, BulkOrderSchema)
@documented_errors(404)
@login_required
def get_bulk_order(order_id):
    """One bulk order (members of its organisation; operators of its supply location once approved)."""
    return bulk_orders.get_bulk_order(get_session(), current_actor(), order_id)


@blp.route("/procurement/bulk-orders/<int:order_id>", methods=["PATCH"])
@blp.arguments(BulkOrderUpdateArgs)
@blp.response(200, BulkOrderSchema)
@documented_errors(403, 404, 409)
@login_required
def update_bulk_order(args, order_id):
    """Purchasers: change a draft's title, note, supply location or voucher expiry."""
    return bulk_orders.update_bulk_order(get_session(), current_actor(), order_id, data=args, now=clock.now())


@blp.route("/procurement/bulk-orders/<int:order_id>/lines", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, LinePageSchema)
@documented_errors(404)
@login_required
def list_lines(paging, order_id):
    """The order's lines with their prices, in row order."""
    return page_body(bulk_orders.list_lines(get_session(), current_actor(), order_id, **paging), paging)


@blp.route("/procurement/bulk-orders/<int:order_id>/lines", methods=["POST"])
@blp.arguments(LinesArgs)
@blp.response(200, BulkOrderSchema)
@documented_errors(403, 404, 409)
@login_required
def add_lines(args, order_id):
    """Purchasers: add lines to a draft, all or none (a bad line is named by its row and column)."""
    return bulk_orders.add_lines(get_session(), current_actor(), order_id, rows=args["lines"], now=clock.now())


@blp.route("/procurement/bulk-orders/<int:order_id>/lines/import", methods=["POST"])
@blp.arguments(ImportArgs, location="files")
@blp.response(200, BulkOrderSchema)
@documented_errors(403, 404, 409)
@login_required
def import_lines(files, order_id):
    """Purchasers: add the lines of a CSV or XLSX file (columns sku_code, quantity, department,
    pickup_location_id or delivery_address, recipient, phone; voucher_value_fen in voucher orders).
    One bad cell and nothing is added: the error lists every bad row and column."""
    upload = files["file"]
    return bulk_orders.import_lines(
        get_session(), current_actor(), order_id, filename=upload.filename or "", data=upload.read(), now=clock.now()
    )


@blp.route("/procurement/bulk-orders/<int:order_id>/lines/<int:line_id>", methods=["DELETE"])
@blp.response(200, BulkOrderSchema)
@documented_errors(403, 404, 409)
@login_required
def remove_line(order_id, line_id):
    """Purchasers: remove a line from a draft."""
    return bulk_orders.remove_line(get_session(), current_actor(), order_id, line_id, now=clock.now())


def _move(name: str, *args, **kwargs):
    return getattr(bulk_orders, name)(get_session(), current_actor(), *args, now=clock.now(), **kwargs)


@blp.route("/procurement/bulk-orders/<int:order_id>/submit", methods=["POST"])
@blp.response(200, BulkOrderSchema)
@documented_errors(403, 404, 409)
@login_required
def submit(order_id):
    """Purchasers: send the draft for approval, priced now (volume tiers; certified products only)."""
    return _move("submit", order_id)


@blp.route("/procurement/bulk-orders/<int:order_id>/approve", methods=["POST"])
@blp.arguments(NoteArgs)
@blp.response(200, BulkOrderSchema)
@documented_errors(403, 404, 409)
@login_required
def approve(args, order_id):
    """Approvers: approve; the total is committed against the year's budget and the goods are reserved.
    Not the member who submitted it (409 `submitter_cannot_approve`)."""
    return _move("approve", order_id, **args)


@blp.route("/procurement/bulk-orders/<int:order_id>/reject", methods=["POST"])
@blp.arguments(RejectArgs)
@blp.response(200, BulkOrderSchema)
@documented_errors(403, 404, 409)
@login_required
def reject(args, order_id):
    """Approvers: reject with a reason."""
    return _move("reject", order_id, **args)


@blp.route("/procurement/bulk-orders/<int:order_id>/cancel", methods=["POST"])
@blp.arguments(CancelArgs)
@blp.response(200, BulkOrderSchema)
@documented_errors(403, 404, 409, 502, 503)
@login_required
def cancel(args, order_id):
    """Cancel a draft or submitted order (purchasers) or an approved unpaid one (approvers: budget and
    stock are released). An open Stripe payment is closed at Stripe first: if it is completing, 409
    `payment_in_progress`; if Stripe cannot be reached, 503 and the order stays as it was."""
    return _move("cancel", order_id, settings=settings(), **args)


@blp.route("/procurement/bulk-orders/<int:order_id>/payments", methods=["POST"])
@blp.arguments(BulkPayArgs)
@blp.response(201, BulkPaymentSchema)
@blp.doc(**IDEMPOTENCY)
@documented_errors(403, 404, 409, 502, 503)
@login_required
def pay(args, order_id):
    """Finance: start paying the approved order's total (computed by the server) by bank transfer, or
    by Stripe (card, Alipay, WeChat Pay): the answer carries `client_secret` for Stripe.js, and the
    order becomes paid when Stripe's signed event (or reconciliation) proves it; then the budget
    commitment becomes spend, as with a confirmed transfer. Asking again while a Stripe attempt is
    open returns that attempt, never a second one; paying by transfer first closes it at Stripe (409
    `payment_in_progress` if it is completing). If Stripe cannot be reached (503) or refuses (502),
    nothing changes here and a retry is safe. Not the member who approved the order (409
    `approver_cannot_pay`)."""
    session, actor = get_session(), current_actor()
    cfg = settings()
    payment_id, _ = idempotency.run_once(
        session,
        user_id=actor.user_id,
        scope=f"procurement.bulk_orders.{order_id}.pay",
        key=request.headers.get("Idempotency-Key"),
        payload=args,
        create=lambda: (
            bulk_orders.start_payment(
                session, actor, order_id, gateway_name=args["gateway"], settings=cfg, now=clock.now()
            ).id
        ),
    )
    return payables.with_client_secret(session.get(Payment, payment_id), payments=cfg.payments)


@blp.route("/procurement/bulk-orders/<int:order_id>/payments", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, BulkPaymentPageSchema)
@documented_errors(404)
@login_required
def list_payments(paging, order_id):
    """Payment attempts of the bulk order."""
    return page_body(bulk_orders.list_payments(get_session(), current_actor(), order_id, **paging), paging)


@blp.route("/procurement/bulk-orders/<int:order_id>/payments/<int:payment_id>/confirm", methods=["POST"])
@blp.arguments(BulkConfirmArgs)
@blp.response(200, BulkPaymentSchema)
@documented_errors(403, 404, 409)
@login_required
def confirm_payment(args, order_id, payment_id):
    """Finance of the organisation (or admins): the transfer arrived; the order is paid, the budget
    commitment becomes spend, the stock is sold (a voucher order's vouchers are issued). Not the
    member who approved the order (409 `approver_cannot_pay`)."""
    return bulk_orders.confirm_payment(
        get_session(), current_actor(), order_id, payment_id, settings=settings(), now=clock.now(), **args
    )


@blp.route("/procurement/bulk-orders/<int:order_id>/fulfil", methods=["POST"])
@blp.arguments(NoteArgs)
@blp.response(200, BulkOrderSchema)
@documented_errors(404, 409)
@login_required
def fulfil(args, order_id):
    """Operators of the supply location (or admins): everything was delivered or handed over."""
    return _move("fulfil", order_id, **args)


@blp.route("/procurement/bulk-orders/<int:order_id>/receive", methods=["POST"])
@blp.arguments(NoteArgs)
@blp.response(200, BulkOrderSchema)
@documented_errors(403, 404, 409)
@login_required
def receive(args, order_id):
    """Purchasers or approvers: 验收, the organisation accepts the delivery."""
    return _move("receive", order_id, **args)


@blp.route("/procurement/bulk-orders/<int:order_id>/evaluate", methods=["POST"])
@blp.arguments(EvaluateArgs)
@blp.response(200, BulkOrderSchema)
@documented_errors(403, 404, 409)
@login_required
def evaluate(args, order_id):
    """Purchasers or approvers: 评价, rate the purchase from 1 to 5."""
    return _move("evaluate", order_id, **args)


@blp.route("/procurement/bulk-orders/<int:order_id>/complete", methods=["POST"])
@blp.response(200, BulkOrderSchema)
@documented_errors(403, 404, 409)
@login_required
def complete(order_id):
    """Approvers or finance: close the evaluated order."""
    return _move("complete", order_id)


@blp.route("/procurement/bulk-orders/<int:order_id>/events", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, BulkOrderEventPageSchema)
@documented_errors(404)
@login_required
def list_events(paging, order_id):
    """Every move of the order: from, to, who, when."""
    return page_body(bulk_orders.list_events(get_session(), current_actor(), order_id, **paging), paging)

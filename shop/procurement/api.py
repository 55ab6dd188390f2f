from __future__ import annotations

from flask import Response, request
from flask_smorest import Blueprint

from payments import payables
from payments.models import Payment
from shop import clock, idempotency
from shop.auth.guard import current_actor, login_required
from shop.extensions import rate_limited
from shop.procurement import (
    budgets,
    bulk_orders,
    invoices,
    organisations,
    pledges,
    reports,
    vouchers,
)
from shop.procurement.models import RedemptionChannel
from shop.procurement.schemas import (
    BudgetArgs,
    BudgetEntryPageSchema,
    BudgetListSchema,
    BudgetSchema,
    BudgetUpdateArgs,
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
    CodeArgs,
    CounterRedeemArgs,
    EvaluateArgs,
    ExportArgs,
    ImportArgs,
    InvoiceArgs,
    InvoicePageSchema,
    InvoiceSchema,
    LinePageSchema,
    LinesArgs,
    NoteArgs,
    OrganisationAdminArgs,
    OrganisationArgs,
    OrganisationPageSchema,
    OrganisationQueryArgs,
    OrganisationReportSchema,
    OrganisationSchema,
    OrganisationUpdateArgs,
    OrgMemberArgs,
    OrgMemberListSchema,
    OrgMemberSchema,
    PledgeArgs,
    PledgeCompletionSchema,
    PledgeListSchema,
    RedeemArgs,
    RedemptionPageSchema,
    RedemptionSchema,
    RejectArgs,
    RollupSchema,
    SuppliedQueryArgs,
    TierListSchema,
    TiersArgs,
    VoucherPageSchema,
    VoucherQueryArgs,
    VoucherSchema,
    YearArgs,
)
from shop.promotions import tiers
from shop.request_session import get_session
from shop.settings import current as current_settings
from shop.web import IDEMPOTENCY_KEY_SCHEMA, PageArgs, documented_errors, page_body

blp = Blueprint(
    "procurement",
    __name__,
    url_prefix="/api/v1",
    description="Organisations: members, union-fund budgets, pledges, bulk orders with approval, "
    "pickup vouchers, invoices, reports; suppliers' volume tiers",
)

IDEMPOTENCY = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "description": "Retries with the same key and body return the first result; another body is refused (409)",
            "schema": IDEMPOTENCY_KEY_SCHEMA,
        }
    ]
}
EXPORT_RESPONSE = {
    "responses": {
        "200": {
            "description": "The report as a file",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                reports.XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }
}


def settings() -> bulk_orders.ProcurementSettings:
    return current_settings().procurement


def _file(tables, fmt: str, name: str) -> Response:
    if fmt == "xlsx":
        body, mimetype = reports.to_xlsx(tables), reports.XLSX
    else:
        body, mimetype = reports.to_csv(tables), "text/csv; charset=utf-8"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


# --- organisations -----------------------------------------------------------------------------


@blp.route("/procurement/organisations", methods=["POST"])
@blp.arguments(OrganisationArgs)
@blp.response(201, OrganisationSchema)
@documented_errors(409)
@login_required
def register_organisation(args):
    """Register an organisation (it waits for an admin's verification); you become its approver."""
    return organisations.register_organisation(get_session(), current_actor(), data=args, now=clock.now())


@blp.route("/procurement/organisations", methods=["GET"])
@blp.arguments(OrganisationQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, OrganisationPageSchema)
@login_required
def list_organisations(query, paging):
    """The organisations you are a member of (admins: all)."""
    return page_body(organisations.list_organisations(get_session(), current_actor(), **query, **paging), paging)


@blp.route("/procurement/organisations/<int:organisation_id>", methods=["GET"])
@blp.response(200, OrganisationSchema)
@documented_errors(404)
@login_required
def get_organisation(organisation_id):
    """One organisation: its members and admins see it."""
    from shop.procurement import access

    return access.get_organisation(get_session(), current_actor(), organisation_id)


@blp.route("/procurement/organisations/<int:organisation_id>", methods=["PATCH"])
@blp.arguments(OrganisationUpdateArgs)
@blp.response(200, OrganisationSchema)
@documented_errors(403, 404)
@login_required
def update_organisation(args, organisation_id):
    """Approvers edit the organisation; approvers and finance edit its invoice profile (tax number checked).
    The headcount and per-capita cap, which bound a union's budget, are an admin's: 403 `set_by_admin`."""
    return organisations.update_organisation(get_session(), current_actor(), organisation_id, data=args)


@blp.route("/procurement/organisations/<int:organisation_id>/admin-settings", methods=["PATCH"])
@blp.arguments(OrganisationAdminArgs)
@blp.response(200, OrganisationSchema)
@documented_errors(403, 404)
@login_required
def update_admin_settings(args, organisation_id):
    """Admins: the headcount and per-capita cap that bound the union's budget, and the separation of
    duties (on by default: who submits a bulk order does not approve it, who approves does not pay it,
    nobody grants themselves roles); clear it only for an organisation too small to separate them."""
    return organisations.update_admin_settings(get_session(), current_actor(), organisation_id, data=args)


@blp.route("/procurement/organisations/<int:organisation_id>/verify", methods=["POST"])
@blp.response(200, OrganisationSchema)
@documented_errors(403, 404)
@login_required
def verify_organisation(organisation_id):
    """Admins: the organisation is who it says it is; it may now buy."""
    return organisations.verify_organisation(get_session(), current_actor(), organisation_id, now=clock.now())


@blp.route("/procurement/organisations/<int:organisation_id>/members", methods=["GET"])
@blp.response(200, OrgMemberListSchema)
@documented_errors(404)
@login_required
def list_members(organisation_id):
    """Members and their roles: purchaser, approver, finance."""
    return {"items": organisations.list_members(get_session(), current_actor(), organisation_id)}


@blp.route("/procurement/organisations/<int:organisation_id>/members", methods=["POST"])
@blp.arguments(OrgMemberArgs)
@blp.response(201, OrgMemberSchema)
@documented_errors(403, 404)
@login_required
def add_member(args, organisation_id):
    """Approvers: give an existing account roles in the organisation (not themselves: 403 `self_grant`)."""
    return organisations.add_member(get_session(), current_actor(), organisation_id, **args)


@blp.route("/procurement/organisations/<int:organisation_id>/members/<int:user_id>", methods=["DELETE"])
@blp.response(204)
@documented_errors(403, 404, 409)
@login_required
def remove_member(organisation_id, user_id):
    """Approvers: take every role in the organisation from a member."""
    organisations.remove_member(get_session(), current_actor(), organisation_id, user_id)


# --- budgets -----------------------------------------------------------------------------------


@blp.route("/procurement/organisations/<int:organisation_id>/budgets", methods=["POST"])
@blp.arguments(BudgetArgs)
@blp.response(201, BudgetSchema)
@documented_errors(403, 404, 409)
@login_required
def create_budget(args, organisation_id):
    """Finance: the union-fund budget of a fiscal year, at most headcount × per-capita cap."""
    return budgets.create_budget(get_session(), current_actor(), organisation_id, now=clock.now(), **args)


@blp.route("/procurement/organisations/<int:organisation_id>/budgets", methods=["GET"])
@blp.response(200, BudgetListSchema)
@documented_errors(404)
@login_required
def list_budgets(organisation_id):
    """The organisation's budgets, by fiscal year."""
    return {"items": budgets.list_budgets(get_session(), current_actor(), organisation_id)}


@blp.route("/procurement/budgets/<int:budget_id>", methods=["GET"])
@blp.response(200, BudgetSchema)
@documented_errors(404)
@login_required
def get_budget(budget_id):
    """A budget: allocated, available, committed (approved, unpaid) and spent."""
    return budgets.get_budget(get_session(), current_actor(), budget_id)


@blp.route("/procurement/budgets/<int:budget_id>", methods=["PATCH"])
@blp.arguments(BudgetUpdateArgs)
@blp.response(200, BudgetSchema)
@documented_errors(403, 404, 409)
@login_required
def change_budget(args, budget_id):
    """Finance: raise or lower the allocation (lowering takes only from what is available)."""
    return budgets.change_amount(get_session(), current_actor(), budget_id, **args)


@blp.route("/procurement/budgets/<int:budget_id>/entries", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, BudgetEntryPageSchema)
@documented_errors(404)
@login_required
def list_budget_entries(paging, budget_id):
    """The budget's ledger: every allocation, commitment, spend, release and return."""
    return page_body(budgets.list_entries(get_session(), current_actor(), budget_id, **paging), paging)


# --- pledges -----------------------------------------------------------------------------------


@blp.route("/procurement/organisations/<int:organisation_id>/pledges/<int:year>", methods=["PUT"])
@blp.arguments(PledgeArgs)
@blp.response(200, PledgeCompletionSchema)
@documented_errors(403, 404)
@login_required
def file_pledge(args, organisation_id, year):
    """Approvers or finance file the year's reserved share (预留份额), or revise it; lowering it needs a reason."""
    session = get_session()
    pledge = pledges.file_pledge(session, current_actor(), organisation_id, year, data=args, now=clock.now())
    return pledges.with_completion(session, pledge)


@blp.route("/procurement/organisations/<int:organisation_id>/pledges/<int:year>", methods=["GET"])
@blp.response(200, PledgeCompletionSchema)
@documented_errors(404)
@login_required
def get_pledge(organisation_id, year):
    """The year's pledge, its revisions and its completion."""
    session = get_session()
    return pledges.with_completion(session, pledges.get_pledge(session, current_actor(), organisation_id, year))


@blp.route("/procurement/organisations/<int:organisation_id>/pledges", methods=["GET"])
@blp.response(200, PledgeListSchema)
@documented_errors(404)
@login_required
def list_pledges(organisation_id):
    """Every year's pledge with its completion."""
    session = get_session()
    items = pledges.list_pledges(session, current_actor(), organisation_id)
    return {"items": [pledges.with_completion(session, p) for p in items]}


# --- bulk orders -------------------------------------------------------------------------------


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


# --- vouchers ----------------------------------------------------------------------------------


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
    """Operators of the location: scan the code and redeem value, or hand over the gift box."""
    return vouchers.redeem(
        get_session(),
        current_actor(),
        raw_code=args["code"],
        channel=RedemptionChannel.COUNTER,
        amount_fen=args["amount_fen"],
        location_id=args["location_id"],
        delivery_address=None,
        reference=args["reference"],
        now=clock.now(),
    )


@blp.route("/procurement/vouchers/<int:voucher_id>/redemptions", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, RedemptionPageSchema)
@documented_errors(404)
@login_required
def list_redemptions(paging, voucher_id):
    """Members: the redemptions of one of the organisation's vouchers."""
    return page_body(vouchers.list_redemptions(get_session(), current_actor(), voucher_id, **paging), paging)


# --- invoices ----------------------------------------------------------------------------------


@blp.route("/procurement/bulk-orders/<int:order_id>/invoices", methods=["POST"])
@blp.arguments(InvoiceArgs)
@blp.response(201, InvoiceSchema)
@documented_errors(403, 404, 409)
@login_required
def issue_invoice(args, order_id):
    """Admins: record an invoice issued to the organisation's profile (never more than was paid)."""
    return invoices.issue_invoice(get_session(), current_actor(), order_id, now=clock.now(), **args)


@blp.route("/procurement/bulk-orders/<int:order_id>/invoices", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, InvoicePageSchema)
@documented_errors(404)
@login_required
def list_invoices(paging, order_id):
    """The invoices of a bulk order."""
    return page_body(invoices.list_invoices(get_session(), current_actor(), order_id, **paging), paging)


# --- reports -----------------------------------------------------------------------------------


@blp.route("/procurement/organisations/<int:organisation_id>/report", methods=["GET"])
@blp.arguments(YearArgs, location="query")
@blp.response(200, OrganisationReportSchema)
@documented_errors(404)
@login_required
def organisation_report(query, organisation_id):
    """Members: the year's budget and per-capita use, pledge completion, purchases by origin district
    (poverty-alleviated areas marked) and vouchers."""
    return reports.organisation_report(get_session(), current_actor(), organisation_id, query["year"])


@blp.route("/procurement/organisations/<int:organisation_id>/report/export", methods=["GET"])
@blp.arguments(ExportArgs, location="query")
@blp.doc(**EXPORT_RESPONSE)
@documented_errors(404)
@login_required
def export_organisation_report(query, organisation_id):
    """The organisation's report as CSV or XLSX."""
    report = reports.organisation_report(get_session(), current_actor(), organisation_id, query["year"])
    return _file(
        reports.organisation_tables(report), query["format"], f"organisation-{organisation_id}-{query['year']}"
    )


@blp.route("/procurement/reports/pledges", methods=["GET"])
@blp.arguments(YearArgs, location="query")
@blp.response(200, RollupSchema)
@documented_errors(403)
@login_required
def pledge_rollup(query):
    """Admins and regulators: pledges, completion and purchases per district of the organisations."""
    return {"items": reports.district_rollup(get_session(), current_actor(), query["year"])}


@blp.route("/procurement/reports/pledges/export", methods=["GET"])
@blp.arguments(ExportArgs, location="query")
@blp.doc(**EXPORT_RESPONSE)
@documented_errors(403)
@login_required
def export_pledge_rollup(query):
    """The rollup per district as CSV or XLSX."""
    rows = reports.district_rollup(get_session(), current_actor(), query["year"])
    return _file(reports.rollup_tables(rows), query["format"], f"pledges-{query['year']}")


# --- volume tiers ------------------------------------------------------------------------------


@blp.route("/skus/<int:sku_id>/volume-tiers", methods=["GET"])
@blp.response(200, TierListSchema)
@documented_errors(404)
def list_volume_tiers(sku_id):
    """A SKU's volume prices for organisations (public)."""
    return {"items": tiers.list_tiers(get_session(), sku_id)}


@blp.route("/skus/<int:sku_id>/volume-tiers", methods=["PUT"])
@blp.arguments(TiersArgs)
@blp.response(200, TierListSchema)
@documented_errors(404)
@login_required
def replace_volume_tiers(args, sku_id):
    """The SKU's supplier (or admins): set its whole list of volume tiers (cheaper with more units)."""
    return {"items": tiers.replace_tiers(get_session(), current_actor(), sku_id, tiers=args["tiers"], now=clock.now())}

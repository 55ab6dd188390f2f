from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from shop import clock
from shop.auth.guard import current_actor, login_required
from shop.catalog.models import LabelKind
from shop.certification.schemas import CertificationPageSchema
from shop.errors import NotFound
from shop.extensions import rate_limited
from shop.procurement.reports import XLSX, to_csv, to_xlsx
from shop.request_session import get_session
from shop.settings import current as current_settings
from shop.supervision import after_sales, amendments, complaints, inspections, prices, reports, service
from shop.supervision.refunds import refund_runner
from shop.supervision.schemas import (
    AfterSalesArgs,
    AfterSalesPageSchema,
    AfterSalesQueryArgs,
    AfterSalesSchema,
    AmendmentArgs,
    AmendmentPageSchema,
    AmendmentQueryArgs,
    AmendmentSchema,
    ComplaintArgs,
    ComplaintDecisionArgs,
    ComplaintPageSchema,
    ComplaintQueryArgs,
    ComplaintSchema,
    CreditSchema,
    DecisionNoteArgs,
    EligiblePlaceArgs,
    EligiblePlaceEndArgs,
    EligiblePlacePageSchema,
    EligiblePlaceQueryArgs,
    EligiblePlaceSchema,
    EscalateArgs,
    FiledReportSchema,
    HandlerNoteArgs,
    InspectionArgs,
    InspectionPageSchema,
    InspectionQueryArgs,
    InspectionSchema,
    JustifyArgs,
    MessageArgs,
    PriceChangePageSchema,
    PriceFlagPageSchema,
    PriceFlagQueryArgs,
    PriceFlagSchema,
    QuestionArgs,
    ReasonNoteArgs,
    ReferencePriceArgs,
    ReferencePricePageSchema,
    ReferencePriceQueryArgs,
    ReferencePriceSchema,
    ReportArgs,
    ReportExportArgs,
    ReportPeriodArgs,
    SanctionArgs,
    SanctionPageSchema,
    SanctionQueryArgs,
    SanctionSchema,
    SupervisionReportSchema,
    VerifiedLabelSchema,
)
from shop.web import PageArgs, documented_errors, page_body

blp = Blueprint(
    "supervision",
    __name__,
    url_prefix="/api/v1",
    description="Supervision: eligible origins, sanctions and credit, amendments, complaints, after-sales, "
    "spot checks, price monitoring, reports",
)


# --- 1. eligibility ----------------------------------------------------------------------------


@blp.route("/eligible-places", methods=["POST"])
@blp.arguments(EligiblePlaceArgs)
@blp.response(201, EligiblePlaceSchema)
@documented_errors(403, 422)
@login_required
def add_eligible_place(args):
    """Admins: make a place outside the poverty-alleviated districts eligible for a period, citing the act."""
    return service.add_eligible_place(get_session(), current_actor(), data=args, now=clock.now())


@blp.route("/eligible-places", methods=["GET"])
@blp.arguments(EligiblePlaceQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, EligiblePlacePageSchema)
def list_eligible_places(query, paging):
    """Public: the dated list of places made eligible beyond the poverty-alleviated districts."""
    return page_body(service.list_eligible_places(get_session(), **query, **paging), paging)


@blp.route("/eligible-places/<int:place_id>/end", methods=["POST"])
@blp.arguments(EligiblePlaceEndArgs)
@blp.response(200, EligiblePlaceSchema)
@documented_errors(403, 404, 422)
@login_required
def end_eligible_place(args, place_id):
    """Admins: end a place's eligibility at an instant."""
    return service.end_eligible_place(get_session(), current_actor(), place_id, **args)


@blp.route("/supervision/reports/ineligible-certifications", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, CertificationPageSchema)
@documented_errors(403)
@login_required
def ineligible_certifications(paging):
    """Certifiers (own districts) and regulators: standing certifications whose origin is no longer eligible."""
    result = service.ineligible_certifications(get_session(), current_actor(), now=clock.now(), **paging)
    return page_body(result, paging)


# --- 5. sanctions and credit -------------------------------------------------------------------


@blp.route("/sanctions", methods=["POST"])
@blp.arguments(SanctionArgs)
@blp.response(201, SanctionSchema)
@documented_errors(403, 404, 409, 422)
@login_required
def impose_sanction(args):
    """Regulators, or the certifier of the district (all but a blacklist): warn, suspend or revoke a
    certification, or blacklist a supplier until a date. A suspension takes the product out of the
    catalog, search, cart and checkout at once."""
    return service.impose_sanction(get_session(), current_actor(), now=clock.now(), **args)


@blp.route("/sanctions", methods=["GET"])
@blp.arguments(SanctionQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, SanctionPageSchema)
@login_required
def list_sanctions(query, paging):
    """Sanctions within the caller's scope (own districts, own supplier; all for regulators), newest first."""
    return page_body(service.list_sanctions(get_session(), current_actor(), filters=query, **paging), paging)


@blp.route("/sanctions/<int:sanction_id>", methods=["GET"])
@blp.response(200, SanctionSchema)
@documented_errors(404)
@login_required
def get_sanction(sanction_id):
    """One sanction with its transitions."""
    return service.get_sanction(get_session(), current_actor(), sanction_id)


@blp.route("/sanctions/<int:sanction_id>/lift", methods=["POST"])
@blp.arguments(ReasonNoteArgs)
@blp.response(200, SanctionSchema)
@documented_errors(403, 404, 409)
@login_required
def lift_sanction(args, sanction_id):
    """Lift a suspension (the certification is in force again at once) or end a blacklist early."""
    return service.lift_sanction(get_session(), current_actor(), sanction_id, now=clock.now(), **args)


@blp.route("/suppliers/<int:supplier_id>/credit", methods=["GET"])
@blp.response(200, CreditSchema)
@documented_errors(403, 404)
@login_required
def supplier_credit(supplier_id):
    """Supervisors and the supplier's members: warnings, suspensions, revocations, upheld complaints,
    blacklist in effect."""
    return service.supplier_credit(get_session(), current_actor(), supplier_id, now=clock.now())


# --- 2. amendments of certified facts ----------------------------------------------------------


@blp.route("/products/<int:product_id>/amendments", methods=["POST"])
@blp.arguments(AmendmentArgs)
@blp.response(201, AmendmentSchema)
@documented_errors(404, 409, 422)
@login_required
def request_amendment(args, product_id):
    """Supplier members: ask to change certified facts (origin, kind, production base, labels with
    evidence); the certifier of the certification's district decides."""
    return amendments.request_amendment(get_session(), current_actor(), product_id, data=args, now=clock.now())


@blp.route("/amendments", methods=["GET"])
@blp.arguments(AmendmentQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, AmendmentPageSchema)
@login_required
def list_amendments(query, paging):
    """Amendments within the caller's scope (own districts, own supplier; all for regulators), newest first."""
    return page_body(amendments.list_amendments(get_session(), current_actor(), filters=query, **paging), paging)


@blp.route("/amendments/<int:amendment_id>", methods=["GET"])
@blp.response(200, AmendmentSchema)
@documented_errors(404)
@login_required
def get_amendment(amendment_id):
    """One amendment with the facts before and the changes asked."""
    return amendments.get_amendment(get_session(), current_actor(), amendment_id)


@blp.route("/amendments/<int:amendment_id>/approve", methods=["POST"])
@blp.arguments(DecisionNoteArgs)
@blp.response(200, AmendmentSchema)
@documented_errors(403, 404, 409)
@login_required
def approve_amendment(args, amendment_id):
    """Certifiers of the district: apply the change (a new origin must be eligible); its labels are verified."""
    return amendments.approve_amendment(get_session(), current_actor(), amendment_id, now=clock.now(), **args)


@blp.route("/amendments/<int:amendment_id>/reject", methods=["POST"])
@blp.arguments(ReasonNoteArgs)
@blp.response(200, AmendmentSchema)
@documented_errors(403, 404, 409)
@login_required
def reject_amendment(args, amendment_id):
    """Certifiers of the district: reject with a reason."""
    return amendments.reject_amendment(get_session(), current_actor(), amendment_id, now=clock.now(), **args)


@blp.route("/amendments/<int:amendment_id>/withdraw", methods=["POST"])
@blp.response(200, AmendmentSchema)
@documented_errors(403, 404, 409)
@login_required
def withdraw_amendment(amendment_id):
    """Supplier members: withdraw a pending amendment."""
    return amendments.withdraw_amendment(get_session(), current_actor(), amendment_id, now=clock.now())


@blp.route("/products/<int:product_id>/labels/<string:kind>/verify", methods=["POST"])
@blp.response(200, VerifiedLabelSchema)
@documented_errors(403, 404, 409)
@login_required
def verify_label(product_id, kind):
    """Certifiers of the product's origin district: mark a label's evidence checked (at review)."""
    try:
        label_kind = LabelKind(kind)
    except ValueError:
        raise NotFound("No such label kind.") from None
    return amendments.verify_label(get_session(), current_actor(), product_id, label_kind, now=clock.now())


# --- 4. complaints -----------------------------------------------------------------------------


def complaint_settings() -> complaints.ComplaintSettings:
    return current_settings().supervision.after_sales.complaints


def runner():
    return refund_runner(current_settings().orders, clock.now())


@blp.route("/complaints", methods=["POST"])
@blp.arguments(ComplaintArgs)
@blp.response(201, ComplaintSchema)
@documented_errors(404, 422)
@login_required
def file_complaint(args):
    """Anyone logged in: complain about an order (yours), a product, a supplier or a location.
    Routed by category: price and quality to the regulator, the rest to the certifier of the
    subject's district."""
    complaint, _ = complaints.file_complaint(
        get_session(), current_actor(), data=args, settings=complaint_settings(), now=clock.now()
    )
    return complaints.get_complaint(get_session(), current_actor(), complaint.id)


@blp.route("/reports", methods=["POST"])
@rate_limited("REPORT_RATE_LIMIT")
@blp.arguments(ReportArgs)
@blp.response(201, FiledReportSchema)
@documented_errors(404, 422, 429)
def file_report(args):
    """No account needed: an anonymous report (举报) about a product, supplier or location, rate-limited
    per address. The answer carries a token, shown once, to follow the report."""
    complaint, token = complaints.file_complaint(
        get_session(), None, data=args, settings=complaint_settings(), now=clock.now()
    )
    complaint = complaints.track_report(get_session(), token)
    complaint.tracking_token = token
    return complaint


@blp.route("/reports/<string:token>", methods=["GET"])
@blp.response(200, ComplaintSchema)
@documented_errors(404)
def track_report(token):
    """No account needed: a report's status and decision, by its token."""
    return complaints.track_report(get_session(), token)


@blp.route("/complaints", methods=["GET"])
@blp.arguments(ComplaintQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, ComplaintPageSchema)
@login_required
def list_complaints(query, paging):
    """Complaints within the caller's scope: your own, your supplier's, the ones routed to you as
    certifier (own districts) or regulator. `overdue=true` lists those past their state's deadline,
    most overdue first."""
    result = complaints.list_complaints(get_session(), current_actor(), filters=query, now=clock.now(), **paging)
    return page_body(result, paging)


@blp.route("/complaints/<int:complaint_id>", methods=["GET"])
@blp.response(200, ComplaintSchema)
@documented_errors(404)
@login_required
def get_complaint(complaint_id):
    """One complaint: handlers see everything; the complainant and the supplier the status, the
    decision and the thread without internal notes."""
    return complaints.get_complaint(get_session(), current_actor(), complaint_id)


@blp.route("/complaints/<int:complaint_id>/accept", methods=["POST"])
@blp.arguments(HandlerNoteArgs)
@blp.response(200, ComplaintSchema)
@documented_errors(403, 404, 409)
@login_required
def accept_complaint(args, complaint_id):
    """The handler: accept a filed complaint."""
    return complaints.accept_complaint(
        get_session(), current_actor(), complaint_id, settings=complaint_settings(), now=clock.now(), **args
    )


@blp.route("/complaints/<int:complaint_id>/refuse", methods=["POST"])
@blp.arguments(ReasonNoteArgs)
@blp.response(200, ComplaintSchema)
@documented_errors(403, 404, 409)
@login_required
def refuse_complaint(args, complaint_id):
    """The handler: close a filed complaint as not admissible, with the reason the complainant reads."""
    return complaints.refuse_complaint(
        get_session(), current_actor(), complaint_id, settings=complaint_settings(), now=clock.now(), **args
    )


@blp.route("/complaints/<int:complaint_id>/ask-supplier", methods=["POST"])
@blp.arguments(QuestionArgs)
@blp.response(200, ComplaintSchema)
@documented_errors(403, 404, 409)
@login_required
def ask_supplier(args, complaint_id):
    """The handler: ask the supplier to answer in the thread (awaiting supplier, with its deadline)."""
    return complaints.ask_supplier(
        get_session(), current_actor(), complaint_id, settings=complaint_settings(), now=clock.now(), **args
    )


@blp.route("/complaints/<int:complaint_id>/messages", methods=["POST"])
@blp.arguments(MessageArgs)
@blp.response(201, ComplaintSchema)
@documented_errors(403, 404, 409)
@login_required
def post_message(args, complaint_id):
    """The complainant, the supplier or the handler writes in the thread; the supplier's answer hands
    an awaiting complaint back to the handler. Internal notes: the handler only."""
    return complaints.post_message(
        get_session(), current_actor(), complaint_id, settings=complaint_settings(), now=clock.now(), **args
    )


@blp.route("/complaints/<int:complaint_id>/decide", methods=["POST"])
@blp.arguments(ComplaintDecisionArgs)
@blp.response(200, ComplaintSchema)
@documented_errors(403, 404, 409, 422)
@login_required
def decide_complaint(args, complaint_id):
    """The handler: uphold or dismiss. Upheld, it may order a warning, a suspension or a revocation of
    the product's certification, and a refund of lines of the order (the order's refund flow runs)."""
    return complaints.decide_complaint(
        get_session(),
        current_actor(),
        complaint_id,
        settings=complaint_settings(),
        now=clock.now(),
        refund_runner=runner(),
        **args,
    )


@blp.route("/complaints/<int:complaint_id>/close", methods=["POST"])
@blp.arguments(HandlerNoteArgs)
@blp.response(200, ComplaintSchema)
@documented_errors(403, 404, 409)
@login_required
def close_complaint(args, complaint_id):
    """The handler: close a decided complaint."""
    return complaints.close_complaint(
        get_session(), current_actor(), complaint_id, settings=complaint_settings(), now=clock.now(), **args
    )


# --- 3. after-sales ----------------------------------------------------------------------------


def after_sales_settings() -> after_sales.AfterSalesSettings:
    return current_settings().supervision.after_sales


@blp.route("/orders/<int:order_id>/after-sales", methods=["POST"])
@blp.arguments(AfterSalesArgs)
@blp.response(201, AfterSalesSchema)
@documented_errors(404, 409, 422)
@login_required
def request_after_sales(args, order_id):
    """Buyers: ask for a refund or a return of lines of a completed order of yours, within the window
    after completion (shorter for fresh produce), with reason and photos."""
    return after_sales.request_after_sales(
        get_session(), current_actor(), order_id, data=args, settings=after_sales_settings(), now=clock.now()
    )


@blp.route("/after-sales", methods=["GET"])
@blp.arguments(AfterSalesQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, AfterSalesPageSchema)
@login_required
def list_after_sales(query, paging):
    """Requests within the caller's scope: your own, your supplier's, your locations'. A request not
    answered by its deadline shows as accepted (lapsed) and its refund has run."""
    result = after_sales.list_requests(
        get_session(), current_actor(), filters=query, runner=runner(), now=clock.now(), **paging
    )
    return page_body(result, paging)


@blp.route("/after-sales/<int:request_id>", methods=["GET"])
@blp.response(200, AfterSalesSchema)
@documented_errors(404)
@login_required
def get_after_sales(request_id):
    """One request within the caller's scope."""
    return after_sales.get_request(get_session(), current_actor(), request_id, runner=runner(), now=clock.now())


@blp.route("/after-sales/<int:request_id>/accept", methods=["POST"])
@blp.arguments(DecisionNoteArgs)
@blp.response(200, AfterSalesSchema)
@documented_errors(403, 404, 409)
@login_required
def accept_after_sales(args, request_id):
    """The location's operator or the supplier, before the deadline: accept; the order's refund runs."""
    return after_sales.accept_request(
        get_session(), current_actor(), request_id, runner=runner(), now=clock.now(), **args
    )


@blp.route("/after-sales/<int:request_id>/reject", methods=["POST"])
@blp.arguments(ReasonNoteArgs)
@blp.response(200, AfterSalesSchema)
@documented_errors(403, 404, 409)
@login_required
def reject_after_sales(args, request_id):
    """The location's operator or the supplier, before the deadline: reject with a reason."""
    return after_sales.reject_request(get_session(), current_actor(), request_id, now=clock.now(), **args)


@blp.route("/after-sales/<int:request_id>/escalate", methods=["POST"])
@blp.arguments(EscalateArgs)
@blp.response(201, ComplaintSchema)
@documented_errors(404, 409, 422)
@login_required
def escalate_after_sales(args, request_id):
    """Buyers: take a rejected request to a complaint about the order."""
    complaint = after_sales.escalate_request(
        get_session(), current_actor(), request_id, data=args, settings=after_sales_settings(), now=clock.now()
    )
    return complaints.get_complaint(get_session(), current_actor(), complaint.id)


# --- 7. spot checks ----------------------------------------------------------------------------


@blp.route("/inspections", methods=["POST"])
@blp.arguments(InspectionArgs)
@blp.response(201, InspectionSchema)
@documented_errors(403, 404, 422)
@login_required
def record_inspection(args):
    """Regulators: record a spot check of a batch (trace code) or a product, with its report. A failed
    batch is frozen at every location, the product's certification suspended, and the orders that took
    units of the batch listed for recall with a notice in their events."""
    return inspections.record_inspection(get_session(), current_actor(), data=args, now=clock.now())


@blp.route("/inspections", methods=["GET"])
@blp.arguments(InspectionQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, InspectionPageSchema)
@login_required
def list_inspections(query, paging):
    """Regulators (all) and certifiers (own districts): spot checks, newest first."""
    return page_body(inspections.list_inspections(get_session(), current_actor(), filters=query, **paging), paging)


@blp.route("/inspections/<int:inspection_id>", methods=["GET"])
@blp.response(200, InspectionSchema)
@documented_errors(404)
@login_required
def get_inspection(inspection_id):
    """One spot check with its recall list."""
    return inspections.get_inspection(get_session(), current_actor(), inspection_id)


# --- 6. price monitoring -----------------------------------------------------------------------


def price_rules() -> prices.PriceRules:
    return current_settings().supervision.price_rules


@blp.route("/skus/<int:sku_id>/price-history", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, PriceChangePageSchema)
@documented_errors(404)
def price_history(paging, sku_id):
    """Public: every price the SKU has had (who, when, old, new), newest first."""
    return page_body(prices.price_history(get_session(), sku_id, **paging), paging)


@blp.route("/reference-prices", methods=["POST"])
@blp.arguments(ReferencePriceArgs)
@blp.response(201, ReferencePriceSchema)
@documented_errors(403, 422)
@login_required
def set_reference_price(args):
    """Regulators: a reference price for a category (and its sub-categories) per kg or per piece, for a
    period; SKUs above it by more than the allowed share are flagged at once."""
    return prices.set_reference_price(get_session(), current_actor(), data=args, rules=price_rules(), now=clock.now())


@blp.route("/reference-prices", methods=["GET"])
@blp.arguments(ReferencePriceQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, ReferencePricePageSchema)
def list_reference_prices(query, paging):
    """Public: reference prices, newest first."""
    return page_body(prices.list_reference_prices(get_session(), **query, **paging), paging)


@blp.route("/price-flags", methods=["GET"])
@blp.arguments(PriceFlagQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, PriceFlagPageSchema)
@login_required
def list_price_flags(query, paging):
    """Price flags within the caller's scope (regulators all, certifiers own districts, suppliers own)."""
    return page_body(prices.list_flags(get_session(), current_actor(), filters=query, **paging), paging)


@blp.route("/price-flags/<int:flag_id>", methods=["GET"])
@blp.response(200, PriceFlagSchema)
@documented_errors(404)
@login_required
def get_price_flag(flag_id):
    """One price flag with its transitions."""
    return prices.get_flag(get_session(), current_actor(), flag_id)


@blp.route("/price-flags/<int:flag_id>/justify", methods=["POST"])
@blp.arguments(JustifyArgs)
@blp.response(200, PriceFlagSchema)
@documented_errors(403, 404, 409)
@login_required
def justify_price_flag(args, flag_id):
    """The supplier: explain the price (or correct it: a price back within bounds marks the flag corrected)."""
    return prices.justify_flag(get_session(), current_actor(), flag_id, now=clock.now(), **args)


@blp.route("/price-flags/<int:flag_id>/close", methods=["POST"])
@blp.arguments(HandlerNoteArgs)
@blp.response(200, PriceFlagSchema)
@documented_errors(403, 404, 409)
@login_required
def close_price_flag(args, flag_id):
    """Regulators: close the flag."""
    return prices.close_flag(get_session(), current_actor(), flag_id, now=clock.now(), **args)


# --- 8. reports --------------------------------------------------------------------------------

EXPORT_RESPONSE = {
    "responses": {
        "200": {
            "description": "The report as a file",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }
}


def _file(tables, fmt: str, name: str) -> Response:
    body, mimetype = (to_xlsx(tables), XLSX) if fmt == "xlsx" else (to_csv(tables), "text/csv; charset=utf-8")
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@blp.route("/supervision/reports/summary", methods=["GET"])
@blp.arguments(ReportPeriodArgs, location="query")
@blp.response(200, SupervisionReportSchema)
@documented_errors(403)
@login_required
def supervision_report(query):
    """Regulators (all) and certifiers (own districts): complaints by district, supplier and category
    with time to decision and overdue counts; overdue complaints; sanctions; open price flags; failed
    inspections."""
    return reports.supervision_report(get_session(), current_actor(), now=clock.now(), **query)


@blp.route("/supervision/reports/summary/export", methods=["GET"])
@blp.arguments(ReportExportArgs, location="query")
@blp.doc(**EXPORT_RESPONSE)
@documented_errors(403)
@login_required
def export_supervision_report(query):
    """The same report as CSV (tables one after another) or XLSX (a sheet per table)."""
    fmt = query.pop("format")
    report = reports.supervision_report(get_session(), current_actor(), now=clock.now(), **query)
    return _file(reports.report_tables(report), fmt, "supervision-report")

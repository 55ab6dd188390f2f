from __future__ import annotations

import marshmallow as ma

from shop import clock
from shop.catalog.models import ProductKind
from shop.catalog.schemas import LabelSchema
from shop.supervision.models import (
    AfterSalesKind,
    AfterSalesStatus,
    AmendmentStatus,
    Author,
    ComplaintCategory,
    ComplaintStatus,
    FlagKind,
    FlagStatus,
    Handler,
    InspectionResult,
    Outcome,
    PriceUnit,
    SanctionKind,
    SanctionStatus,
)
from shop.web import Id, Int, Timestamp, page_schema

Text = ma.fields.String


def _text(max_len: int, **kwargs):
    return Text(validate=ma.validate.Length(min=1, max=max_len), **kwargs)


class WorkflowEventSchema(ma.Schema):
    id = Int(required=True)
    from_status = Text(allow_none=True)
    to_status = Text(required=True)
    actor_id = Id(allow_none=True)
    at = Timestamp(required=True)
    reason = Text(allow_none=True)


# --- 1. eligibility ----------------------------------------------------------------------------


class EligiblePlaceArgs(ma.Schema):
    district_id = Id(required=True)
    township_id = Id(load_default=None)
    village = _text(
        60, load_default=None, metadata={"description": "A village of the township, named in the production base"}
    )
    act = _text(300, required=True, metadata={"description": "The act that made the place eligible"})
    act_url = ma.fields.Url(load_default=None, schemes={"http", "https"}, validate=ma.validate.Length(max=1000))
    eligible_from = Timestamp(required=True)
    eligible_until = Timestamp(load_default=None)


class EligiblePlaceEndArgs(ma.Schema):
    eligible_until = Timestamp(required=True)


class EligiblePlaceQueryArgs(ma.Schema):
    district_id = Id(load_default=None)
    at = Timestamp(load_default=None, metadata={"description": "Only places eligible at this instant"})


class EligiblePlaceSchema(ma.Schema):
    id = Int(required=True)
    district_id = Id(required=True)
    township_id = Id(allow_none=True)
    village = Text(allow_none=True)
    act = Text(required=True)
    act_url = Text(allow_none=True)
    eligible_from = Timestamp(required=True)
    eligible_until = Timestamp(allow_none=True)
    created_by_id = Id(required=True)
    created_at = Timestamp(required=True)


EligiblePlacePageSchema = page_schema(EligiblePlaceSchema, "EligiblePlacePage")


# --- 5. sanctions and credit -------------------------------------------------------------------


class SanctionArgs(ma.Schema):
    supplier_id = Id(required=True)
    kind = ma.fields.Enum(SanctionKind, by_value=True, required=True)
    certification_id = Id(load_default=None, metadata={"description": "Required for a suspension or a revocation"})
    reason = _text(2000, required=True)
    until = Timestamp(load_default=None, metadata={"description": "Required for a blacklist"})


class SanctionQueryArgs(ma.Schema):
    supplier_id = Id(load_default=None)
    district_id = Id(load_default=None)
    kind = ma.fields.Enum(SanctionKind, by_value=True, load_default=None)
    status = ma.fields.Enum(SanctionStatus, by_value=True, load_default=None)


class ReasonNoteArgs(ma.Schema):
    reason = _text(2000, required=True)


class SanctionSchema(ma.Schema):
    id = Int(required=True)
    supplier_id = Id(required=True)
    kind = ma.fields.Enum(SanctionKind, by_value=True, required=True)
    status = ma.fields.Enum(SanctionStatus, by_value=True, required=True)
    certification_id = Id(allow_none=True)
    complaint_id = Id(allow_none=True)
    district_id = Id(required=True)
    reason = Text(required=True)
    until = Timestamp(allow_none=True)
    imposed_by_id = Id(required=True)
    imposed_at = Timestamp(required=True)
    events = ma.fields.List(ma.fields.Nested(WorkflowEventSchema), required=True)


SanctionPageSchema = page_schema(SanctionSchema, "SanctionPage")


class CreditSchema(ma.Schema):
    supplier_id = Id(required=True)
    warnings = Int(required=True)
    suspensions = Int(required=True)
    revocations = Int(required=True)
    blacklistings = Int(required=True)
    upheld_complaints = Int(required=True)
    blacklisted_until = Timestamp(allow_none=True)
    recent_sanctions = ma.fields.List(ma.fields.Nested(SanctionSchema), required=True)


# --- 2. amendments -----------------------------------------------------------------------------


class AmendmentArgs(ma.Schema):
    origin_district_id = Id()
    origin_township_id = Id(allow_none=True)
    kind = ma.fields.Enum(ProductKind, by_value=True)
    production_base = _text(300)
    labels = ma.fields.List(
        ma.fields.Nested(LabelSchema),
        validate=ma.validate.Length(max=3),
        metadata={"description": "The whole new set of labels, each with its evidence"},
    )
    reason = _text(2000, required=True)


class AmendmentQueryArgs(ma.Schema):
    status = ma.fields.Enum(AmendmentStatus, by_value=True, load_default=None)
    product_id = Id(load_default=None)
    district_id = Id(load_default=None)
    supplier_id = Id(load_default=None)


class DecisionNoteArgs(ma.Schema):
    reason = Text(load_default=None, validate=ma.validate.Length(max=2000))


class AmendmentSchema(ma.Schema):
    id = Int(required=True)
    product_id = Id(required=True)
    certification_id = Id(required=True)
    supplier_id = Id(required=True)
    district_id = Id(required=True)
    status = ma.fields.Enum(AmendmentStatus, by_value=True, required=True)
    changes = ma.fields.Dict(required=True)
    previous = ma.fields.Dict(required=True)
    reason = Text(required=True)
    requested_by_id = Id(required=True)
    requested_at = Timestamp(required=True)
    decided_by_id = Id(allow_none=True)
    decided_at = Timestamp(allow_none=True)
    decision_reason = Text(allow_none=True)
    events = ma.fields.List(ma.fields.Nested(WorkflowEventSchema), required=True)


AmendmentPageSchema = page_schema(AmendmentSchema, "AmendmentPage")


class VerifiedLabelSchema(LabelSchema):
    product_id = Id(required=True)
    verified_at = Timestamp(allow_none=True)
    verified_by_id = Id(allow_none=True)


# --- 4. complaints -----------------------------------------------------------------------------


class EvidenceSchema(ma.Schema):
    url = ma.fields.Url(required=True, schemes={"http", "https"}, validate=ma.validate.Length(max=1000))
    sha256 = Text(
        load_default=None, validate=ma.validate.Regexp(r"^[0-9a-fA-F]{64}$", error="Not a sha256 hex digest.")
    )


class _SubjectArgs(ma.Schema):
    category = ma.fields.Enum(ComplaintCategory, by_value=True, required=True)
    product_id = Id(load_default=None)
    supplier_id = Id(load_default=None)
    location_id = Id(load_default=None)
    description = _text(4000, required=True)
    evidence = ma.fields.List(ma.fields.Nested(EvidenceSchema), load_default=list, validate=ma.validate.Length(max=10))


class ComplaintArgs(_SubjectArgs):
    order_id = Id(load_default=None, metadata={"description": "One of yours; product_id then picks its line"})


class ReportArgs(_SubjectArgs):
    """An anonymous report names a product, supplier or location, never an order."""

    contact = Text(load_default=None, validate=ma.validate.Length(max=200))


class ComplaintQueryArgs(ma.Schema):
    status = ma.fields.Enum(ComplaintStatus, by_value=True, load_default=None)
    category = ma.fields.Enum(ComplaintCategory, by_value=True, load_default=None)
    handler = ma.fields.Enum(Handler, by_value=True, load_default=None)
    district_id = Id(load_default=None)
    supplier_id = Id(load_default=None)
    overdue = ma.fields.Boolean(load_default=None, metadata={"description": "Past the deadline of its state now"})


class HandlerNoteArgs(ma.Schema):
    note = Text(load_default=None, validate=ma.validate.Length(max=2000))


class QuestionArgs(ma.Schema):
    question = _text(4000, required=True)


class MessageArgs(ma.Schema):
    body = _text(4000, required=True)
    internal = ma.fields.Boolean(load_default=False, metadata={"description": "A handler's note the parties never see"})
    evidence = ma.fields.List(ma.fields.Nested(EvidenceSchema), load_default=list, validate=ma.validate.Length(max=10))


class LineQuantityArgs(ma.Schema):
    line_id = Id(required=True)
    quantity = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=100_000))


class RefundOrderArgs(ma.Schema):
    lines = ma.fields.List(
        ma.fields.Nested(LineQuantityArgs), required=True, validate=ma.validate.Length(min=1, max=100)
    )


class ComplaintDecisionArgs(ma.Schema):
    outcome = ma.fields.Enum(Outcome, by_value=True, required=True)
    decision = _text(4000, required=True, metadata={"description": "What the complainant and the supplier read"})
    sanction = ma.fields.Enum(
        SanctionKind,
        by_value=True,
        load_default=None,
        validate=ma.validate.OneOf([SanctionKind.WARNING, SanctionKind.SUSPENSION, SanctionKind.REVOCATION]),
    )
    refund = ma.fields.Nested(RefundOrderArgs, load_default=None)


class MessageSchema(ma.Schema):
    id = Int(required=True)
    author = ma.fields.Enum(Author, by_value=True, required=True)
    author_id = Id(allow_none=True)
    internal = ma.fields.Boolean(required=True)
    body = Text(required=True)
    evidence = ma.fields.List(ma.fields.Dict(), required=True)
    created_at = Timestamp(required=True)


class ComplaintSchema(ma.Schema):
    id = Int(required=True)
    category = ma.fields.Enum(ComplaintCategory, by_value=True, required=True)
    anonymous = ma.fields.Boolean(required=True)
    complainant_id = Id(attribute="visible_complainant_id", allow_none=True, metadata={"description": "Handlers only"})
    order_id = Id(allow_none=True)
    product_id = Id(allow_none=True)
    supplier_id = Id(allow_none=True)
    location_id = Id(allow_none=True)
    after_sales_id = Id(allow_none=True)
    handler = ma.fields.Enum(Handler, by_value=True, required=True)
    district_id = Id(required=True)
    description = Text(required=True)
    evidence = ma.fields.List(ma.fields.Dict(), required=True)
    status = ma.fields.Enum(ComplaintStatus, by_value=True, required=True)
    deadline_at = Timestamp(allow_none=True, metadata={"description": "When the current state is due"})
    overdue = ma.fields.Method("_overdue", required=True)
    outcome = ma.fields.Enum(Outcome, by_value=True, allow_none=True)
    decision = Text(allow_none=True)
    refund_fen = Int(allow_none=True)
    filed_at = Timestamp(required=True)
    decided_at = Timestamp(allow_none=True)
    closed_at = Timestamp(allow_none=True)
    messages = ma.fields.List(ma.fields.Nested(MessageSchema), attribute="visible_messages", required=True)
    events = ma.fields.List(
        ma.fields.Nested(WorkflowEventSchema),
        attribute="visible_events",
        required=True,
        metadata={"description": "Transitions with who and when: handlers only"},
    )

    def _overdue(self, complaint) -> bool:
        return (
            complaint.status != ComplaintStatus.CLOSED
            and complaint.deadline_at is not None
            and (complaint.deadline_at <= clock.now())
        )


ComplaintPageSchema = page_schema(ComplaintSchema, "ComplaintPage")


class FiledReportSchema(ComplaintSchema):
    tracking_token = Text(required=True, metadata={"description": "Shown once: follow the report with it"})


# --- 3. after-sales ----------------------------------------------------------------------------


class AfterSalesArgs(ma.Schema):
    kind = ma.fields.Enum(AfterSalesKind, by_value=True, required=True)
    lines = ma.fields.List(
        ma.fields.Nested(LineQuantityArgs), required=True, validate=ma.validate.Length(min=1, max=100)
    )
    reason = _text(2000, required=True)
    evidence = ma.fields.List(ma.fields.Nested(EvidenceSchema), load_default=list, validate=ma.validate.Length(max=10))


class AfterSalesQueryArgs(ma.Schema):
    status = ma.fields.Enum(AfterSalesStatus, by_value=True, load_default=None)


class EscalateArgs(ma.Schema):
    category = ma.fields.Enum(ComplaintCategory, by_value=True, required=True)
    description = _text(4000, required=True)
    evidence = ma.fields.List(ma.fields.Nested(EvidenceSchema), load_default=list, validate=ma.validate.Length(max=10))


class AfterSalesSchema(ma.Schema):
    id = Int(required=True)
    order_id = Id(required=True)
    buyer_id = Id(required=True)
    location_id = Id(required=True)
    supplier_id = Id(required=True)
    kind = ma.fields.Enum(AfterSalesKind, by_value=True, required=True)
    lines = ma.fields.List(ma.fields.Dict(), required=True)
    reason = Text(required=True)
    evidence = ma.fields.List(ma.fields.Dict(), required=True)
    status = ma.fields.Enum(AfterSalesStatus, by_value=True, required=True)
    answer_by = Timestamp(required=True)
    lapsed = ma.fields.Boolean(required=True, metadata={"description": "Accepted because no one answered in time"})
    decided_by_id = Id(allow_none=True)
    decided_at = Timestamp(allow_none=True)
    decision_reason = Text(allow_none=True)
    refund_id = Id(allow_none=True)
    created_at = Timestamp(required=True)
    events = ma.fields.List(ma.fields.Nested(WorkflowEventSchema), required=True)


AfterSalesPageSchema = page_schema(AfterSalesSchema, "AfterSalesPage")


# --- 7. spot checks ----------------------------------------------------------------------------


class InspectionArgs(ma.Schema):
    trace_code = _text(64, load_default=None, metadata={"description": "The batch checked; or give product_id"})
    product_id = Id(load_default=None)
    result = ma.fields.Enum(InspectionResult, by_value=True, required=True)
    report_url = ma.fields.Url(required=True, schemes={"http", "https"}, validate=ma.validate.Length(max=1000))
    report_sha256 = Text(
        required=True, validate=ma.validate.Regexp(r"^[0-9a-fA-F]{64}$", error="Not a sha256 hex digest.")
    )
    notes = Text(load_default="", validate=ma.validate.Length(max=2000))
    inspected_at = Timestamp(load_default=None)


class InspectionQueryArgs(ma.Schema):
    result = ma.fields.Enum(InspectionResult, by_value=True, load_default=None)
    product_id = Id(load_default=None)
    district_id = Id(load_default=None)


class RecallSchema(ma.Schema):
    order_id = Id(required=True)
    units = Int(required=True)


class InspectionSchema(ma.Schema):
    id = Int(required=True)
    product_id = Id(required=True)
    batch_id = Id(allow_none=True)
    scope = Text(required=True, metadata={"description": "batch or product"})
    district_id = Id(required=True)
    result = ma.fields.Enum(InspectionResult, by_value=True, required=True)
    report_url = Text(required=True)
    report_sha256 = Text(required=True)
    notes = Text(required=True)
    inspected_at = Timestamp(required=True)
    recorded_by_id = Id(required=True)
    sanction_id = Id(allow_none=True, metadata={"description": "The suspension a failure brought"})
    recalls = ma.fields.List(ma.fields.Nested(RecallSchema), required=True)


InspectionPageSchema = page_schema(InspectionSchema, "InspectionPage")


# --- 6. price monitoring -----------------------------------------------------------------------


class PriceChangeSchema(ma.Schema):
    id = Int(required=True)
    sku_id = Id(required=True)
    old_price_fen = Int(allow_none=True)
    new_price_fen = Int(required=True)
    changed_by_id = Id(allow_none=True)
    changed_at = Timestamp(required=True)


PriceChangePageSchema = page_schema(PriceChangeSchema, "PriceChangePage")


class ReferencePriceArgs(ma.Schema):
    category_id = Id(required=True)
    unit = ma.fields.Enum(PriceUnit, by_value=True, required=True, metadata={"description": "kg uses net_weight_g"})
    price_fen = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=10**9))
    valid_from = Timestamp(required=True)
    valid_until = Timestamp(required=True)


class ReferencePriceQueryArgs(ma.Schema):
    category_id = Id(load_default=None)
    at = Timestamp(load_default=None)


class ReferencePriceSchema(ma.Schema):
    id = Int(required=True)
    category_id = Id(required=True)
    unit = ma.fields.Enum(PriceUnit, by_value=True, required=True)
    price_fen = Int(required=True)
    valid_from = Timestamp(required=True)
    valid_until = Timestamp(required=True)
    set_by_id = Id(required=True)
    created_at = Timestamp(required=True)


ReferencePricePageSchema = page_schema(ReferencePriceSchema, "ReferencePricePage")


class PriceFlagQueryArgs(ma.Schema):
    open = ma.fields.Boolean(load_default=None, metadata={"description": "Open or justified, not yet closed"})
    status = ma.fields.Enum(FlagStatus, by_value=True, load_default=None)
    kind = ma.fields.Enum(FlagKind, by_value=True, load_default=None)
    supplier_id = Id(load_default=None)
    district_id = Id(load_default=None)
    sku_id = Id(load_default=None)


class JustifyArgs(ma.Schema):
    justification = _text(2000, required=True)


class PriceFlagSchema(ma.Schema):
    id = Int(required=True)
    sku_id = Id(required=True)
    product_id = Id(required=True)
    supplier_id = Id(required=True)
    district_id = Id(required=True)
    kind = ma.fields.Enum(FlagKind, by_value=True, required=True)
    status = ma.fields.Enum(FlagStatus, by_value=True, required=True)
    price_fen = Int(required=True)
    details = ma.fields.Dict(required=True)
    justification = Text(allow_none=True)
    flagged_at = Timestamp(required=True)
    closed_by_id = Id(allow_none=True)
    closed_at = Timestamp(allow_none=True)
    events = ma.fields.List(ma.fields.Nested(WorkflowEventSchema), required=True)


PriceFlagPageSchema = page_schema(PriceFlagSchema, "PriceFlagPage")


# --- 8. reports --------------------------------------------------------------------------------


class ReportPeriodArgs(ma.Schema):
    since = Timestamp(load_default=None, metadata={"description": "Complaints filed from"})
    until = Timestamp(load_default=None, metadata={"description": "Complaints filed before"})


class ReportExportArgs(ReportPeriodArgs):
    format = ma.fields.String(load_default="csv", validate=ma.validate.OneOf(["csv", "xlsx"]))


class ComplaintGroupSchema(ma.Schema):
    key = ma.fields.Raw(allow_none=True, metadata={"description": "District id, supplier id or category"})
    district_name = Text()
    supplier_name = Text(allow_none=True)
    filed = Int(required=True)
    decided = Int(required=True)
    upheld = Int(required=True)
    dismissed = Int(required=True)
    overdue = Int(required=True)
    avg_hours_to_decision = ma.fields.Float(allow_none=True)


class SupervisionReportSchema(ma.Schema):
    complaints_by_district = ma.fields.List(ma.fields.Nested(ComplaintGroupSchema), required=True)
    complaints_by_supplier = ma.fields.List(ma.fields.Nested(ComplaintGroupSchema), required=True)
    complaints_by_category = ma.fields.List(ma.fields.Nested(ComplaintGroupSchema), required=True)
    overdue_complaints = ma.fields.List(ma.fields.Dict(), required=True)
    sanctions = ma.fields.List(ma.fields.Dict(), required=True)
    open_price_flags = ma.fields.List(ma.fields.Dict(), required=True)
    failed_inspections = ma.fields.List(ma.fields.Dict(), required=True)

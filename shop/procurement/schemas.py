from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from payments.models import PaymentStatus
from shop.procurement.models import (
    BudgetEntryKind,
    BulkOrderKind,
    BulkOrderStatus,
    OrgKind,
    RedemptionChannel,
    VoucherStatus,
)
from shop.web import BIG, SIGNED_BIG, SIGNED_INT4, Id, Int, Timestamp, page_schema

PHONE = ma.validate.Regexp(r"^[0-9+\- ]{5,20}$")
YEAR = ma.validate.Range(min=2000, max=2100)
MONEY = ma.validate.Range(min=0, max=10**12)
PER_CAPITA = ma.validate.Range(min=0, max=10_000_000)
VOUCHER_AMOUNT = ma.validate.Range(min=1, max=10_000_000)
ROLE_NAMES = ("purchaser", "approver", "finance")


def _text(max_length: int, **kwargs):
    return ma.fields.String(validate=ma.validate.Length(min=1, max=max_length), **kwargs)


# --- organisations -----------------------------------------------------------------------------


class InvoiceProfileArgs(ma.Schema):
    invoice_title = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))
    invoice_tax_number = ma.fields.String(
        allow_none=True, metadata={"description": "18-character unified social credit code"}
    )
    invoice_address = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=300))
    invoice_phone = ma.fields.String(allow_none=True, validate=PHONE)
    invoice_bank = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=100))
    invoice_bank_account = ma.fields.String(allow_none=True, validate=ma.validate.Regexp(r"^[0-9 ]{6,40}$"))


class OrganisationArgs(InvoiceProfileArgs):
    name = _text(200, required=True)
    kind = ma.fields.Enum(OrgKind, by_value=True, required=True)
    district_id = Id(required=True)
    uscc = ma.fields.String(required=True, metadata={"description": "Unified social credit code (18 characters)"})
    headcount = Int(required=True, strict=True, validate=ma.validate.Range(min=0, max=10_000_000))
    per_capita_cap_fen = Int(load_default=50_000, strict=True, validate=PER_CAPITA)
    return_unredeemed_vouchers = ma.fields.Boolean(load_default=True)
    contact_name = _text(100, required=True)
    contact_phone = ma.fields.String(required=True, validate=PHONE)


class OrganisationUpdateArgs(InvoiceProfileArgs):
    name = _text(200)
    headcount = Int(strict=True, validate=ma.validate.Range(min=0, max=10_000_000))
    per_capita_cap_fen = Int(strict=True, validate=PER_CAPITA)
    return_unredeemed_vouchers = ma.fields.Boolean()
    contact_name = _text(100)
    contact_phone = ma.fields.String(validate=PHONE)


class OrganisationAdminArgs(ma.Schema):
    headcount = Int(strict=True, validate=ma.validate.Range(min=0, max=10_000_000))
    per_capita_cap_fen = Int(strict=True, validate=PER_CAPITA)
    separation_of_duties = ma.fields.Boolean(
        metadata={
            "description": "false: one member may submit, approve and pay one bulk order, and grant themselves roles"
        }
    )


class OrganisationSchema(ma.Schema):
    id = Int(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.Enum(OrgKind, by_value=True, required=True)
    district_id = Int(required=True)
    uscc = ma.fields.String(required=True)
    headcount = Int(required=True)
    per_capita_cap_fen = Int(validate=BIG, required=True)
    return_unredeemed_vouchers = ma.fields.Boolean(required=True)
    separation_of_duties = ma.fields.Boolean(required=True)
    contact_name = ma.fields.String(required=True)
    contact_phone = ma.fields.String(required=True)
    invoice_title = ma.fields.String(allow_none=True)
    invoice_tax_number = ma.fields.String(allow_none=True)
    invoice_address = ma.fields.String(allow_none=True)
    invoice_phone = ma.fields.String(allow_none=True)
    invoice_bank = ma.fields.String(allow_none=True)
    invoice_bank_account = ma.fields.String(allow_none=True)
    is_verified = ma.fields.Boolean(required=True)
    verified_at = Timestamp(allow_none=True)
    created_at = Timestamp(required=True)


OrganisationPageSchema = page_schema(OrganisationSchema, "OrganisationPage")


class OrganisationQueryArgs(ma.Schema):
    verified = ma.fields.Boolean(load_default=None)


class OrgMemberArgs(ma.Schema):
    login = _text(254, required=True, metadata={"description": "E-mail or mobile number of an existing account"})
    roles = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(ROLE_NAMES)),
        required=True,
        validate=ma.validate.Length(min=1, max=3),
        metadata={"description": "purchaser (role org_member), approver, finance"},
    )


class OrgMemberSchema(ma.Schema):
    user_id = Int(required=True)
    display_name = ma.fields.String(required=True)
    login = ma.fields.String(required=True)
    roles = ma.fields.List(ma.fields.String(), required=True)


class OrgMemberListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(OrgMemberSchema), required=True)


# --- budgets -----------------------------------------------------------------------------------


class BudgetArgs(ma.Schema):
    fiscal_year = Int(required=True, strict=True, validate=YEAR)
    amount_fen = Int(required=True, strict=True, validate=MONEY)


class BudgetUpdateArgs(ma.Schema):
    amount_fen = Int(required=True, strict=True, validate=MONEY)
    reason = _text(500, required=True)


class BudgetSchema(ma.Schema):
    id = Int(required=True)
    organisation_id = Int(required=True)
    fiscal_year = Int(required=True)
    amount_fen = Int(validate=BIG, required=True)
    available_fen = Int(validate=BIG, required=True)
    committed_fen = Int(validate=BIG, required=True)
    spent_fen = Int(validate=BIG, required=True)
    created_at = Timestamp(required=True)


class BudgetListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BudgetSchema), required=True)


class BudgetEntrySchema(ma.Schema):
    id = Int(required=True)
    kind = ma.fields.Enum(BudgetEntryKind, by_value=True, required=True)
    amount_delta = Int(validate=SIGNED_BIG, required=True)
    available_delta = Int(validate=SIGNED_BIG, required=True)
    committed_delta = Int(validate=SIGNED_BIG, required=True)
    spent_delta = Int(validate=SIGNED_BIG, required=True)
    available_after = Int(validate=BIG, required=True)
    bulk_order_id = Int(allow_none=True)
    voucher_id = Int(allow_none=True)
    note = ma.fields.String(required=True)
    actor_id = Int(allow_none=True)
    created_at = Timestamp(required=True)


BudgetEntryPageSchema = page_schema(BudgetEntrySchema, "BudgetEntryPage")


# --- pledges -----------------------------------------------------------------------------------


class PledgeArgs(ma.Schema):
    amount_fen = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=10**12))
    canteen_food_budget_fen = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=10**13))
    contact_name = _text(100, required=True)
    contact_phone = ma.fields.String(required=True, validate=PHONE)
    reason = ma.fields.String(
        load_default=None, validate=ma.validate.Length(max=1000), metadata={"description": "Required to lower it"}
    )


class PledgeRevisionSchema(ma.Schema):
    previous_amount_fen = Int(validate=BIG, allow_none=True)
    amount_fen = Int(validate=BIG, required=True)
    share_bp = Int(required=True)
    reason = ma.fields.String(required=True)
    actor_id = Int(allow_none=True)
    at = Timestamp(required=True)


class PledgeSchema(ma.Schema):
    id = Int(required=True)
    organisation_id = Int(required=True)
    fiscal_year = Int(required=True)
    amount_fen = Int(validate=BIG, required=True)
    canteen_food_budget_fen = Int(validate=BIG, required=True)
    share_bp = Int(required=True, metadata={"description": "Share of the canteen food budget"})
    contact_name = ma.fields.String(required=True)
    contact_phone = ma.fields.String(required=True)
    filed_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    revisions = ma.fields.List(ma.fields.Nested(PledgeRevisionSchema), required=True)


class PledgeCompletionSchema(ma.Schema):
    pledge = ma.fields.Nested(PledgeSchema, required=True)
    completed_fen = Int(
        validate=BIG, required=True, metadata={"description": "Paid for purchases received, paid and evaluated"}
    )
    completion_bp = Int(required=True)


class PledgeListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PledgeCompletionSchema), required=True)


# --- bulk orders -------------------------------------------------------------------------------


class BulkOrderArgs(ma.Schema):
    kind = ma.fields.Enum(BulkOrderKind, by_value=True, load_default=BulkOrderKind.GOODS)
    title = _text(200, required=True)
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=1000))
    fiscal_year = Int(load_default=None, strict=True, validate=YEAR)
    supply_location_id = Id(load_default=None, metadata={"description": "Hall or centre whose stock supplies"})
    voucher_expires_at = Timestamp(load_default=None)


class BulkOrderUpdateArgs(ma.Schema):
    title = _text(200)
    note = ma.fields.String(validate=ma.validate.Length(max=1000))
    supply_location_id = Id(allow_none=True)
    voucher_expires_at = Timestamp(allow_none=True)


class BulkOrderSchema(ma.Schema):
    id = Int(required=True)
    number = ma.fields.String(allow_none=True)
    organisation_id = Int(required=True)
    kind = ma.fields.Enum(BulkOrderKind, by_value=True, required=True)
    status = ma.fields.Enum(BulkOrderStatus, by_value=True, required=True)
    title = ma.fields.String(required=True)
    note = ma.fields.String(required=True)
    fiscal_year = Int(required=True)
    supply_location_id = Int(allow_none=True)
    voucher_expires_at = Timestamp(allow_none=True)
    line_count = Int(required=True)
    subtotal_fen = Int(validate=BIG, required=True)
    discount_fen = Int(validate=BIG, required=True, metadata={"description": "Volume tiers"})
    total_fen = Int(validate=BIG, required=True)
    paid_fen = Int(validate=BIG, required=True)
    invoiced_fen = Int(validate=BIG, required=True)
    budget_id = Int(allow_none=True)
    rating = Int(allow_none=True)
    evaluation = ma.fields.String(allow_none=True)
    acceptance_note = ma.fields.String(allow_none=True)
    rejection_reason = ma.fields.String(allow_none=True)
    created_at = Timestamp(required=True)
    submitted_at = Timestamp(allow_none=True)
    approved_at = Timestamp(allow_none=True)
    paid_at = Timestamp(allow_none=True)
    completed_at = Timestamp(allow_none=True)


BulkOrderPageSchema = page_schema(BulkOrderSchema, "BulkOrderPage")


class BulkOrderQueryArgs(ma.Schema):
    status = ma.fields.Enum(BulkOrderStatus, by_value=True, load_default=None)
    fiscal_year = Int(load_default=None, validate=YEAR)


class SuppliedQueryArgs(ma.Schema):
    status = ma.fields.Enum(BulkOrderStatus, by_value=True, load_default=None)


class LineArgs(ma.Schema):
    sku_code = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=64))
    quantity = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=100_000))
    department = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))
    pickup_location_id = Id(load_default=None)
    delivery_address = ma.fields.String(load_default=None, validate=ma.validate.Length(max=300))
    recipient = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))
    phone = ma.fields.String(load_default=None, validate=PHONE)
    voucher_value_fen = Int(load_default=None, strict=True, validate=ma.validate.Range(min=1, max=10_000_000))
    slot_id = Id(load_default=None, metadata={"description": "A trip: the member's slot"})


class LinesArgs(ma.Schema):
    lines = ma.fields.List(ma.fields.Nested(LineArgs), required=True, validate=ma.validate.Length(min=1, max=1000))


class ImportArgs(ma.Schema):
    file = Upload(required=True, metadata={"description": "CSV (UTF-8 or GB18030) or XLSX, header in row 1"})


class LineSchema(ma.Schema):
    id = Int(required=True)
    row_number = Int(required=True)
    sku_id = Int(allow_none=True)
    voucher_value_fen = Int(validate=BIG, allow_none=True)
    quantity = Int(required=True)
    department = ma.fields.String(allow_none=True)
    pickup_location_id = Int(allow_none=True)
    delivery_address = ma.fields.String(allow_none=True)
    recipient = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    slot_id = Int(allow_none=True)
    refunded_fen = Int(validate=BIG, required=True)
    cancelled_at = Timestamp(allow_none=True)
    unit_price_fen = Int(validate=BIG, required=True)
    subtotal_fen = Int(validate=BIG, required=True)
    discount_fen = Int(validate=BIG, required=True)
    total_fen = Int(validate=BIG, required=True)


LinePageSchema = page_schema(LineSchema, "BulkOrderLinePage")


class NoteArgs(ma.Schema):
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class RejectArgs(ma.Schema):
    reason = _text(1000, required=True)


class CancelArgs(ma.Schema):
    reason = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class EvaluateArgs(ma.Schema):
    rating = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=5))
    comment = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))


class BulkOrderEventSchema(ma.Schema):
    id = Int(required=True)
    from_status = ma.fields.Enum(BulkOrderStatus, by_value=True, allow_none=True)
    to_status = ma.fields.Enum(BulkOrderStatus, by_value=True, required=True)
    actor_id = Int(allow_none=True)
    at = Timestamp(required=True)
    note = ma.fields.String(required=True)


BulkOrderEventPageSchema = page_schema(BulkOrderEventSchema, "BulkOrderEventPage")


class BulkPayArgs(ma.Schema):
    gateway = ma.fields.String(
        load_default="offline",
        validate=ma.validate.OneOf(["offline", "stripe"]),
        metadata={
            "description": "offline: a bank transfer finance confirms; stripe: card, Alipay or WeChat Pay, "
            "confirmed with Stripe.js using client_secret and proven by Stripe's signed event"
        },
    )


class BulkConfirmArgs(ma.Schema):
    reference = _text(100, required=True, metadata={"description": "The bank transfer's reference"})


class BulkPaymentSchema(ma.Schema):
    id = Int(required=True)
    bulk_order_id = Int(required=True)
    gateway = ma.fields.String(required=True)
    status = ma.fields.Enum(PaymentStatus, by_value=True, required=True)
    amount_fen = Int(validate=BIG, required=True)
    currency = ma.fields.String(required=True)
    refunded_fen = Int(
        validate=BIG,
        required=True,
        metadata={"description": "Sent back (money that could not pay the order) or refunded at Stripe"},
    )
    reference = ma.fields.String(allow_none=True, metadata={"description": "Bank transfer reference; Stripe charge id"})
    external_id = ma.fields.String(allow_none=True, metadata={"description": "Stripe PaymentIntent (pi_…)"})
    gateway_status = ma.fields.String(allow_none=True, metadata={"description": "The gateway's last known status"})
    failure_message = ma.fields.String(allow_none=True)
    client_secret = ma.fields.String(
        allow_none=True,
        metadata={"description": "Only in the answer to paying with Stripe, while the attempt is open; never stored"},
    )
    confirmed_by_id = Int(allow_none=True)
    created_at = Timestamp(required=True)
    completed_at = Timestamp(allow_none=True)


BulkPaymentPageSchema = page_schema(BulkPaymentSchema, "BulkPaymentPage")


# --- vouchers ----------------------------------------------------------------------------------


class VoucherSchema(ma.Schema):
    id = Int(required=True)
    organisation_id = Int(required=True)
    bulk_order_id = Int(required=True)
    gift_sku_id = Int(allow_none=True, metadata={"description": "Set for a gift box"})
    value_fen = Int(validate=BIG, required=True)
    remaining_fen = Int(validate=BIG, required=True)
    status = ma.fields.Enum(VoucherStatus, by_value=True, required=True)
    code_prefix = ma.fields.String(required=True)
    holder = ma.fields.String(allow_none=True)
    department = ma.fields.String(allow_none=True)
    expires_at = Timestamp(required=True)
    returned_fen = Int(validate=BIG, required=True)


class VoucherWithCodeSchema(ma.Schema):
    voucher = ma.fields.Nested(VoucherSchema, required=True)
    code = ma.fields.String(required=True)
    qr_payload = ma.fields.String(required=True, metadata={"description": "Text to encode in the QR code"})


VoucherPageSchema = page_schema(VoucherWithCodeSchema, "VoucherPage")


class VoucherQueryArgs(ma.Schema):
    status = ma.fields.Enum(VoucherStatus, by_value=True, load_default=None)


class CodeArgs(ma.Schema):
    code = _text(100, required=True, metadata={"description": "The code, or the scanned QR payload"})


class RedeemArgs(CodeArgs):
    amount_fen = Int(
        load_default=None, strict=True, validate=VOUCHER_AMOUNT, metadata={"description": "Value vouchers"}
    )
    location_id = Id(load_default=None, metadata={"description": "Gift box online: the hall that ships it"})
    delivery_address = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=300))
    reference = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))


class TakenArgs(ma.Schema):
    sku_id = Id(required=True)
    quantity = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=1000))


class CounterRedeemArgs(CodeArgs):
    location_id = Id(required=True, metadata={"description": "The counter (or hall) where the operator scans"})
    lines = ma.fields.List(
        ma.fields.Nested(TakenArgs),
        load_default=None,
        validate=ma.validate.Length(min=1, max=50),
        metadata={"description": "Value vouchers: the goods taken, valued at their prices (a gift box: none)"},
    )
    reference = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))


class RedemptionSchema(ma.Schema):
    id = Int(required=True)
    voucher_id = Int(required=True)
    channel = ma.fields.Enum(RedemptionChannel, by_value=True, required=True)
    amount_fen = Int(
        validate=SIGNED_INT4,
        required=True,
        metadata={"description": "Negative: value given back by the refund of the shop order"},
    )
    remaining_after_fen = Int(validate=BIG, required=True)
    order_id = Int(allow_none=True, metadata={"description": "The shop order the voucher paid"})
    location_id = Int(allow_none=True)
    delivery_address = ma.fields.String(allow_none=True)
    reference = ma.fields.String(allow_none=True)
    actor_id = Int(required=True)
    at = Timestamp(required=True)


RedemptionPageSchema = page_schema(RedemptionSchema, "VoucherRedemptionPage")


# --- invoices ----------------------------------------------------------------------------------


class InvoiceArgs(ma.Schema):
    number = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[0-9A-Za-z-]{6,40}$"))
    amount_fen = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=10**12))


class InvoiceSchema(ma.Schema):
    id = Int(required=True)
    bulk_order_id = Int(required=True)
    number = ma.fields.String(required=True)
    amount_fen = Int(validate=BIG, required=True)
    title = ma.fields.String(required=True)
    tax_number = ma.fields.String(required=True)
    address = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    bank = ma.fields.String(allow_none=True)
    bank_account = ma.fields.String(allow_none=True)
    issued_at = Timestamp(required=True)


InvoicePageSchema = page_schema(InvoiceSchema, "InvoicePage")


# --- reports -----------------------------------------------------------------------------------


class YearArgs(ma.Schema):
    year = Int(required=True, validate=YEAR)


class ExportArgs(YearArgs):
    format = ma.fields.String(load_default="csv", validate=ma.validate.OneOf(["csv", "xlsx"]))


class OriginRowSchema(ma.Schema):
    district_id = Int(required=True)
    district = ma.fields.String(required=True)
    poverty_alleviated = ma.fields.Boolean(required=True)
    quantity = Int(required=True)
    amount_fen = Int(validate=BIG, required=True)


class OrganisationReportSchema(ma.Schema):
    organisation_id = Int(required=True)
    organisation = ma.fields.String(required=True)
    fiscal_year = Int(required=True)
    headcount = Int(required=True)
    per_capita_cap_fen = Int(validate=BIG, required=True)
    budget_amount_fen = Int(validate=BIG, required=True)
    budget_available_fen = Int(validate=BIG, required=True)
    budget_committed_fen = Int(validate=BIG, required=True)
    budget_spent_fen = Int(validate=BIG, required=True)
    per_capita_used_fen = Int(validate=BIG, required=True)
    per_capita_use_bp = Int(required=True)
    pledge_fen = Int(validate=BIG, required=True)
    pledge_completed_fen = Int(validate=BIG, required=True)
    pledge_completion_bp = Int(required=True)
    purchase_orders = Int(required=True)
    purchased_fen = Int(validate=BIG, required=True)
    poverty_area_purchased_fen = Int(validate=BIG, required=True)
    vouchers_issued = Int(required=True)
    vouchers_value_fen = Int(validate=BIG, required=True)
    vouchers_redeemed_fen = Int(validate=BIG, required=True)
    vouchers_returned_fen = Int(validate=BIG, required=True)
    by_origin_district = ma.fields.List(ma.fields.Nested(OriginRowSchema), required=True)


class RollupRowSchema(ma.Schema):
    district_id = Int(required=True)
    district = ma.fields.String(required=True)
    fiscal_year = Int(required=True)
    organisations_pledging = Int(required=True)
    pledged_fen = Int(validate=BIG, required=True)
    completed_fen = Int(validate=BIG, required=True)
    completion_bp = Int(required=True)
    purchased_fen = Int(validate=BIG, required=True)


class RollupSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RollupRowSchema), required=True)


# --- volume tiers ------------------------------------------------------------------------------

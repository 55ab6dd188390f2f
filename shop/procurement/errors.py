"""The procurement slice's domain errors and their stable codes (a front end translates the codes)."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict, Forbidden, InvalidInput


class ProcurementCode(StrEnum):
    APPROVER_CANNOT_PAY = "approver_cannot_pay"
    BUDGET_EXISTS = "budget_exists"
    INSUFFICIENT_BUDGET = "insufficient_budget"
    INVOICE_EXCEEDS_PAID = "invoice_exceeds_paid"
    INVOICE_NUMBER_TAKEN = "invoice_number_taken"
    INVOICE_PROFILE_MISSING = "invoice_profile_missing"
    LINES_NOT_ORDERABLE = "lines_not_orderable"
    LINES_REJECTED = "lines_rejected"
    NO_BUDGET = "no_budget"
    NO_LINES = "no_lines"
    NOT_DRAFT = "not_draft"
    ORDER_TOO_LARGE = "order_too_large"
    ORGANISATION_EXISTS = "organisation_exists"
    ORGANISATION_NOT_VERIFIED = "organisation_not_verified"
    OVER_PER_CAPITA_CAP = "over_per_capita_cap"
    SELF_REMOVAL = "self_removal"
    SET_BY_ADMIN = "set_by_admin"
    SUBMITTER_CANNOT_APPROVE = "submitter_cannot_approve"
    VOUCHER_NOT_REDEEMABLE = "voucher_not_redeemable"


class BudgetExists(Conflict):
    code = ProcurementCode.BUDGET_EXISTS
    message = "This fiscal year has a budget already; change its amount."


class InsufficientBudget(Conflict):
    code = ProcurementCode.INSUFFICIENT_BUDGET
    message = "The budget has not enough available."


class InvoiceExceedsPaid(Conflict):
    code = ProcurementCode.INVOICE_EXCEEDS_PAID
    message = "Invoices cannot exceed what was paid."


class InvoiceNumberTaken(Conflict):
    code = ProcurementCode.INVOICE_NUMBER_TAKEN
    message = "An invoice with this number exists."


class InvoiceProfileMissing(Conflict):
    code = ProcurementCode.INVOICE_PROFILE_MISSING
    message = "The organisation has no invoice title and tax number yet."


class NotOrderable(Conflict):
    code = ProcurementCode.LINES_NOT_ORDERABLE
    message = "Some lines can no longer be ordered."


class LinesRejected(InvalidInput):
    code = ProcurementCode.LINES_REJECTED
    message = "Some lines are not valid; nothing was added."


class NoBudget(Conflict):
    code = ProcurementCode.NO_BUDGET
    message = "The organisation has no budget for this fiscal year."


class NoLines(Conflict):
    code = ProcurementCode.NO_LINES
    message = "A bulk order needs lines."


class NotDraft(Conflict):
    code = ProcurementCode.NOT_DRAFT
    message = "Only a draft can be changed."


class OrderTooLarge(Conflict):
    code = ProcurementCode.ORDER_TOO_LARGE
    message = "The order is larger than one payment can be; split it."


class OrganisationExists(Conflict):
    code = ProcurementCode.ORGANISATION_EXISTS
    message = "An organisation with this credit code is registered already."


class OrganisationNotVerified(Conflict):
    code = ProcurementCode.ORGANISATION_NOT_VERIFIED
    message = "An admin has not verified this organisation yet."


class OverPerCapitaCap(Conflict):
    code = ProcurementCode.OVER_PER_CAPITA_CAP
    message = "The budget exceeds the per-capita cap times the headcount."


class SelfRemoval(Conflict):
    code = ProcurementCode.SELF_REMOVAL
    message = "Approvers cannot remove themselves."


class VoucherNotRedeemable(Conflict):
    code = ProcurementCode.VOUCHER_NOT_REDEEMABLE
    message = "This voucher cannot be redeemed for that amount."


class SubmitterCannotApprove(Conflict):
    code = ProcurementCode.SUBMITTER_CANNOT_APPROVE
    message = "Who submitted a bulk order cannot approve it; another approver must."


class ApproverCannotPay(Conflict):
    code = ProcurementCode.APPROVER_CANNOT_PAY
    message = "Who approved a bulk order cannot pay it or confirm its payment; another finance member must."


class SetByAdmin(Forbidden):
    code = ProcurementCode.SET_BY_ADMIN
    message = "Only an admin sets these."

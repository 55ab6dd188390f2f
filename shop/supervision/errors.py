"""The supervision slice's domain errors and their stable codes (a front end translates the codes)."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict


class SupervisionCode(StrEnum):
    AFTER_SALES_DEADLINE_PASSED = "after_sales_deadline_passed"
    AFTER_SALES_EXCEEDS_QUANTITY = "after_sales_exceeds_quantity"
    AFTER_SALES_WINDOW_CLOSED = "after_sales_window_closed"
    AMENDMENT_PENDING = "amendment_pending"
    CERTIFIED_FACT_LOCKED = "certified_fact_locked"
    COMPLAINT_CLOSED = "complaint_closed"
    LABEL_WITHOUT_EVIDENCE = "label_without_evidence"
    NO_ORDER = "no_order"
    NO_SUPPLIER = "no_supplier"
    NOT_LIFTABLE = "not_liftable"
    ORDER_NOT_COMPLETED = "order_not_completed"
    ORIGIN_NOT_ELIGIBLE = "origin_not_eligible"
    SUPPLIER_BLACKLISTED = "supplier_blacklisted"


class AfterSalesDeadlinePassed(Conflict):
    code = SupervisionCode.AFTER_SALES_DEADLINE_PASSED
    message = "After sales deadline passed."


class AfterSalesExceedsQuantity(Conflict):
    code = SupervisionCode.AFTER_SALES_EXCEEDS_QUANTITY
    message = "After sales exceeds quantity."


class AfterSalesWindowClosed(Conflict):
    code = SupervisionCode.AFTER_SALES_WINDOW_CLOSED
    message = "After sales window closed."


class AmendmentPending(Conflict):
    code = SupervisionCode.AMENDMENT_PENDING
    message = "Amendment pending."


class CertifiedFactLocked(Conflict):
    code = SupervisionCode.CERTIFIED_FACT_LOCKED
    message = "Certified fact locked."


class ComplaintClosed(Conflict):
    code = SupervisionCode.COMPLAINT_CLOSED
    message = "Complaint closed."


class LabelWithoutEvidence(Conflict):
    code = SupervisionCode.LABEL_WITHOUT_EVIDENCE
    message = "Label without evidence."


class NoOrder(Conflict):
    code = SupervisionCode.NO_ORDER
    message = "No order."


class NoSupplier(Conflict):
    code = SupervisionCode.NO_SUPPLIER
    message = "No supplier."


class NotLiftable(Conflict):
    code = SupervisionCode.NOT_LIFTABLE
    message = "Not liftable."


class OrderNotCompleted(Conflict):
    code = SupervisionCode.ORDER_NOT_COMPLETED
    message = "Order not completed."


class OriginNotEligible(Conflict):
    code = SupervisionCode.ORIGIN_NOT_ELIGIBLE
    message = "Origin not eligible."


class SupplierBlacklisted(Conflict):
    code = SupervisionCode.SUPPLIER_BLACKLISTED
    message = "Supplier blacklisted."

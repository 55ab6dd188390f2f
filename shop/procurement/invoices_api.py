"""Procurement API: invoices of bulk orders."""

from __future__ import annotations

from shop import clock
from shop.auth.guard import current_actor, login_required
from shop.procurement import (
    invoices,
)
from shop.procurement.common_api import blp
from shop.procurement.schemas import (
    InvoiceArgs,
    InvoicePageSchema,
    InvoiceSchema,
)
from shop.request_session import get_session
from shop.web import PageArgs, documented_errors, page_body


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

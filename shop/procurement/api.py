"""Procurement's HTTP API: one blueprint (one OpenAPI tag, "procurement") whose routes live in one
module per resource; importing them here registers them on it. Volume tiers are promotions' API."""

from shop.procurement import (  # noqa: F401 (each module registers its routes on the blueprint)
    budgets_api,
    bulk_orders_api,
    invoices_api,
    organisations_api,
    pledges_api,
    reports_api,
    vouchers_api,
)
from shop.procurement.common_api import blp

__all__ = ["blp"]

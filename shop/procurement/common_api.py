"""What procurement's api modules share: the one blueprint (one OpenAPI tag), the documented
Idempotency-Key header and file response, the settings, a report as a file download."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from shop.procurement import (
    bulk_orders,
    reports,
)
from shop.settings import current as current_settings
from shop.web import IDEMPOTENCY  # noqa: F401  (the procurement API modules take it from here)

blp = Blueprint(
    "procurement",
    __name__,
    url_prefix="/api/v1",
    description="Organisations: members, union-fund budgets, pledges, bulk orders with approval, "
    "pickup vouchers, invoices, reports",
)


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


def file_response(tables, fmt: str, name: str) -> Response:
    if fmt == "xlsx":
        body, mimetype = reports.to_xlsx(tables), reports.XLSX
    else:
        body, mimetype = reports.to_csv(tables), "text/csv; charset=utf-8"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response

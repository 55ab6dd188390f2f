"""Procurement API: an organisation's yearly report and the district pledge roll-up, as JSON or files."""

from __future__ import annotations

from shop.auth.guard import current_actor, login_required
from shop.procurement import (
    reports,
)
from shop.procurement.common_api import EXPORT_RESPONSE, blp, file_response
from shop.procurement.schemas import (
    ExportArgs,
    OrganisationReportSchema,
    RollupSchema,
    YearArgs,
)
from shop.request_session import get_session
from shop.web import documented_errors


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
    return file_response(
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
    return file_response(reports.rollup_tables(rows), query["format"], f"pledges-{query['year']}")

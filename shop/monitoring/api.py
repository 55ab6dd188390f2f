"""Monitoring API: supply declarations, risk levels, absorption campaigns (and their public list),
SKU storage classes, cold-chain incidents, reports."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, request
from flask_smorest import Blueprint

from shop import clock, idempotency
from shop.auth.guard import current_actor, login_required
from shop.monitoring import assessments, campaigns, cold_chain, declarations, reports
from shop.monitoring.models import CampaignAllocation
from shop.monitoring.schemas import (
    AllocationArgs,
    AllocationPageSchema,
    AllocationSchema,
    AssessArgs,
    AssessSchema,
    CampaignArgs,
    CampaignDetailSchema,
    CampaignListArgs,
    CampaignPageSchema,
    CampaignReportSchema,
    CloseArgs,
    ColdChainReportSchema,
    DeclarationArgs,
    DeclarationHistorySchema,
    DeclarationListArgs,
    DeclarationPageSchema,
    DeclarationSchema,
    IncidentExportArgs,
    IncidentListArgs,
    IncidentPageSchema,
    IncidentPeriodArgs,
    IncidentSchema,
    PublicCampaignPageSchema,
    PublicCampaignSchema,
    QuarantineDecisionArgs,
    QuarantineSchema,
    ReportFormatArgs,
    RiskDetailSchema,
    RiskExportArgs,
    RiskListArgs,
    RiskPageSchema,
    RiskReportArgs,
    RiskReportSchema,
    StorageArgs,
    StorageSchema,
)
from shop.procurement.models import BulkOrder
from shop.request_session import get_session
from shop.settings import current as current_settings
from shop.web import IDEMPOTENCY, PageArgs, documented_errors, page_body

blp = Blueprint(
    "monitoring",
    __name__,
    url_prefix="/api/v1",
    description="Unsold-produce early warning: supply declarations, risk levels, absorption campaigns, "
    "the cold chain, reports",
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


def _file(tables, fmt: str, name: str) -> Response:
    if fmt == "xlsx":
        body, mimetype = reports.to_xlsx(tables), reports.XLSX
    else:
        body, mimetype = reports.to_csv(tables), "text/csv; charset=utf-8"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


def _paging(args: dict) -> dict:
    return {"page": args.pop("page"), "size": args.pop("size")}


# --- declarations and risk ------------------------------------------------------------------------------


@blp.route("/monitoring/products/<int:product_id>/declaration", methods=["PUT"])
@blp.arguments(DeclarationArgs)
@blp.response(200, DeclarationSchema)
@documented_errors(403, 404, 409)
@login_required
def declare(args, product_id):
    """The supplier declares a certified product's supply now (a new version; the history is kept):
    expected harvest in the SKU's unit and in kg, harvest window, what is unsold at origin, how long
    it keeps. The product's risk is assessed again at once."""
    return declarations.declare_supply(
        get_session(), current_actor(), product_id, data=args, rules=current_settings().risk, now=clock.now()
    )


@blp.route("/monitoring/products/<int:product_id>/declaration", methods=["GET"])
@blp.response(200, DeclarationHistorySchema)
@documented_errors(404)
@login_required
def get_declaration(product_id):
    """The product's declaration and its versions, newest first (its supplier, the district's
    certifier, the coordinator)."""
    return declarations.get_declaration(get_session(), current_actor(), product_id)


@blp.route("/monitoring/declarations", methods=["GET"])
@blp.arguments(DeclarationListArgs, location="query")
@blp.response(200, DeclarationPageSchema)
@login_required
def list_declarations(args):
    """The declarations the caller may see."""
    paging = _paging(args)
    return page_body(declarations.list_declarations(get_session(), current_actor(), filters=args, **paging), paging)


@blp.route("/monitoring/risks", methods=["GET"])
@blp.arguments(RiskListArgs, location="query")
@blp.response(200, RiskPageSchema)
@login_required
def list_risks(args):
    """Risk levels with the figures behind them, most severe first: the supplier its products, the
    certifier its districts', the coordinator all."""
    paging = _paging(args)
    return page_body(assessments.list_risks(get_session(), current_actor(), filters=args, **paging), paging)


@blp.route("/monitoring/products/<int:product_id>/risk", methods=["GET"])
@blp.response(200, RiskDetailSchema)
@documented_errors(404)
@login_required
def get_risk(product_id):
    """A product's level, its figures and its level changes, newest first."""
    return assessments.get_risk(get_session(), current_actor(), product_id)


@blp.route("/monitoring/risks/assess", methods=["POST"])
@blp.arguments(AssessArgs)
@blp.response(200, AssessSchema)
@documented_errors(403)
@login_required
def assess(args):
    """The coordinator: assess now, some products or all (the worker's job does it on schedule)."""
    return assessments.assess_now(
        get_session(),
        current_actor(),
        product_ids=args.get("product_ids"),
        rules=current_settings().risk,
        now=clock.now(),
    )


# --- campaigns -------------------------------------------------------------------------------------------


@blp.route("/monitoring/campaigns", methods=["POST"])
@blp.arguments(CampaignArgs)
@blp.response(201, CampaignDetailSchema)
@documented_errors(403)
@login_required
def open_campaign(args):
    """The coordinator opens an absorption campaign (ordinary: for products at risk; emergency: any
    certified goods) with a target quantity, until the end of `ends_on`."""
    campaign = campaigns.open_campaign(get_session(), current_actor(), data=args, now=clock.now())
    return {"progress": campaigns.progress(get_session(), campaign), **_fields(campaign)}


def _fields(campaign) -> dict:
    return {name: getattr(campaign, name) for name in CampaignDetailSchema().fields if name != "progress"}


@blp.route("/monitoring/campaigns", methods=["GET"])
@blp.arguments(CampaignListArgs, location="query")
@blp.response(200, CampaignPageSchema)
@documented_errors(403)
@login_required
def list_campaigns(args):
    """Campaigns, newest first (the coordinator, regulators)."""
    paging = _paging(args)
    return page_body(
        campaigns.list_campaigns(get_session(), current_actor(), status=args.get("status"), **paging), paging
    )


@blp.route("/monitoring/campaigns/<int:campaign_id>", methods=["GET"])
@blp.response(200, CampaignDetailSchema)
@documented_errors(403, 404)
@login_required
def get_campaign(campaign_id):
    """A campaign with its progress: absorbed (sold or received within its window) against the target,
    by organisation and by channel."""
    campaign = campaigns.get_campaign(get_session(), current_actor(), campaign_id)
    return {"progress": campaigns.progress(get_session(), campaign), **_fields(campaign)}


@blp.route("/monitoring/campaigns/<int:campaign_id>/close", methods=["POST"])
@blp.arguments(CloseArgs)
@blp.response(200, CampaignDetailSchema)
@documented_errors(403, 404, 409)
@login_required
def close_campaign(args, campaign_id):
    """The coordinator closes a campaign early."""
    campaign = campaigns.close_campaign(
        get_session(), current_actor(), campaign_id, reason=args["reason"], now=clock.now()
    )
    return {"progress": campaigns.progress(get_session(), campaign), **_fields(campaign)}


def _allocation(allocation, status) -> dict:
    return {
        **{k: getattr(allocation, k) for k in AllocationSchema().fields if k != "bulk_order_status"},
        "bulk_order_status": status,
    }


@blp.route("/monitoring/campaigns/<int:campaign_id>/allocations", methods=["POST"])
@blp.arguments(AllocationArgs)
@blp.response(201, AllocationSchema)
@blp.doc(**IDEMPOTENCY)
@documented_errors(403, 404, 409, 422)
@login_required
def allocate(args, campaign_id):
    """The coordinator allocates units of a campaign SKU to an organisation: a draft bulk order is made
    for it, which its members submit and approve through their usual flow. Never beyond the target
    (409 `target_exceeded`). A retry with the same Idempotency-Key and body answers the first allocation."""
    session, actor = get_session(), current_actor()
    allocation_id, _ = idempotency.run_once(
        session,
        user_id=actor.user_id,
        scope=f"monitoring.{campaign_id}.allocations",
        key=request.headers.get("Idempotency-Key"),
        payload=args,
        create=lambda: campaigns.allocate(session, actor, campaign_id, data=args, now=clock.now()).id,
    )
    allocation = session.get(CampaignAllocation, allocation_id)
    return _allocation(allocation, session.get(BulkOrder, allocation.bulk_order_id).status)


@blp.route("/monitoring/campaigns/<int:campaign_id>/allocations", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, AllocationPageSchema)
@documented_errors(403, 404)
@login_required
def list_allocations(args, campaign_id):
    """A campaign's allocations with the status of each draft bulk order."""
    session = get_session()
    items, total = campaigns.list_allocations(session, current_actor(), campaign_id, **args)
    statuses = dict(
        session.execute(
            sa.select(BulkOrder.id, BulkOrder.status).where(BulkOrder.id.in_([a.bulk_order_id for a in items]))
        ).all()
    )
    return page_body(([_allocation(a, statuses[a.bulk_order_id]) for a in items], total), args)


def _public(campaign_list) -> list[dict]:
    products = campaigns.public_products(get_session(), campaign_list)
    return [
        {
            "id": c.id,
            "name": c.name,
            "kind": c.kind,
            "note": c.note,
            "starts_at": c.starts_at,
            "ends_at": c.ends_at,
            "products": products.get(c.id, []),
        }
        for c in campaign_list
    ]


@blp.route("/campaigns", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, PublicCampaignPageSchema)
def public_campaigns(args):
    """Public: the absorption campaigns running now and their products (buy them!)."""
    items, total = campaigns.list_running(get_session(), now=clock.now(), **args)
    return page_body((_public(items), total), args)


@blp.route("/campaigns/<int:campaign_id>", methods=["GET"])
@blp.response(200, PublicCampaignSchema)
@documented_errors(404)
def public_campaign(campaign_id):
    """Public: one running campaign and its products."""
    return _public([campaigns.get_running(get_session(), campaign_id, now=clock.now())])[0]


# --- cold chain ------------------------------------------------------------------------------------------


@blp.route("/monitoring/skus/<int:sku_id>/storage", methods=["GET"])
@blp.response(200, StorageSchema)
@documented_errors(404)
def get_storage(sku_id):
    """Public: how a SKU is kept (ambient unless its supplier said otherwise)."""
    return cold_chain.get_storage(get_session(), sku_id)


@blp.route("/monitoring/skus/<int:sku_id>/storage", methods=["PUT"])
@blp.arguments(StorageArgs)
@blp.response(200, StorageSchema)
@documented_errors(403, 404)
@login_required
def set_storage(args, sku_id):
    """The supplier sets a SKU's storage class and temperature range (°C; the class's usual range
    when left out: chilled 0 to 4, frozen −30 to −18)."""
    return cold_chain.set_storage(get_session(), current_actor(), sku_id, data=args, now=clock.now())


@blp.route("/monitoring/cold-chain/incidents", methods=["GET"])
@blp.arguments(IncidentListArgs, location="query")
@blp.response(200, IncidentPageSchema)
@documented_errors(403)
@login_required
def list_incidents(args):
    """Cold-chain alerts at the counters the operator runs, or under the hall they run."""
    paging = _paging(args)
    return page_body(
        cold_chain.list_incidents(get_session(), current_actor(), status=args.get("status"), **paging), paging
    )


@blp.route("/monitoring/cold-chain/incidents/<int:incident_id>", methods=["GET"])
@blp.response(200, IncidentSchema)
@documented_errors(403, 404)
@login_required
def get_incident(incident_id):
    """One incident and its quarantined batches."""
    return cold_chain.get_incident(get_session(), current_actor(), incident_id)


@blp.route("/monitoring/cold-chain/quarantines/<int:quarantine_id>/release", methods=["POST"])
@blp.arguments(QuarantineDecisionArgs)
@blp.response(200, QuarantineSchema)
@documented_errors(403, 404, 409)
@login_required
def release(args, quarantine_id):
    """An operator inspected the batch and found it fit: sellable at the counter again."""
    return cold_chain.release(get_session(), current_actor(), quarantine_id, note=args["note"], now=clock.now())


@blp.route("/monitoring/cold-chain/quarantines/<int:quarantine_id>/write-off", methods=["POST"])
@blp.arguments(QuarantineDecisionArgs)
@blp.response(200, QuarantineSchema)
@documented_errors(403, 404, 409)
@login_required
def write_off(args, quarantine_id):
    """An operator inspected the batch and found it spoiled: its units are written off, their value kept."""
    return cold_chain.write_off(get_session(), current_actor(), quarantine_id, note=args["note"], now=clock.now())


# --- reports ----------------------------------------------------------------------------------------------


@blp.route("/monitoring/reports/risk", methods=["GET"])
@blp.arguments(RiskReportArgs, location="query")
@blp.response(200, RiskReportSchema)
@documented_errors(422)
@login_required
def risk_report(args):
    """Products at each level (watch and above) by origin district at the end of each day or month."""
    return {"items": reports.risk_over_time(get_session(), current_actor(), **args)}


@blp.route("/monitoring/reports/risk/export", methods=["GET"])
@blp.arguments(RiskExportArgs, location="query")
@blp.doc(**EXPORT_RESPONSE)
@documented_errors(422)
@login_required
def risk_report_export(args):
    """The risk report as CSV or XLSX."""
    fmt = args.pop("format")
    rows = reports.risk_over_time(get_session(), current_actor(), **args)
    return _file(reports.risk_tables(rows), fmt, f"risk-{args['date_from']}-{args['date_to']}")


@blp.route("/monitoring/reports/campaigns", methods=["GET"])
@blp.response(200, CampaignReportSchema)
@documented_errors(403)
@login_required
def campaign_report():
    """Every campaign with its absorption by organisation and channel (the coordinator, regulators)."""
    rows = reports.campaigns_report(get_session(), current_actor())
    return {"items": [{"campaign": _fields(r["campaign"]), "progress": r["progress"]} for r in rows]}


@blp.route("/monitoring/reports/campaigns/export", methods=["GET"])
@blp.arguments(ReportFormatArgs, location="query")
@blp.doc(**EXPORT_RESPONSE)
@documented_errors(403)
@login_required
def campaign_report_export(args):
    """The campaigns report as CSV or XLSX."""
    rows = reports.campaigns_report(get_session(), current_actor())
    return _file(reports.campaign_tables(rows), args["format"], "campaigns")


@blp.route("/monitoring/reports/cold-chain", methods=["GET"])
@blp.arguments(IncidentPeriodArgs, location="query")
@blp.response(200, ColdChainReportSchema)
@documented_errors(422)
@login_required
def cold_chain_report(args):
    """Cold-chain incidents opened in the period, units quarantined and written off, value written off."""
    return {"items": reports.cold_chain_report(get_session(), current_actor(), **args)}


@blp.route("/monitoring/reports/cold-chain/export", methods=["GET"])
@blp.arguments(IncidentExportArgs, location="query")
@blp.doc(**EXPORT_RESPONSE)
@documented_errors(422)
@login_required
def cold_chain_report_export(args):
    """The cold-chain report as CSV or XLSX."""
    fmt = args.pop("format")
    rows = reports.cold_chain_report(get_session(), current_actor(), **args)
    return _file(reports.cold_chain_tables(rows), fmt, f"cold-chain-{args['date_from']}-{args['date_to']}")

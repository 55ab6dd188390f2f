from __future__ import annotations

from datetime import date

import marshmallow as ma

from shop.monitoring.models import (
    CampaignKind,
    CampaignStatus,
    IncidentStatus,
    QuarantineStatus,
    RiskLevel,
    StorageClass,
)
from shop.procurement.models import BulkOrderStatus
from shop.statistics.models import Channel
from shop.web import BIG, Id, Int, PageArgs, Timestamp, page_schema

DAYS = ma.validate.Range(min=date(2001, 1, 1), max=date(2100, 12, 31))
QUANTITY = ma.validate.Range(min=0, max=10**12)
CELSIUS = ma.validate.Range(min=-60, max=60)


# --- declarations -------------------------------------------------------------------------------------


class DeclarationArgs(ma.Schema):
    expected_quantity = Int(
        required=True, strict=True, validate=QUANTITY, metadata={"description": "In the SKU's unit"}
    )
    expected_kg = Int(required=True, strict=True, validate=QUANTITY)
    unsold_quantity = Int(required=True, strict=True, validate=QUANTITY, metadata={"description": "Unsold at origin"})
    unsold_kg = Int(required=True, strict=True, validate=QUANTITY)
    harvest_from = ma.fields.Date(required=True, validate=DAYS)
    harvest_until = ma.fields.Date(required=True, validate=DAYS)
    keeps_days = Int(required=True, strict=True, validate=ma.validate.Range(min=0, max=3650))
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class DeclarationFieldsSchema(ma.Schema):
    version = Int(required=True)
    expected_quantity = Int(required=True, validate=BIG)
    expected_kg = Int(required=True, validate=BIG)
    unsold_quantity = Int(required=True, validate=BIG)
    unsold_kg = Int(required=True, validate=BIG)
    harvest_from = ma.fields.Date(required=True)
    harvest_until = ma.fields.Date(required=True)
    keeps_days = Int(required=True)
    note = ma.fields.String(required=True)
    declared_by_id = Int(allow_none=True)
    declared_at = Timestamp(required=True)


class DeclarationSchema(DeclarationFieldsSchema):
    product_id = Int(required=True)
    supplier_id = Int(required=True)
    district_id = Int(required=True)
    unit = ma.fields.String(required=True)


class DeclarationHistorySchema(ma.Schema):
    declaration = ma.fields.Nested(DeclarationSchema, required=True)
    history = ma.fields.List(ma.fields.Nested(DeclarationFieldsSchema), required=True)


class DeclarationListArgs(PageArgs):
    district_id = Id(load_default=None)
    supplier_id = Id(load_default=None)


DeclarationPageSchema = page_schema(DeclarationSchema, "DeclarationPage")


# --- risk ------------------------------------------------------------------------------------------------


class RiskListArgs(PageArgs):
    level = ma.fields.Enum(RiskLevel, by_value=True, load_default=None)
    min_level = ma.fields.Enum(RiskLevel, by_value=True, load_default=None)
    district_id = Id(load_default=None)
    supplier_id = Id(load_default=None)


class FiguresSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    velocity_days = Int(required=True)
    sold_in_window = Int(required=True, validate=BIG)
    velocity_per_day = ma.fields.String(required=True)
    sell_by = ma.fields.String(required=True)
    horizon_days = Int(required=True)
    expected_sales = Int(required=True, validate=BIG)
    unsold_at_origin = Int(required=True, validate=BIG)
    ageing_days = Int(required=True)
    ageing_units = Int(required=True, validate=BIG)
    ageing_left = Int(required=True, validate=BIG)
    origin_left = Int(required=True, validate=BIG)
    exposed = Int(required=True, validate=BIG)
    unsold_share_bp = Int(required=True)
    thresholds_bp = ma.fields.Dict(keys=ma.fields.String(), values=Int(), required=True)


class RiskSchema(ma.Schema):
    product_id = Int(required=True)
    product_name = ma.fields.String(required=True)
    supplier_id = Int(required=True)
    district_id = Int(required=True)
    level = ma.fields.Enum(RiskLevel, by_value=True, required=True)
    figures = ma.fields.Nested(FiguresSchema, required=True)
    declaration_version = Int(required=True)
    level_since = Timestamp(required=True)
    assessed_at = Timestamp(required=True)


class LevelChangeSchema(ma.Schema):
    from_level = ma.fields.Enum(RiskLevel, by_value=True, required=True)
    to_level = ma.fields.Enum(RiskLevel, by_value=True, required=True)
    figures = ma.fields.Nested(FiguresSchema, required=True)
    at = Timestamp(required=True)


class RiskDetailSchema(RiskSchema):
    changes = ma.fields.List(ma.fields.Nested(LevelChangeSchema), required=True)


RiskPageSchema = page_schema(RiskSchema, "RiskPage")


class AssessArgs(ma.Schema):
    product_ids = ma.fields.List(Id(), load_default=None, validate=ma.validate.Length(min=1, max=1000))


class AssessSchema(ma.Schema):
    assessed = Int(required=True)
    changed_figures = Int(required=True)
    changed_levels = Int(required=True)


# --- campaigns -----------------------------------------------------------------------------------------


class CampaignArgs(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    kind = ma.fields.Enum(CampaignKind, by_value=True, required=True)
    target_quantity = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=10**12))
    ends_on = ma.fields.Date(required=True, validate=DAYS, metadata={"description": "Last day, Asia/Shanghai"})
    sku_ids = ma.fields.List(Id(), required=True, validate=ma.validate.Length(min=1, max=50))
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=1000))


class CampaignSkuSchema(ma.Schema):
    sku_id = Int(required=True)
    product_id = Int(required=True)


class CampaignSchema(ma.Schema):
    id = Int(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.Enum(CampaignKind, by_value=True, required=True)
    status = ma.fields.Enum(CampaignStatus, by_value=True, required=True)
    note = ma.fields.String(required=True)
    target_quantity = Int(required=True, validate=BIG)
    allocated_quantity = Int(required=True, validate=BIG)
    starts_at = Timestamp(required=True)
    ends_at = Timestamp(required=True)
    closed_at = Timestamp(allow_none=True)
    close_reason = ma.fields.String(allow_none=True)
    skus = ma.fields.List(ma.fields.Nested(CampaignSkuSchema), required=True)


class OrganisationProgressSchema(ma.Schema):
    organisation_id = Int(allow_none=True, metadata={"description": "null: individual buyers"})
    organisation_name = ma.fields.String(allow_none=True)
    allocated = Int(required=True, validate=BIG)
    absorbed = Int(required=True, validate=BIG)


class ChannelProgressSchema(ma.Schema):
    channel = ma.fields.Enum(Channel, by_value=True, required=True)
    absorbed = Int(required=True, validate=BIG)


class CampaignProgressSchema(ma.Schema):
    target = Int(required=True, validate=BIG)
    allocated = Int(required=True, validate=BIG)
    absorbed = Int(required=True, validate=BIG)
    remaining = Int(required=True, validate=BIG)
    absorbed_bp = Int(required=True, validate=BIG)
    target_met = ma.fields.Boolean(required=True)
    by_organisation = ma.fields.List(ma.fields.Nested(OrganisationProgressSchema), required=True)
    by_channel = ma.fields.List(ma.fields.Nested(ChannelProgressSchema), required=True)


class CampaignDetailSchema(CampaignSchema):
    progress = ma.fields.Nested(CampaignProgressSchema, required=True)


class CampaignListArgs(PageArgs):
    status = ma.fields.Enum(CampaignStatus, by_value=True, load_default=None)


CampaignPageSchema = page_schema(CampaignSchema, "CampaignPage")


class CloseArgs(ma.Schema):
    reason = ma.fields.String(load_default="closed by the coordinator", validate=ma.validate.Length(min=1, max=200))


class AllocationArgs(ma.Schema):
    organisation_id = Id(required=True)
    sku_id = Id(required=True)
    quantity = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=1_000_000))
    supply_location_id = Id(load_default=None, metadata={"description": "The hall supplying the goods"})
    pickup_location_id = Id(load_default=None)
    delivery_address = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=300))
    recipient = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))
    phone = ma.fields.String(load_default=None, validate=ma.validate.Length(max=20))


class AllocationSchema(ma.Schema):
    id = Int(required=True)
    campaign_id = Int(required=True)
    organisation_id = Int(required=True)
    sku_id = Int(required=True)
    quantity = Int(required=True)
    bulk_order_id = Int(required=True)
    bulk_order_status = ma.fields.Enum(BulkOrderStatus, by_value=True, required=True)
    allocated_at = Timestamp(required=True)


AllocationPageSchema = page_schema(AllocationSchema, "AllocationPage")


class PublicCampaignSkuSchema(ma.Schema):
    product_id = Int(required=True)
    product_name = ma.fields.String(required=True)
    sku_id = Int(required=True)
    sku_name = ma.fields.String(required=True)
    unit = ma.fields.String(required=True)
    price_fen = Int(required=True)


class PublicCampaignSchema(ma.Schema):
    id = Int(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.Enum(CampaignKind, by_value=True, required=True)
    note = ma.fields.String(required=True)
    starts_at = Timestamp(required=True)
    ends_at = Timestamp(required=True)
    products = ma.fields.List(ma.fields.Nested(PublicCampaignSkuSchema), required=True)


PublicCampaignPageSchema = page_schema(PublicCampaignSchema, "PublicCampaignPage")


# --- cold chain ----------------------------------------------------------------------------------------


class StorageArgs(ma.Schema):
    storage_class = ma.fields.Enum(StorageClass, by_value=True, required=True)
    min_celsius = ma.fields.Float(load_default=None, validate=CELSIUS, allow_nan=False)
    max_celsius = ma.fields.Float(load_default=None, validate=CELSIUS, allow_nan=False)


class StorageSchema(ma.Schema):
    sku_id = Int(required=True)
    storage_class = ma.fields.Enum(StorageClass, by_value=True, required=True)
    min_celsius = ma.fields.Float(required=True)
    max_celsius = ma.fields.Float(required=True)


class QuarantineSchema(ma.Schema):
    id = Int(required=True)
    incident_id = Int(required=True)
    location_id = Int(required=True)
    batch_id = Int(required=True)
    sku_id = Int(required=True)
    units = Int(required=True)
    status = ma.fields.Enum(QuarantineStatus, by_value=True, required=True)
    written_off_units = Int(required=True)
    written_off_fen = Int(required=True, validate=BIG)
    note = ma.fields.String(required=True)
    decided_by_id = Int(allow_none=True)
    decided_at = Timestamp(allow_none=True)


class IncidentSchema(ma.Schema):
    id = Int(required=True)
    location_id = Int(required=True)
    status = ma.fields.Enum(IncidentStatus, by_value=True, required=True)
    out_since = Timestamp(required=True)
    opened_at = Timestamp(required=True)
    celsius = ma.fields.Float(required=True, attribute="decicelsius")
    resolved_at = Timestamp(allow_none=True)
    quarantines = ma.fields.List(ma.fields.Nested(QuarantineSchema), required=True)

    @ma.post_dump
    def tenths(self, data, **_kwargs):
        data["celsius"] = data["celsius"] / 10
        return data


class IncidentListArgs(PageArgs):
    status = ma.fields.Enum(IncidentStatus, by_value=True, load_default=None)


IncidentPageSchema = page_schema(IncidentSchema, "IncidentPage")


class QuarantineDecisionArgs(ma.Schema):
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))


# --- reports ----------------------------------------------------------------------------------------------


class ReportFormatArgs(ma.Schema):
    format = ma.fields.String(load_default="csv", validate=ma.validate.OneOf(["csv", "xlsx"]))


class IncidentPeriodArgs(ma.Schema):
    date_from = ma.fields.Date(required=True, validate=DAYS, metadata={"description": "First day, Asia/Shanghai"})
    date_to = ma.fields.Date(required=True, validate=DAYS, metadata={"description": "Last day, included"})


class IncidentExportArgs(IncidentPeriodArgs, ReportFormatArgs):
    pass


class RiskReportArgs(IncidentPeriodArgs):
    period = ma.fields.String(load_default="month", validate=ma.validate.OneOf(["day", "month"]))


class RiskExportArgs(RiskReportArgs, ReportFormatArgs):
    pass


class RiskReportRowSchema(ma.Schema):
    day = ma.fields.Date(required=True)
    district_id = Int(required=True)
    level = ma.fields.Enum(RiskLevel, by_value=True, required=True)
    products = Int(required=True)


class RiskReportSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RiskReportRowSchema), required=True)


class CampaignReportRowSchema(ma.Schema):
    campaign = ma.fields.Nested(CampaignSchema, required=True)
    progress = ma.fields.Nested(CampaignProgressSchema, required=True)


class CampaignReportSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CampaignReportRowSchema), required=True)


class ColdChainRowSchema(ma.Schema):
    incident_id = Int(required=True)
    location_id = Int(required=True)
    location_name = ma.fields.String(required=True)
    status = ma.fields.Enum(IncidentStatus, by_value=True, required=True)
    opened_at = Timestamp(required=True)
    celsius = ma.fields.Float(required=True)
    batches = Int(required=True)
    units_quarantined = Int(required=True, validate=BIG)
    units_released = Int(required=True, validate=BIG)
    units_written_off = Int(required=True, validate=BIG)
    written_off_fen = Int(required=True, validate=BIG)


class ColdChainReportSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ColdChainRowSchema), required=True)

from __future__ import annotations

from datetime import date

import marshmallow as ma
from flask_smorest.fields import Upload

from shop.auth.models import Role
from shop.statistics.models import BulletinPeriod, BuyerType, Channel, FeedStatus, PlanKind
from shop.statistics.queries import DIMENSIONS, PERIODS
from shop.web import BIG, SIGNED_BIG, Id, Int, Timestamp

DAYS = ma.validate.Range(min=date(2001, 1, 1), max=date(2100, 12, 31))
YEARS = ma.validate.Range(min=2001, max=2100)


class PeriodArgs(ma.Schema):
    date_from = ma.fields.Date(required=True, validate=DAYS, metadata={"description": "First day, Asia/Shanghai"})
    date_to = ma.fields.Date(required=True, validate=DAYS, metadata={"description": "Last day, included"})


class SalesQueryArgs(PeriodArgs):
    group_by = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(sorted(DIMENSIONS))),
        load_default=list,
        validate=ma.validate.Length(max=4),
    )
    period = ma.fields.String(load_default="all", validate=ma.validate.OneOf(list(PERIODS)))
    year_on_year = ma.fields.Boolean(load_default=False)
    district_id = Id(load_default=None)
    township_id = Id(load_default=None)
    supplier_id = Id(load_default=None)
    category_id = Id(load_default=None)
    product_id = Id(load_default=None)
    organisation_id = Id(load_default=None)
    location_id = Id(load_default=None)
    deep_poverty = ma.fields.Boolean(load_default=None)
    eligible = ma.fields.Boolean(load_default=None)
    channel = ma.fields.Enum(Channel, by_value=True, load_default=None)
    buyer_type = ma.fields.Enum(BuyerType, by_value=True, load_default=None)


class SalesRowSchema(ma.Schema):
    period = ma.fields.String(required=True, metadata={"description": "2026, 2026-Q3, 2026-07, 2026-07-14 or all"})
    dimensions = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(allow_none=True), required=True)
    quantity = Int(validate=SIGNED_BIG, required=True)
    amount_fen = Int(validate=SIGNED_BIG, required=True)
    facts = Int(validate=BIG, required=True)
    last_year_amount_fen = Int(validate=SIGNED_BIG)
    change_bp = Int(
        validate=SIGNED_BIG, allow_none=True, metadata={"description": "Against last year; null: none then"}
    )


class SalesSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SalesRowSchema), required=True)


class TownshipCheckSchema(ma.Schema):
    township_id = Int(required=True)
    township = ma.fields.String(required=True)
    district_id = Int(required=True)
    amount_fen = Int(validate=SIGNED_BIG, required=True)
    last_year_amount_fen = Int(validate=SIGNED_BIG, required=True)
    change_bp = Int(validate=SIGNED_BIG, allow_none=True, required=True)
    flagged = ma.fields.Boolean(required=True, metadata={"description": "Sold less than a year before"})


class TownshipCheckPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TownshipCheckSchema), required=True)


class TargetArgs(ma.Schema):
    kind = ma.fields.Enum(PlanKind, by_value=True, required=True)
    key = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": "A district id, a kind of organisation (buyer type) or a channel"},
    )
    target_fen = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=10**15))


class PlanArgs(ma.Schema):
    targets = ma.fields.List(ma.fields.Nested(TargetArgs), required=True, validate=ma.validate.Length(min=1, max=200))


class TargetSchema(ma.Schema):
    kind = ma.fields.Enum(PlanKind, by_value=True, required=True)
    key = ma.fields.String(required=True)
    target_fen = Int(validate=BIG, required=True)


class PlanSchema(ma.Schema):
    year = Int(required=True)
    targets = ma.fields.List(ma.fields.Nested(TargetSchema), required=True)


class ProgressRowSchema(ma.Schema):
    kind = ma.fields.String(required=True)
    key = ma.fields.String(required=True)
    target_fen = Int(validate=BIG, required=True)
    amount_fen = Int(validate=SIGNED_BIG, required=True)
    share_bp = Int(validate=SIGNED_BIG, required=True)
    expected_share_bp = Int(required=True, metadata={"description": "Share of the calendar year gone"})
    pace_bp = Int(validate=SIGNED_BIG, allow_none=True, required=True, metadata={"description": "10000: on pace"})
    behind = ma.fields.Boolean(required=True)


class ProgressSchema(ma.Schema):
    year = Int(required=True)
    elapsed_bp = Int(required=True)
    targets = ma.fields.List(ma.fields.Nested(ProgressRowSchema), required=True)


class YearPath(ma.Schema):
    year = Int(required=True, validate=YEARS)


class Import832Args(ma.Schema):
    file = Upload(
        required=True,
        metadata={
            "description": "CSV (UTF-8 or GB18030) or XLSX, header in row 1: order_number, date, supplier, "
            "product, origin_county, amount (yuan; Chinese headers too)"
        },
    )


class Import832Schema(ma.Schema):
    rows = Int(required=True)
    imported = Int(required=True)
    duplicates = Int(required=True, metadata={"description": "Order numbers imported before or twice in the file"})
    amount_fen = Int(validate=BIG, required=True)


class BulletinArgs(ma.Schema):
    period = ma.fields.Enum(BulletinPeriod, by_value=True, required=True)
    year = Int(required=True, strict=True, validate=YEARS)
    number = Int(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=1, max=12),
        metadata={"description": "Month or quarter"},
    )
    audience = ma.fields.List(
        ma.fields.Enum(Role, by_value=True),
        load_default=None,
        validate=ma.validate.Length(max=20),
        metadata={"description": "The roles that may read it (the coordinator and admins always)"},
    )


class BulletinSchema(ma.Schema):
    id = Int(required=True)
    number = ma.fields.String(required=True, metadata={"description": "year-serial, e.g. 2026-003"})
    year = Int(required=True)
    serial = Int(required=True)
    period = ma.fields.Enum(BulletinPeriod, by_value=True, required=True)
    period_no = Int(required=True)
    date_from = ma.fields.Date(required=True)
    date_to = ma.fields.Date(required=True)
    audience = ma.fields.List(ma.fields.String(), required=True)
    figures = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(), required=True)
    published_at = Timestamp(required=True)


class BulletinListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BulletinSchema), required=True)


class ExportArgs(ma.Schema):
    format = ma.fields.String(load_default="xlsx", validate=ma.validate.OneOf(["xlsx", "csv"]))


class ChartsSchema(ma.Schema):
    options = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Dict(),
        required=True,
        metadata={"description": "Per figure, an ECharts option object for chart.setOption"},
    )


class FeedBatchSchema(ma.Schema):
    batch_id = ma.fields.String(required=True)
    fact_count = Int(required=True)
    status = ma.fields.Enum(FeedStatus, by_value=True, required=True)
    attempts = Int(required=True)
    next_attempt_at = Timestamp(required=True)
    last_error = ma.fields.String(allow_none=True, required=True)
    created_at = Timestamp(required=True)


class FeedStatusSchema(ma.Schema):
    batches = ma.fields.Dict(keys=ma.fields.String(), values=Int(validate=BIG), required=True)
    facts_not_batched = Int(validate=BIG, required=True)
    last_sent_at = Timestamp(allow_none=True, required=True)
    waiting = ma.fields.List(
        ma.fields.Nested(FeedBatchSchema),
        required=True,
        metadata={"description": "Pending and failed, oldest first (50)"},
    )

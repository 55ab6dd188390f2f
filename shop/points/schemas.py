from __future__ import annotations

import marshmallow as ma

from shop.points.models import PointsKind
from shop.web import SIGNED_INT4, Id, Int, Timestamp, page_schema


class PointsEntrySchema(ma.Schema):
    id = Int(required=True)
    kind = ma.fields.Enum(PointsKind, by_value=True, required=True)
    delta = Int(validate=SIGNED_INT4, required=True)
    balance_after = Int(validate=SIGNED_INT4, required=True)
    order_id = Id(allow_none=True)
    note = ma.fields.String(required=True)
    created_at = Timestamp(required=True)


PointsEntryPageSchema = page_schema(PointsEntrySchema, "PointsEntryPage")


class PointsSchema(ma.Schema):
    balance = Int(validate=SIGNED_INT4, required=True)
    point_value_fen = Int(required=True, metadata={"description": "What one point is worth, in fen"})


class AdjustArgs(ma.Schema):
    delta = Int(required=True, strict=True, validate=ma.validate.Range(min=-10_000_000, max=10_000_000))
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))

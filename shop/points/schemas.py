from __future__ import annotations

import marshmallow as ma

from shop.points.models import PointsKind
from shop.web import Id, page_schema


class PointsEntrySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.Enum(PointsKind, by_value=True, required=True)
    delta = ma.fields.Integer(required=True)
    balance_after = ma.fields.Integer(required=True)
    order_id = Id(allow_none=True)
    note = ma.fields.String(required=True)
    created_at = ma.fields.AwareDateTime(required=True)


PointsEntryPageSchema = page_schema(PointsEntrySchema, "PointsEntryPage")


class PointsSchema(ma.Schema):
    balance = ma.fields.Integer(required=True)
    point_value_fen = ma.fields.Integer(required=True, metadata={"description": "What one point is worth, in fen"})


class AdjustArgs(ma.Schema):
    delta = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=-10_000_000, max=10_000_000))
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))

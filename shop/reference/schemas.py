from __future__ import annotations

import marshmallow as ma

from shop.reference.models import DistrictKind
from shop.web import Id, Int, page_schema


class TownshipSchema(ma.Schema):
    id = Int(required=True)
    district_id = Id(required=True)
    name = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    deep_poverty = ma.fields.Boolean(required=True)


class DistrictSchema(ma.Schema):
    id = Int(required=True, metadata={"description": "Official 6-digit code"})
    name = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    kind = ma.fields.Enum(DistrictKind, by_value=True, required=True)
    poverty_alleviated = ma.fields.Boolean(required=True)


class DistrictDetailSchema(DistrictSchema):
    townships = ma.fields.List(ma.fields.Nested(TownshipSchema), required=True)


DistrictPageSchema = page_schema(DistrictSchema, "DistrictPage")
TownshipPageSchema = page_schema(TownshipSchema, "TownshipPage")


class DistrictQueryArgs(ma.Schema):
    poverty_alleviated = ma.fields.Boolean(load_default=None)


class TownshipQueryArgs(ma.Schema):
    district_id = Id(load_default=None)
    deep_poverty = ma.fields.Boolean(load_default=None)

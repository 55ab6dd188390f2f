from __future__ import annotations

import marshmallow as ma

from shop.web import Id, Int, Timestamp, page_schema

PHONE = ma.validate.Regexp(r"^[0-9+\- ]{5,20}$", error="Not a phone number.")
POSTAL_CODE = ma.validate.Regexp(r"^[0-9]{6}$", error="Six digits.")
REGION_CODE = ma.fields.String(
    validate=ma.validate.Length(equal=6),
    metadata={"description": "County-level administrative division, GB/T 2260 (500236: 奉节县)", "example": "500236"},
)


class SavedAddressUpdateArgs(ma.Schema):
    recipient = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    phone = ma.fields.String(validate=PHONE)
    region_code = REGION_CODE
    detail = ma.fields.String(
        validate=ma.validate.Length(min=1, max=300), metadata={"description": "Street, building, room"}
    )
    postal_code = ma.fields.String(allow_none=True, validate=POSTAL_CODE)


class SavedAddressArgs(SavedAddressUpdateArgs):
    recipient = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    phone = ma.fields.String(required=True, validate=PHONE)
    region_code = ma.fields.String(required=True, validate=ma.validate.Length(equal=6), metadata=REGION_CODE.metadata)
    detail = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    postal_code = ma.fields.String(load_default=None, allow_none=True, validate=POSTAL_CODE)
    is_default = ma.fields.Boolean(
        load_default=False, metadata={"description": "Make it the default (the first address always is)"}
    )


class SavedAddressSchema(ma.Schema):
    id = Int(required=True)
    recipient = ma.fields.String(required=True)
    phone = ma.fields.String(required=True)
    region_code = ma.fields.String(required=True)
    district_id = Id(allow_none=True, metadata={"description": "The Chongqing district or county, if in Chongqing"})
    detail = ma.fields.String(required=True)
    postal_code = ma.fields.String(allow_none=True)
    is_default = ma.fields.Boolean(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


SavedAddressPageSchema = page_schema(SavedAddressSchema, "SavedAddressPage")

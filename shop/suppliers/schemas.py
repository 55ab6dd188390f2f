from __future__ import annotations

import marshmallow as ma

from shop.reference.schemas import DistrictSchema
from shop.web import Id, Int, Timestamp, page_schema

PHONE = ma.validate.Regexp(r"^[0-9+\- ]{5,20}$", error="Not a phone number.")


class SupplierCreateArgs(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=2, max=200))
    uscc = ma.fields.String(
        required=True,
        validate=ma.validate.Length(equal=18),
        metadata={"description": "Unified social credit code, 18 characters"},
    )
    district_id = Id(required=True)
    address = ma.fields.String(validate=ma.validate.Length(max=300))
    contact_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    contact_phone = ma.fields.String(required=True, validate=PHONE)
    contact_email = ma.fields.Email(allow_none=True)


class SupplierUpdateArgs(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=2, max=200))
    address = ma.fields.String(validate=ma.validate.Length(max=300))
    contact_name = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    contact_phone = ma.fields.String(validate=PHONE)
    contact_email = ma.fields.Email(allow_none=True)


class SupplierSchema(ma.Schema):
    id = Int(required=True)
    name = ma.fields.String(required=True)
    uscc = ma.fields.String(required=True)
    district = ma.fields.Nested(DistrictSchema, required=True)
    address = ma.fields.String(required=True)
    contact_name = ma.fields.String(required=True)
    contact_phone = ma.fields.String(required=True)
    contact_email = ma.fields.String(allow_none=True)
    created_at = Timestamp(required=True)


SupplierPageSchema = page_schema(SupplierSchema, "SupplierPage")


class SupplierQueryArgs(ma.Schema):
    district_id = Id(load_default=None)
    q = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))


class MemberArgs(ma.Schema):
    login = ma.fields.String(required=True, metadata={"description": "E-mail or mobile number of the account"})


class MemberSchema(ma.Schema):
    id = Int(required=True)
    display_name = ma.fields.String(required=True)
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)


MemberPageSchema = page_schema(MemberSchema, "MemberPage")

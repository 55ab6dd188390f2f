from __future__ import annotations

import marshmallow as ma

from shop import clock
from shop.certification.models import CertStatus, ObjectionStatus
from shop.web import Id, Int, Timestamp, page_schema


class DocumentSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    url = ma.fields.Url(required=True, schemes={"http", "https"}, validate=ma.validate.Length(max=1000))
    sha256 = ma.fields.String(
        required=True, validate=ma.validate.Regexp(r"^[0-9a-fA-F]{64}$", error="Not a sha256 hex digest.")
    )


class ApplicationArgs(ma.Schema):
    production_base = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    expected_yearly_output = Int(required=True, strict=True, validate=ma.validate.Range(min=1, max=1_000_000_000))
    output_unit = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=20), metadata={"example": "kg"}
    )
    households_benefiting = Int(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=0, max=1_000_000),
        metadata={"description": "Poverty-alleviated households that benefit"},
    )
    documents = ma.fields.List(ma.fields.Nested(DocumentSchema), load_default=list, validate=ma.validate.Length(max=20))


class ApplyArgs(ApplicationArgs):
    product_id = Id(required=True)


class DecisionArgs(ma.Schema):
    reason = ma.fields.String(load_default=None, validate=ma.validate.Length(max=1000))


class ReasonArgs(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1000))


class ProductBriefSchema(ma.Schema):
    id = Int(required=True)
    name = ma.fields.String(required=True)


class CertificationSchema(ma.Schema):
    id = Int(required=True)
    product = ma.fields.Nested(ProductBriefSchema, required=True)
    supplier_id = Id(required=True)
    district_id = Id(required=True)
    township_id = Id(allow_none=True)
    status = ma.fields.Enum(CertStatus, by_value=True, required=True)
    effective_status = ma.fields.Method(
        "_effective",
        required=True,
        metadata={
            "description": "pending, approved, rejected, in_objection_window, in_force, expired, objected, "
            "withdrawn, revoked or suspended, at the time of the response"
        },
    )
    certificate_no = ma.fields.String(allow_none=True)
    production_base = ma.fields.String(required=True)
    expected_yearly_output = Int(required=True)
    output_unit = ma.fields.String(required=True)
    households_benefiting = Int(required=True)
    documents = ma.fields.List(ma.fields.Nested(DocumentSchema), required=True)
    renews_id = Id(allow_none=True)
    decision_reason = ma.fields.String(allow_none=True)
    announcement_id = Id(allow_none=True)
    objection_until = Timestamp(allow_none=True)
    valid_from = Timestamp(allow_none=True)
    valid_until = Timestamp(allow_none=True)
    created_at = Timestamp(required=True)

    def _effective(self, cert):
        return cert.effective_status(clock.now())


CertificationPageSchema = page_schema(CertificationSchema, "CertificationPage")


class CertificationQueryArgs(ma.Schema):
    status = ma.fields.Enum(CertStatus, by_value=True, load_default=None)
    district_id = Id(load_default=None)
    product_id = Id(load_default=None)
    supplier_id = Id(load_default=None)


class EventSchema(ma.Schema):
    id = Int(required=True)
    from_status = ma.fields.Enum(CertStatus, by_value=True, allow_none=True)
    to_status = ma.fields.Enum(CertStatus, by_value=True, required=True)
    actor_id = Id(required=True)
    at = Timestamp(required=True)
    reason = ma.fields.String(allow_none=True)


EventPageSchema = page_schema(EventSchema, "CertificationEventPage")


class AnnouncementArgs(ma.Schema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    certification_ids = ma.fields.List(Id(), required=True, validate=ma.validate.Length(min=1, max=500))
    objection_days = Int(load_default=None, validate=ma.validate.Range(min=1, max=60))


class AnnouncementSchema(ma.Schema):
    id = Int(required=True)
    title = ma.fields.String(required=True)
    published_at = Timestamp(required=True)
    objection_until = Timestamp(required=True)


class AnnouncementEntrySchema(ma.Schema):
    certification_id = Id(attribute="id", required=True)
    certificate_no = ma.fields.String(required=True)
    product_id = Id(required=True)
    product_name = ma.fields.String(attribute="product.name", required=True)
    supplier_id = Id(required=True)
    supplier_name = ma.fields.String(attribute="supplier.name", required=True)
    district_id = Id(required=True)
    district_name = ma.fields.String(attribute="district.name", required=True)
    status = ma.fields.Method("_effective", required=True)
    objection_until = Timestamp(required=True)
    valid_from = Timestamp(required=True)
    valid_until = Timestamp(required=True)

    def _effective(self, cert):
        return cert.effective_status(clock.now())


class AnnouncementDetailSchema(AnnouncementSchema):
    entries = ma.fields.List(ma.fields.Nested(AnnouncementEntrySchema), attribute="certifications", required=True)


AnnouncementPageSchema = page_schema(AnnouncementSchema, "AnnouncementPage")


class ObjectionArgs(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=5, max=2000))


class ObjectionDecisionArgs(ma.Schema):
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1000))


class ObjectionSchema(ma.Schema):
    id = Int(required=True)
    certification_id = Id(required=True)
    user_id = Id(required=True)
    reason = ma.fields.String(required=True)
    status = ma.fields.Enum(ObjectionStatus, by_value=True, required=True)
    created_at = Timestamp(required=True)
    decided_by_id = Id(allow_none=True)
    decided_at = Timestamp(allow_none=True)
    decision_note = ma.fields.String(allow_none=True)


ObjectionPageSchema = page_schema(ObjectionSchema, "ObjectionPage")

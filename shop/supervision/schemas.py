from __future__ import annotations

import marshmallow as ma

from shop.catalog.models import ProductKind
from shop.catalog.schemas import LabelSchema
from shop.supervision.models import AmendmentStatus, SanctionKind, SanctionStatus
from shop.web import Id, page_schema

Text = ma.fields.String


def _text(max_len: int, **kwargs):
    return Text(validate=ma.validate.Length(min=1, max=max_len), **kwargs)


class WorkflowEventSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    from_status = Text(allow_none=True)
    to_status = Text(required=True)
    actor_id = Id(allow_none=True)
    at = ma.fields.AwareDateTime(required=True)
    reason = Text(allow_none=True)


# --- 1. eligibility ----------------------------------------------------------------------------


class EligiblePlaceArgs(ma.Schema):
    district_id = Id(required=True)
    township_id = Id(load_default=None)
    village = _text(
        60, load_default=None, metadata={"description": "A village of the township, named in the production base"}
    )
    act = _text(300, required=True, metadata={"description": "The act that made the place eligible"})
    act_url = ma.fields.Url(load_default=None, schemes={"http", "https"}, validate=ma.validate.Length(max=1000))
    eligible_from = ma.fields.AwareDateTime(required=True)
    eligible_until = ma.fields.AwareDateTime(load_default=None)


class EligiblePlaceEndArgs(ma.Schema):
    eligible_until = ma.fields.AwareDateTime(required=True)


class EligiblePlaceQueryArgs(ma.Schema):
    district_id = Id(load_default=None)
    at = ma.fields.AwareDateTime(load_default=None, metadata={"description": "Only places eligible at this instant"})


class EligiblePlaceSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    district_id = Id(required=True)
    township_id = Id(allow_none=True)
    village = Text(allow_none=True)
    act = Text(required=True)
    act_url = Text(allow_none=True)
    eligible_from = ma.fields.AwareDateTime(required=True)
    eligible_until = ma.fields.AwareDateTime(allow_none=True)
    created_by_id = Id(required=True)
    created_at = ma.fields.AwareDateTime(required=True)


EligiblePlacePageSchema = page_schema(EligiblePlaceSchema, "EligiblePlacePage")


# --- 5. sanctions and credit -------------------------------------------------------------------


class SanctionArgs(ma.Schema):
    supplier_id = Id(required=True)
    kind = ma.fields.Enum(SanctionKind, by_value=True, required=True)
    certification_id = Id(load_default=None, metadata={"description": "Required for a suspension or a revocation"})
    reason = _text(2000, required=True)
    until = ma.fields.AwareDateTime(load_default=None, metadata={"description": "Required for a blacklist"})


class SanctionQueryArgs(ma.Schema):
    supplier_id = Id(load_default=None)
    district_id = Id(load_default=None)
    kind = ma.fields.Enum(SanctionKind, by_value=True, load_default=None)
    status = ma.fields.Enum(SanctionStatus, by_value=True, load_default=None)


class ReasonNoteArgs(ma.Schema):
    reason = _text(2000, required=True)


class SanctionSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    supplier_id = Id(required=True)
    kind = ma.fields.Enum(SanctionKind, by_value=True, required=True)
    status = ma.fields.Enum(SanctionStatus, by_value=True, required=True)
    certification_id = Id(allow_none=True)
    district_id = Id(required=True)
    reason = Text(required=True)
    until = ma.fields.AwareDateTime(allow_none=True)
    imposed_by_id = Id(required=True)
    imposed_at = ma.fields.AwareDateTime(required=True)
    events = ma.fields.List(ma.fields.Nested(WorkflowEventSchema), required=True)


SanctionPageSchema = page_schema(SanctionSchema, "SanctionPage")


class CreditSchema(ma.Schema):
    supplier_id = Id(required=True)
    warnings = ma.fields.Integer(required=True)
    suspensions = ma.fields.Integer(required=True)
    revocations = ma.fields.Integer(required=True)
    blacklistings = ma.fields.Integer(required=True)
    upheld_complaints = ma.fields.Integer(required=True)
    blacklisted_until = ma.fields.AwareDateTime(allow_none=True)
    recent_sanctions = ma.fields.List(ma.fields.Nested(SanctionSchema), required=True)


# --- 2. amendments -----------------------------------------------------------------------------


class AmendmentArgs(ma.Schema):
    origin_district_id = Id()
    origin_township_id = Id(allow_none=True)
    kind = ma.fields.Enum(ProductKind, by_value=True)
    production_base = _text(300)
    labels = ma.fields.List(
        ma.fields.Nested(LabelSchema),
        validate=ma.validate.Length(max=3),
        metadata={"description": "The whole new set of labels, each with its evidence"},
    )
    reason = _text(2000, required=True)


class AmendmentQueryArgs(ma.Schema):
    status = ma.fields.Enum(AmendmentStatus, by_value=True, load_default=None)
    product_id = Id(load_default=None)
    district_id = Id(load_default=None)
    supplier_id = Id(load_default=None)


class DecisionNoteArgs(ma.Schema):
    reason = Text(load_default=None, validate=ma.validate.Length(max=2000))


class AmendmentSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    product_id = Id(required=True)
    certification_id = Id(required=True)
    supplier_id = Id(required=True)
    district_id = Id(required=True)
    status = ma.fields.Enum(AmendmentStatus, by_value=True, required=True)
    changes = ma.fields.Dict(required=True)
    previous = ma.fields.Dict(required=True)
    reason = Text(required=True)
    requested_by_id = Id(required=True)
    requested_at = ma.fields.AwareDateTime(required=True)
    decided_by_id = Id(allow_none=True)
    decided_at = ma.fields.AwareDateTime(allow_none=True)
    decision_reason = Text(allow_none=True)
    events = ma.fields.List(ma.fields.Nested(WorkflowEventSchema), required=True)


AmendmentPageSchema = page_schema(AmendmentSchema, "AmendmentPage")


class VerifiedLabelSchema(LabelSchema):
    product_id = Id(required=True)
    verified_at = ma.fields.AwareDateTime(allow_none=True)
    verified_by_id = Id(allow_none=True)

from __future__ import annotations

from datetime import date

import marshmallow as ma

from search.backend import SORTS
from shop.catalog.models import BrandTier, LabelKind, ProductKind
from shop.web import Int, Timestamp

DAYS = ma.validate.Range(min=date(2001, 1, 1), max=date(2100, 12, 31))


class SearchArgs(ma.Schema):
    q = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=200),
        metadata={"description": "Chinese, pinyin (full or initials) or English; Latin words tolerate typos"},
    )
    category_id = Int(load_default=None, metadata={"description": "Includes sub-categories"})
    district_id = ma.fields.List(
        Int(), load_default=list, metadata={"description": "Origin district; repeat for any of several"}
    )
    brand_tier = ma.fields.List(ma.fields.Enum(BrandTier, by_value=True), load_default=list)
    label = ma.fields.List(
        ma.fields.Enum(LabelKind, by_value=True), load_default=list, metadata={"description": "Any of these labels"}
    )
    poverty_alleviated = ma.fields.Boolean(load_default=None)
    in_stock = ma.fields.Boolean(
        load_default=None,
        metadata={"description": "true: units available now at some hall, counter or zone; false: none"},
    )
    deep_poverty = ma.fields.Boolean(load_default=None, metadata={"description": "From a deep-poverty township"})
    available_from = ma.fields.Date(
        load_default=None,
        validate=DAYS,
        metadata={"description": "Services with a slot with capacity left on a day from this one (Asia/Shanghai)"},
    )
    available_to = ma.fields.Date(load_default=None, validate=DAYS, metadata={"description": "... to this one"})
    kind = ma.fields.Enum(ProductKind, by_value=True, load_default=None)
    price_min = Int(
        data_key="price_min_fen",
        load_default=None,
        validate=ma.validate.Range(min=0, max=1_000_000_000),
        metadata={"description": "Fen; some active SKU costs at least this"},
    )
    price_max = Int(
        data_key="price_max_fen",
        load_default=None,
        validate=ma.validate.Range(min=0, max=1_000_000_000),
        metadata={"description": "Fen; within both bounds"},
    )
    sort = ma.fields.String(
        load_default="relevance",
        validate=ma.validate.OneOf(SORTS),
        metadata={"description": "relevance (boosted), price / -price (lowest SKU price), sales, newest"},
    )
    highlight = ma.fields.Boolean(load_default=True)
    facets = ma.fields.Boolean(load_default=True, metadata={"description": "Count facet values too"})

    @ma.validates_schema
    def _range(self, data, **_kwargs):
        low, high = data.get("price_min"), data.get("price_max")
        if low is not None and high is not None and low > high:
            raise ma.ValidationError("Must not be below price_min_fen.", "price_max_fen")
        first, last = data.get("available_from"), data.get("available_to")
        if first is not None and last is not None and first > last:
            raise ma.ValidationError("Must not be before available_from.", "available_to")


class HighlightSchema(ma.Schema):
    name = ma.fields.String(metadata={"description": "The name, HTML-escaped, with <em> around what matched"})


class SearchHitSchema(ma.Schema):
    id = Int(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    category_id = Int(required=True)
    category_path = ma.fields.String(required=True)
    district_id = Int(required=True)
    district_name = ma.fields.String(required=True)
    township_id = Int(allow_none=True)
    poverty_alleviated = ma.fields.Boolean(required=True)
    deep_poverty = ma.fields.Boolean(required=True)
    brand_id = Int(allow_none=True)
    brand_name = ma.fields.String(required=True)
    brand_tier = ma.fields.String(allow_none=True)
    supplier_id = Int(required=True)
    supplier_name = ma.fields.String(required=True)
    labels = ma.fields.List(ma.fields.String(), required=True)
    price_min = Int(data_key="price_min_fen", allow_none=True, metadata={"description": "Lowest active SKU price, fen"})
    price_max = Int(data_key="price_max_fen", allow_none=True)
    sales_count = Int(
        required=True, metadata={"description": "Units sold by completed orders (less refunds) and over the counter"}
    )
    in_stock = ma.fields.Boolean(
        required=True, metadata={"description": "Units available now (unexpired, unreserved) at some pick-up point"}
    )
    created_at = Timestamp(required=True)
    image = ma.fields.String(allow_none=True)
    highlight = ma.fields.Nested(HighlightSchema, required=True)


# (name in the hit's source, key in the answer) of the fields dumped as they are
_PLAIN_HIT_FIELDS = tuple(
    (name, field.data_key or name)
    for name, field in SearchHitSchema().fields.items()
    if name not in ("created_at", "highlight")
)
_TIMESTAMP = Timestamp()


def dump_hit(source: dict, highlight: dict) -> dict:
    """What `SearchHitSchema().dump({**source, "highlight": highlight})` gives, without marshmallow's
    per-field machinery (a search answer has hundreds of fields). A source's values are JSON already:
    the only field dumped differently from its value is `created_at`."""
    hit = {key: source[name] for name, key in _PLAIN_HIT_FIELDS if name in source}
    if "created_at" in source:
        hit["created_at"] = _TIMESTAMP._serialize(source["created_at"], "created_at", source)
    hit["highlight"] = {"name": highlight["name"]} if "name" in highlight else {}
    return hit


class FacetBucketSchema(ma.Schema):
    value = ma.fields.Raw(required=True, metadata={"description": "An id, a label kind, a brand tier, or a boolean"})
    count = Int(required=True)


class FacetsSchema(ma.Schema):
    category_id = ma.fields.List(ma.fields.Nested(FacetBucketSchema))
    district_id = ma.fields.List(ma.fields.Nested(FacetBucketSchema))
    brand_tier = ma.fields.List(ma.fields.Nested(FacetBucketSchema))
    label = ma.fields.List(ma.fields.Nested(FacetBucketSchema))
    poverty_alleviated = ma.fields.List(ma.fields.Nested(FacetBucketSchema))
    deep_poverty = ma.fields.List(ma.fields.Nested(FacetBucketSchema))


class SearchPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SearchHitSchema), required=True)
    page = Int(required=True)
    size = Int(required=True)
    total = Int(required=True)
    facets = ma.fields.Nested(
        FacetsSchema,
        required=True,
        metadata={"description": "Per facet, counts under every other filter but its own (empty when facets=false)"},
    )
    facets_exact = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "False when the database counted the facets over some of the matches only: its first "
            "SEARCH_FACET_SCAN_LIMIT (no text) or SEARCH_TEXT_CANDIDATES (text)"
        },
    )
    total_is_estimate = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "True when the total is an estimate (the embedded backend past SEARCH_FACET_SCAN_LIMIT "
            "or SEARCH_TEXT_CANDIDATES matches); the items are exact"
        },
    )
    degraded = ma.fields.Boolean(
        required=True, metadata={"description": "The engine could not answer; this answer comes from the database"}
    )
    backend = ma.fields.String(required=True, metadata={"example": "elasticsearch"})


class SuggestArgs(ma.Schema):
    q = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=50),
        metadata={"description": "The beginning of a name: Chinese, pinyin or its initials"},
    )
    size = Int(load_default=8, validate=ma.validate.Range(min=1, max=20))


class SuggestionSchema(ma.Schema):
    product_id = Int(required=True)
    text = ma.fields.String(required=True)


class SuggestPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SuggestionSchema), required=True)
    degraded = ma.fields.Boolean(required=True)

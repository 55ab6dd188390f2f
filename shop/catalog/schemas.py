from __future__ import annotations

from datetime import date

import marshmallow as ma

from shop.bookings.schemas import OfferingSchema
from shop.catalog.models import BrandTier, LabelKind, ProductKind
from shop.reference.schemas import DistrictSchema, TownshipSchema
from shop.web import Id, Int, Timestamp, page_schema


class CategoryArgs(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    slug = ma.fields.String(load_default=None, validate=ma.validate.Regexp(r"^[a-z0-9-]{1,100}$"))
    parent_id = Id(load_default=None)


class CategorySchema(ma.Schema):
    id = Int(required=True)
    parent_id = Id(allow_none=True)
    name = ma.fields.String(required=True)
    slug = ma.fields.String(required=True)
    path = ma.fields.String(required=True, metadata={"description": "Ids from the root, e.g. /1/4/"})


class CategoryQueryArgs(ma.Schema):
    parent_id = Id(load_default=None)


class BrandArgs(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    tier = ma.fields.Enum(BrandTier, by_value=True, required=True)
    district_id = Id(load_default=None)
    supplier_id = Id(load_default=None)


class BrandSchema(ma.Schema):
    id = Int(required=True)
    name = ma.fields.String(required=True)
    tier = ma.fields.Enum(BrandTier, by_value=True, required=True)
    district_id = Id(allow_none=True)
    supplier_id = Id(allow_none=True)


class BrandQueryArgs(ma.Schema):
    tier = ma.fields.Enum(BrandTier, by_value=True, load_default=None)


class LabelSchema(ma.Schema):
    kind = ma.fields.Enum(LabelKind, by_value=True, required=True)
    certificate_no = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    evidence_url = ma.fields.Url(
        load_default=None,
        allow_none=True,
        schemes={"http", "https"},
        validate=ma.validate.Length(max=1000),
        metadata={"description": "The label's certificate document"},
    )
    evidence_sha256 = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Regexp(r"^[0-9a-fA-F]{64}$", error="Not a sha256 hex digest."),
    )
    verified = ma.fields.Boolean(dump_only=True, metadata={"description": "Evidence checked by the district certifier"})


class SkuArgs(ma.Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[A-Za-z0-9._-]{1,64}$"))
    name = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))
    price_fen = Int(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=1, max=100_000_000),
        metadata={"description": "Price in fen (1/100 yuan)"},
    )
    unit = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20))
    net_weight_g = Int(load_default=None, strict=True, validate=ma.validate.Range(min=1, max=10_000_000))
    is_active = ma.fields.Boolean(load_default=True)


class SkuUpdateArgs(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(max=100))
    price_fen = Int(strict=True, validate=ma.validate.Range(min=1, max=100_000_000))
    unit = ma.fields.String(validate=ma.validate.Length(min=1, max=20))
    net_weight_g = Int(allow_none=True, strict=True, validate=ma.validate.Range(min=1, max=10_000_000))
    is_active = ma.fields.Boolean()


class SkuSchema(ma.Schema):
    id = Int(required=True)
    product_id = Id(required=True)
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    price_fen = Int(required=True)
    unit = ma.fields.String(required=True)
    net_weight_g = Int(allow_none=True)
    is_active = ma.fields.Boolean(required=True)


IMAGE_URL = ma.fields.Url(schemes={"http", "https"}, validate=ma.validate.Length(max=1000))


class ProductUpdateArgs(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    name_en = ma.fields.String(
        allow_none=True, validate=ma.validate.Length(min=1, max=200), metadata={"description": "The name in English"}
    )
    description = ma.fields.String(validate=ma.validate.Length(max=20_000))
    kind = ma.fields.Enum(ProductKind, by_value=True)
    category_id = Id()
    brand_id = Id(allow_none=True)
    origin_district_id = Id()
    origin_township_id = Id(allow_none=True)
    images = ma.fields.List(IMAGE_URL, validate=ma.validate.Length(max=20))
    labels = ma.fields.List(ma.fields.Nested(LabelSchema), validate=ma.validate.Length(max=3))


class ProductCreateArgs(ProductUpdateArgs):
    supplier_id = Id(required=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    category_id = Id(required=True)
    origin_district_id = Id(required=True)
    skus = ma.fields.List(ma.fields.Nested(SkuArgs), load_default=list, validate=ma.validate.Length(max=50))


class SupplierBriefSchema(ma.Schema):
    id = Int(required=True)
    name = ma.fields.String(required=True)


class CertificationBriefSchema(ma.Schema):
    id = Int(required=True)
    certificate_no = ma.fields.String(required=True)
    valid_from = Timestamp(required=True)
    valid_until = Timestamp(required=True)


class BookingInfoSchema(ma.Schema):
    bookable = ma.fields.Boolean(required=True, metadata={"description": "Some offering takes bookings"})
    how_to_book = ma.fields.String(required=True)
    offerings = ma.fields.List(ma.fields.Nested(OfferingSchema), required=True)


class ProductAvailabilitySchema(ma.Schema):
    in_stock = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "Units of an active SKU can be bought now at some active location: not reserved, "
            "in batches not expired, frozen by a spot check or quarantined there"
        },
    )
    stocked_locations = Int(
        required=True,
        metadata={"description": "At how many active locations (halls, counters, zones) units can be bought now"},
    )
    bookable = ma.fields.Boolean(
        allow_none=True,
        metadata={"description": "A service: some slot from today on has places left (null for goods)"},
    )


class ProductSchema(ma.Schema):
    id = Int(required=True)
    name = ma.fields.String(required=True)
    name_en = ma.fields.String(allow_none=True, metadata={"description": "The name in English, if given"})
    description = ma.fields.String(required=True)
    kind = ma.fields.Enum(ProductKind, by_value=True, required=True)
    supplier = ma.fields.Nested(SupplierBriefSchema, required=True)
    category = ma.fields.Nested(CategorySchema, required=True)
    brand = ma.fields.Nested(BrandSchema, allow_none=True)
    origin_district = ma.fields.Nested(DistrictSchema, required=True)
    origin_township = ma.fields.Nested(TownshipSchema, allow_none=True)
    images = ma.fields.List(ma.fields.String(), required=True)
    labels = ma.fields.List(ma.fields.Nested(LabelSchema), required=True)
    skus = ma.fields.List(ma.fields.Nested(SkuSchema), required=True)
    certification = ma.fields.Nested(
        CertificationBriefSchema,
        attribute="current_certification",
        allow_none=True,
        metadata={"description": "The certification in force now"},
    )
    created_at = Timestamp(required=True)
    booking = ma.fields.Nested(
        BookingInfoSchema, allow_none=True, metadata={"description": "A service's detail: how to book it"}
    )
    certificate_no = ma.fields.String(
        allow_none=True, metadata={"description": "The number of the certification in force now (public catalog)"}
    )
    price_min_fen = Int(
        allow_none=True, metadata={"description": "The lowest price of an active SKU, in fen (public catalog)"}
    )
    price_max_fen = Int(
        allow_none=True, metadata={"description": "The highest price of an active SKU, in fen (public catalog)"}
    )
    availability = ma.fields.Nested(
        ProductAvailabilitySchema, metadata={"description": "Whether it can be bought or booked now (public catalog)"}
    )


class ProductPageSchema(page_schema(ProductSchema, "ProductPageBase")):
    total_is_estimate = ma.fields.Boolean(
        dump_default=False,
        metadata={
            "description": "The public catalog counts matches exactly up to a bound; beyond it `total` is that "
            "bound (at least so many) and this is true"
        },
    )


class ProductQueryArgs(ma.Schema):
    category_id = Id(load_default=None, metadata={"description": "Includes sub-categories"})
    district_id = Id(load_default=None)
    poverty_alleviated = ma.fields.Boolean(load_default=None)
    deep_poverty = ma.fields.Boolean(load_default=None)
    brand_id = Id(load_default=None)
    brand_tier = ma.fields.Enum(BrandTier, by_value=True, load_default=None)
    label = ma.fields.Enum(LabelKind, by_value=True, load_default=None)
    kind = ma.fields.Enum(ProductKind, by_value=True, load_default=None)
    supplier_id = Id(load_default=None)
    available_from = ma.fields.Date(
        load_default=None,
        validate=ma.validate.Range(min=date(2001, 1, 1), max=date(2100, 12, 31)),
        metadata={"description": "Services with a slot with capacity left on a day from this one (Asia/Shanghai)"},
    )
    available_to = ma.fields.Date(
        load_default=None,
        validate=ma.validate.Range(min=date(2001, 1, 1), max=date(2100, 12, 31)),
        metadata={"description": "... to this one"},
    )
    price_min = Int(data_key="price_min_fen", load_default=None, validate=ma.validate.Range(min=0, max=1_000_000_000))
    price_max = Int(data_key="price_max_fen", load_default=None, validate=ma.validate.Range(min=0, max=1_000_000_000))
    sort = ma.fields.String(load_default="newest", validate=ma.validate.OneOf(["newest", "price", "-price", "name"]))

    @ma.validates_schema
    def _range(self, data, **_kwargs):
        low, high = data.get("price_min"), data.get("price_max")
        if low is not None and high is not None and low > high:
            raise ma.ValidationError("Must not be below price_min_fen.", "price_max_fen")

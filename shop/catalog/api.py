from __future__ import annotations

import hashlib
import json

from flask import Response, current_app, request
from flask_smorest import Blueprint

from shop import clock
from shop.auth.guard import current_actor, login_required
from shop.catalog import public, service
from shop.catalog import version as catalog_version
from shop.catalog.schemas import (
    BrandArgs,
    BrandQueryArgs,
    BrandSchema,
    CategoryArgs,
    CategoryQueryArgs,
    CategorySchema,
    ProductCreateArgs,
    ProductPageSchema,
    ProductQueryArgs,
    ProductSchema,
    ProductUpdateArgs,
    SkuArgs,
    SkuSchema,
    SkuUpdateArgs,
)
from shop.http_cache import public_cache, use_etag
from shop.request_session import get_session
from shop.settings import current as current_settings
from shop.web import PageArgs, documented_errors, page_body, page_schema

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="Categories, brands, products and SKUs")

CategoryPageSchema = page_schema(CategorySchema, "CategoryPage")
BrandPageSchema = page_schema(BrandSchema, "BrandPage")


@blp.route("/categories", methods=["GET"])
@public_cache()
@blp.arguments(CategoryQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, CategoryPageSchema)
def list_categories(query, paging):
    """The category tree, in path order (parents before children)."""
    return page_body(service.list_categories(get_session(), **query, **paging), paging)


@blp.route("/categories", methods=["POST"])
@blp.arguments(CategoryArgs)
@blp.response(201, CategorySchema)
@documented_errors(403, 409)
@login_required
def create_category(args):
    """Admins: add a category under a parent (or at the root)."""
    return service.create_category(get_session(), current_actor(), **args)


@blp.route("/brands", methods=["GET"])
@public_cache()
@blp.arguments(BrandQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, BrandPageSchema)
def list_brands(query, paging):
    """Brands by tier: regional public (巴味渝珍), district public, enterprise."""
    return page_body(service.list_brands(get_session(), **query, **paging), paging)


@blp.route("/brands", methods=["POST"])
@blp.arguments(BrandArgs)
@blp.response(201, BrandSchema)
@documented_errors(403, 404, 409)
@login_required
def create_brand(args):
    """Admins add public brands; supplier members add their own enterprise brand."""
    return service.create_brand(get_session(), current_actor(), **args)


@blp.route("/products", methods=["GET"])
@public_cache()
@blp.arguments(ProductQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, ProductPageSchema)
def list_products(query, paging):
    """The public catalog: only products whose certification is in force now, each with its price
    range, availability now, certificate, origin and labels. Matches are counted exactly up to a
    bound (CATALOG_COUNT_BOUND); beyond it `total` is that bound and `total_is_estimate` is true.
    Served from a cache keyed by the catalog version, which is also the ETag."""
    sort = query.pop("sort")

    def build(session, now):
        return public.product_page(
            session,
            filters=query,
            sort=sort,
            now=now,
            count_bound=current_settings().catalog.count_bound,
            **paging,
        )

    return _from_cache("products", {**query, **paging, "sort": sort}, build)


@blp.route("/products/<int:product_id>", methods=["GET"])
@public_cache()
@blp.response(200, ProductSchema)
@documented_errors(404)
def get_product(product_id):
    """One product, if its certification is in force now (else 404), with its price range,
    availability now and, for a service, how to book it. Cached like the pages."""
    return _from_cache(
        "product", {"id": product_id}, lambda session, now: public.product_detail(session, product_id, now)
    )


def _from_cache(name: str, args: dict, build) -> Response:
    """The body for `name` and `args` at the current catalog version: one statement reads the
    version; the body comes from the cache, or is built and kept. The ETag is the version's."""
    session = get_session()
    now = clock.now()
    version = catalog_version.read_key(session, now)
    what = name + ":" + json.dumps(args, sort_keys=True, default=str)
    etag = f"{version}-{hashlib.sha256(what.encode()).hexdigest()[:12]}"
    use_etag(etag)
    if etag in request.if_none_match:
        return Response(b"", 200, mimetype="application/json")  # answered 304 by the ETag check
    cache = current_settings().catalog.cache
    key = f"{version}:{what}"
    body = cache.get(key)
    if body is None:
        body = current_app.json.dumps(build(session, now)).encode()
        cache.set(key, body)
    return Response(body, 200, mimetype="application/json")


@blp.route("/products", methods=["POST"])
@blp.arguments(ProductCreateArgs)
@blp.response(201, ProductSchema)
@documented_errors(403, 404, 409)
@login_required
def create_product(args):
    """Supplier members: add a product (with SKUs); it is public once certified."""
    supplier_id = args.pop("supplier_id")
    return service.create_product(
        get_session(), current_actor(), supplier_id=supplier_id, data=args, price_rules=_price_rules()
    )


@blp.route("/products/<int:product_id>", methods=["PATCH"])
@blp.arguments(ProductUpdateArgs)
@blp.response(200, ProductSchema)
@documented_errors(403, 404, 409)
@login_required
def update_product(args, product_id):
    """Supplier members: change their own product."""
    return service.update_product(get_session(), current_actor(), product_id, data=args)


@blp.route("/products/<int:product_id>/skus", methods=["POST"])
@blp.arguments(SkuArgs)
@blp.response(201, SkuSchema)
@documented_errors(403, 404, 409)
@login_required
def add_sku(args, product_id):
    """Supplier members: add a SKU to their product."""
    return service.add_sku(get_session(), current_actor(), product_id, data=args, price_rules=_price_rules())


@blp.route("/skus/<int:sku_id>", methods=["PATCH"])
@blp.arguments(SkuUpdateArgs)
@blp.response(200, SkuSchema)
@documented_errors(403, 404, 409)
@login_required
def update_sku(args, sku_id):
    """Supplier members: change price, unit, weight or availability of a SKU. While an absorption
    campaign of the product runs, its prices may not rise (409 `price_frozen_by_campaign`)."""
    return service.update_sku(get_session(), current_actor(), sku_id, data=args, price_rules=_price_rules())


@blp.route("/suppliers/<int:supplier_id>/products", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, ProductPageSchema)
@documented_errors(403, 404)
@login_required
def list_supplier_products(paging, supplier_id):
    """Supplier members: all their products, certified or not."""
    return page_body(service.list_supplier_products(get_session(), current_actor(), supplier_id, **paging), paging)


def _price_rules():
    """The regulator's thresholds as configured (a price set through the API is checked against them)."""
    return current_settings().supervision.price_rules

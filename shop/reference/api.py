from __future__ import annotations

from flask_smorest import Blueprint

from shop.http_cache import public_cache
from shop.reference import service
from shop.reference.schemas import (
    DistrictDetailSchema,
    DistrictPageSchema,
    DistrictQueryArgs,
    TownshipPageSchema,
    TownshipQueryArgs,
)
from shop.request_session import get_session
from shop.web import PageArgs, documented_errors, page_body

blp = Blueprint("reference", __name__, url_prefix="/api/v1", description="Districts, counties and townships")


@blp.route("/districts", methods=["GET"])
@public_cache(max_age=3600)
@blp.arguments(DistrictQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, DistrictPageSchema)
def list_districts(query, paging):
    """Chongqing's 38 districts and counties, with the former-poverty flag."""
    return page_body(service.list_districts(get_session(), **query, **paging), paging)


@blp.route("/districts/<int:district_id>", methods=["GET"])
@public_cache(max_age=3600)
@blp.response(200, DistrictDetailSchema)
@documented_errors(404)
def get_district(district_id):
    """One district with the townships the project knows."""
    return service.get_district(get_session(), district_id)


@blp.route("/townships", methods=["GET"])
@public_cache(max_age=3600)
@blp.arguments(TownshipQueryArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, TownshipPageSchema)
def list_townships(query, paging):
    """Townships, filterable by district and the former deep-poverty flag."""
    return page_body(service.list_townships(get_session(), **query, **paging), paging)

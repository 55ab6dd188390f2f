from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from search import extension, service
from search.schemas import SearchArgs, SearchPageSchema, SuggestArgs, SuggestPageSchema, dump_hit
from shop import clock
from shop.http_cache import public_cache
from shop.request_session import get_session
from shop.web import PageArgs, documented_errors

blp = Blueprint("search", __name__, url_prefix="/api/v1", description="Product search and suggestions")


@blp.route("/search", methods=["GET"])
@public_cache()
@blp.arguments(SearchArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, SearchPageSchema)
@documented_errors(422)
def search(args, paging):
    """Find certified products in force now by text (Chinese, pinyin, English), filters and facets.

    Facet counts follow post-filter semantics: choosing a district leaves the district counts as
    they were. When the engine is unreachable the database answers and `degraded` is true."""
    ext = extension()
    session = get_session()
    query = service.query_from_args(session, ext, args, page=paging["page"], size=paging["size"], now=clock.now())
    answer = service.search_products(session, ext, query, facets=args["facets"])
    result = answer.result
    # the answer is SearchPageSchema's shape, built directly: a Response is sent as it is
    page = {
        "items": [dump_hit(hit.source, hit.highlight) for hit in result.hits],
        "page": paging["page"],
        "size": paging["size"],
        "total": result.total,
        "facets": {
            name: [{"value": value, "count": count} for value, count in buckets]
            for name, buckets in result.facets.items()
        },
        "facets_exact": result.facets_exact,
        "total_is_estimate": result.total_is_estimate,
        "degraded": answer.degraded,
        "backend": result.backend,
    }
    return current_app.json.response(page)


@blp.route("/search/suggest", methods=["GET"])
@public_cache()
@blp.arguments(SuggestArgs, location="query")
@blp.response(200, SuggestPageSchema)
@documented_errors(422)
def suggest(args):
    """Complete a name from its beginning, typed in Chinese or pinyin (全拼 or initials): only
    products in force now."""
    answer = service.suggest(get_session(), extension(), args["q"], now=clock.now(), size=args["size"])
    return {"items": answer.result, "degraded": answer.degraded}

"""Search use cases: ask the engine, fall back to the database when it cannot answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from search import SearchExtension
from search.backend import EngineUnavailable, SearchQuery, SearchResult, Suggestion
from search.embedded_backend import EmbeddedBackend
from shop.catalog.models import Category
from shop.errors import InvalidInput

log = logging.getLogger(__name__)


@dataclass
class Answer:
    result: SearchResult | list[Suggestion]
    degraded: bool


def _engine_or_none(ext: SearchExtension):
    """The engine if configured and not known to be failing; degraded is True when skipped."""
    if ext.engine is None:
        return None, False
    if not ext.breaker.allows():
        return None, True
    return ext.engine, False


def check_result_window(*, page: int, size: int, window: int) -> None:
    """Deep pages are refused: an engine answers at most `window` hits of one query (and the database
    would scan as far); past it, the search must be narrowed."""
    if page * size > window:
        raise InvalidInput(
            f"Results beyond the first {window} cannot be paged to; narrow the search.",
            fields={"page": [f"page × size must be at most {window}."]},
        )


def query_from_args(
    session: Session, ext: SearchExtension, args: dict, *, page: int, size: int, now: datetime
) -> SearchQuery:
    """The search query that the search API's arguments (`search.schemas.SearchArgs`) ask for."""
    check_result_window(page=page, size=size, window=ext.config["SEARCH_MAX_RESULT_WINDOW"])
    category_path = None
    if args["category_id"] is not None:
        category = session.get(Category, args["category_id"])
        if category is None:
            raise InvalidInput("Unknown category.", fields={"category_id": ["Unknown."]})
        category_path = category.path
    return SearchQuery(
        now=now,
        text=args["q"],
        category_path=category_path,
        district_ids=sorted(set(args["district_id"])),
        brand_tiers=sorted({t.value for t in args["brand_tier"]}),
        labels=sorted({label.value for label in args["label"]}),
        poverty_alleviated=args["poverty_alleviated"],
        deep_poverty=args["deep_poverty"],
        in_stock=args["in_stock"],
        available_from=args.get("available_from"),
        available_to=args.get("available_to"),
        kind=args["kind"].value if args["kind"] else None,
        price_min=args["price_min"],
        price_max=args["price_max"],
        sort=args["sort"],
        page=page,
        size=size,
        highlight=args["highlight"],
        boosts=ext.boosts,
    )


def search_products(session: Session, ext: SearchExtension, query: SearchQuery, *, facets: bool = True) -> Answer:
    engine, degraded = _engine_or_none(ext)
    if engine is not None:
        try:
            result = engine.search(query, facets=facets)
            ext.breaker.succeeded()
            return Answer(result, degraded=False)
        except EngineUnavailable as error:
            log.warning("search engine unavailable, answering from the database: %s", error)
            ext.breaker.failed()
            degraded = True
    embedded = EmbeddedBackend(session, ext.config["SEARCH_FACET_SCAN_LIMIT"], ext.config["SEARCH_TEXT_CANDIDATES"])
    return Answer(embedded.search(query, facets=facets), degraded=degraded)


def suggest(session: Session, ext: SearchExtension, prefix: str, *, now: datetime, size: int) -> Answer:
    engine, degraded = _engine_or_none(ext)
    if engine is not None:
        try:
            items = engine.suggest(prefix, now=now, size=size)
            ext.breaker.succeeded()
            return Answer(items, degraded=False)
        except EngineUnavailable as error:
            log.warning("search engine unavailable, suggesting from the database: %s", error)
            ext.breaker.failed()
            degraded = True
    return Answer(EmbeddedBackend(session).suggest(prefix, now=now, size=size), degraded=degraded)

"""The engine backend, through the official `elasticsearch` client.

A versioned index (`products-20261128t211500123456`) behind an alias (`products`), explicit mappings,
bulk writes. `SEARCH_ENGINE_FLAVOR=opensearch` makes the client speak plain `application/json`, which
OpenSearch-compatible clusters need. Chinese is analysed by `SEARCH_ANALYZER` (`cjk_bigram` by
default; `ik` or `smartcn` where the cluster has the plugin) for relevance, while
matching uses an ngram(1–2) sub-field with the query's grams (see `search.text`), so whichever
analyzer is configured, a query finds the same products.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from elastic_transport import ApiResponseMeta, HttpHeaders, TransportError, Urllib3HttpNode
from elastic_transport._node import NodeApiResponse
from elasticsearch import ApiError, Elasticsearch, NotFoundError, helpers

from search import text
from search.backend import (
    FACETS,
    AliasMissing,
    EngineUnavailable,
    Hit,
    SearchQuery,
    SearchResult,
    Suggestion,
    hit_source,
    in_stock_on,
    open_from,
    stock_day,
    wants_open_days,
)
from search.documents import Document, millis
from search.embedded_backend import sort_buckets

log = logging.getLogger(__name__)

FACET_SIZE = 50
MAX_EXPANSIONS = 50
TEXT_FIELDS = ("name", "brand_name", "supplier_name", "origin", "category_name", "description")
NAME_BOOST = 3


class OpenSearchCompatibleNode(Urllib3HttpNode):
    """Sends plain `application/json` (the client's versioned media type gets a 406 from
    OpenSearch) and marks answers as coming from a supported product, which the client checks."""

    def perform_request(self, method, target, body=None, headers=None, **kwargs) -> NodeApiResponse:
        if headers is not None:
            headers = HttpHeaders(headers)
            for name in ("content-type", "accept"):
                if name in headers:
                    headers[name] = "application/json"
        response = super().perform_request(method, target, body=body, headers=headers, **kwargs)
        response_headers = HttpHeaders(response.meta.headers)
        response_headers.setdefault("x-elastic-product", "Elasticsearch")
        meta: ApiResponseMeta = dataclasses.replace(response.meta, headers=response_headers)
        return NodeApiResponse(meta, response.body)


def make_client(url: str, *, flavor: str, timeout: float, retries: int) -> Elasticsearch:
    options = {"request_timeout": timeout, "max_retries": retries, "retry_on_timeout": retries > 0}
    if flavor == "opensearch":
        options["node_class"] = OpenSearchCompatibleNode
    return Elasticsearch(url, **options)


ANALYZERS = {
    "cjk_bigram": {"type": "custom", "tokenizer": "standard", "filter": ["cjk_width", "lowercase", "cjk_bigram"]},
    "ik": {"type": "custom", "tokenizer": "ik_max_word", "filter": ["lowercase"]},
    "smartcn": {"type": "custom", "tokenizer": "smartcn_tokenizer", "filter": ["lowercase"]},
}


def index_settings(analyzer: str) -> dict:
    return {
        "number_of_shards": 1,
        "analysis": {
            "analyzer": {
                "zh": ANALYZERS[analyzer],
                "zh_ngram": {"type": "custom", "tokenizer": "zh_ngram", "filter": ["lowercase"]},
            },
            "tokenizer": {
                "zh_ngram": {"type": "ngram", "min_gram": 1, "max_gram": 2, "token_chars": ["letter", "digit"]}
            },
        },
    }


_TEXT = {"type": "text", "analyzer": "zh", "fields": {"ngram": {"type": "text", "analyzer": "zh_ngram"}}}
_DATE_MS = {"type": "date", "format": "epoch_millis"}
# The layout of our documents in the engine: raised whenever a search needs what an index built
# before does not hold (2: the flat in-force fields). An index of another layout is not searched: the
# database answers (degraded) until `flask search reindex` builds one of this layout.
LAYOUT = 2
# How long a positive layout check of the alias's index is believed (a reindex swaps the alias).
LAYOUT_CHECK_SECONDS = 60.0

MAPPINGS = {
    "dynamic": "strict",
    "_meta": {"layout": LAYOUT},
    "properties": {
        "id": {"type": "integer"},
        "name": _TEXT,
        "description": _TEXT,
        "brand_name": _TEXT,
        "supplier_name": _TEXT,
        "origin": _TEXT,
        "category_name": _TEXT,
        "category_id": {"type": "integer"},
        "category_path": {"type": "keyword"},
        "district_id": {"type": "integer"},
        "district_name": {"type": "keyword"},
        "township_id": {"type": "integer"},
        "poverty_alleviated": {"type": "boolean"},
        "deep_poverty": {"type": "boolean"},
        "at_risk_unsold": {"type": "boolean"},
        "brand_id": {"type": "integer"},
        "brand_tier": {"type": "keyword"},
        "supplier_id": {"type": "integer"},
        "kind": {"type": "keyword"},
        "labels": {"type": "keyword"},
        "prices": {"type": "integer"},
        "price_min": {"type": "integer"},
        "price_max": {"type": "integer"},
        "sales_count": {"type": "integer"},
        "stock_until": {"type": "date", "format": "strict_date"},
        "open_days": {"type": "date", "format": "strict_date"},
        "created_at": {"type": "date"},
        "image": {"type": "keyword", "index": False},
        "pinyin": {"type": "keyword"},
        "suggest": {"type": "keyword"},
        "certs": {"type": "nested", "properties": {"valid_from": _DATE_MS, "valid_until": _DATE_MS}},
        # derived from `certs` when indexing (`indexed`): the in-force filter reads these, not the
        # nested certs, since a nested query costs a second pass over the hits in some engines
        "in_force_from": _DATE_MS,
        "in_force_until": _DATE_MS,
        "in_force_gaps": {"type": "date_range", "format": "epoch_millis"},
    },
}
DERIVED_FIELDS = ("in_force_from", "in_force_until", "in_force_gaps")
FACET_FIELDS = {"category_id": "category_id", "label": "labels"}


def in_force_fields(certs: list[dict]) -> dict:
    """The union of the certifications' validity windows [valid_from, valid_until) as flat fields:
    its first start, its last end, and the holes inside it (empty windows count for nothing). A
    product without any window gets none of them, so no range on them matches it."""
    spans = sorted((c["valid_from"], c["valid_until"]) for c in certs if c["valid_from"] < c["valid_until"])
    if not spans:
        return {}
    start, end = spans[0]
    gaps = []
    for low, high in spans[1:]:
        if low > end:
            gaps.append({"gte": end, "lt": low})
        end = max(end, high)
    return {"in_force_from": start, "in_force_until": end, "in_force_gaps": gaps}


def indexed(doc: Document) -> Document:
    """The document as the engine stores it: with the in-force fields derived from its certs."""
    return {**doc, **in_force_fields(doc.get("certs") or [])}


def _in_force(now: datetime) -> dict:
    """Some certification in force at `now`: inside the union's span and in none of its holes (a
    range field matches a term inside any of its ranges)."""
    at = millis(now)
    return {
        "bool": {
            "filter": [
                {"range": {"in_force_from": {"lte": at}}},
                {"range": {"in_force_until": {"gt": at}}},
            ],
            "must_not": [{"term": {"in_force_gaps": at}}],
        }
    }


def _text_fields() -> list[str]:
    return [f"{f}^{NAME_BOOST}" if f == "name" else f for f in TEXT_FIELDS]


def _text_query(pieces: list[text.Piece]) -> list[dict]:
    must = []
    for piece in pieces:
        if piece.cjk:
            grams = [
                {
                    "bool": {
                        "should": [
                            {"term": {f"{f}.ngram": {"value": gram, "boost": NAME_BOOST if f == "name" else 1}}}
                            for f in TEXT_FIELDS
                        ],
                        "minimum_should_match": 1,
                    }
                }
                for gram in piece.grams
            ]
            must.append({"bool": {"must": grams}})
        else:
            must.append(
                {
                    "bool": {
                        "should": [
                            {
                                "multi_match": {
                                    "query": piece.text,
                                    "fields": _text_fields(),
                                    "fuzziness": "AUTO",
                                    "prefix_length": 0,
                                    "max_expansions": MAX_EXPANSIONS,
                                }
                            },
                            {"term": {"pinyin": piece.text}},
                        ],
                        "minimum_should_match": 1,
                    }
                }
            )
    return must


def _facet_filters(query: SearchQuery) -> dict[str, dict]:
    filters: dict[str, dict] = {}
    if query.category_path is not None:
        filters["category_id"] = {"prefix": {"category_path": query.category_path}}
    if query.district_ids:
        filters["district_id"] = {"terms": {"district_id": query.district_ids}}
    if query.brand_tiers:
        filters["brand_tier"] = {"terms": {"brand_tier": query.brand_tiers}}
    if query.labels:
        filters["label"] = {"terms": {"labels": query.labels}}
    if query.poverty_alleviated is not None:
        filters["poverty_alleviated"] = {"term": {"poverty_alleviated": query.poverty_alleviated}}
    if query.deep_poverty is not None:
        filters["deep_poverty"] = {"term": {"deep_poverty": query.deep_poverty}}
    return filters


SORTS = {
    "relevance": [{"_score": "desc"}, {"id": "asc"}],
    "price": [{"price_min": {"order": "asc", "missing": "_last"}}, {"id": "asc"}],
    "-price": [{"price_min": {"order": "desc", "missing": "_last"}}, {"id": "asc"}],
    "sales": [{"sales_count": "desc"}, {"id": "asc"}],
    "newest": [{"created_at": "desc"}, {"id": "desc"}],
}


def search_body(query: SearchQuery, facets: bool = True) -> dict:
    pieces = text.pieces(query.text)
    base: list[dict] = [_in_force(query.now)]
    if query.kind is not None:
        base.append({"term": {"kind": query.kind}})
    if query.price_min is not None or query.price_max is not None:
        bounds = {}
        if query.price_min is not None:
            bounds["gte"] = query.price_min
        if query.price_max is not None:
            bounds["lte"] = query.price_max
        base.append({"range": {"prices": bounds}})  # one active SKU within both bounds
    if query.in_stock is not None:
        stocked = {"range": {"stock_until": {"gte": stock_day(query.now)}}}
        base.append(stocked if query.in_stock else {"bool": {"must_not": [stocked]}})
    if wants_open_days(query):
        bounds = {"gte": open_from(query)}
        if query.available_to is not None:
            bounds["lte"] = query.available_to.isoformat()
        base.append({"range": {"open_days": bounds}})  # one open day within both bounds
    must = _text_query(pieces) or [{"match_all": {}}]
    scored: dict = {"bool": {"must": must, "filter": base}}
    if query.boosts and query.sort == "relevance":  # scores order nothing under another sort
        scored = {
            "function_score": {
                "query": scored,
                "functions": [{"filter": {"term": {b.field: True}}, "weight": b.weight} for b in query.boosts],
                "score_mode": "multiply",
                "boost_mode": "multiply",
            }
        }
    facet_filters = _facet_filters(query)
    body: dict = {
        "query": scored,
        "sort": SORTS[query.sort],
        "from": query.offset,
        "size": query.size,
        "track_total_hits": True,
        "_source": {
            "excludes": sorted({"pinyin", "suggest", "certs", "prices", "description", "open_days", *DERIVED_FIELDS})
        },  # stock_until kept
    }
    if facet_filters:
        body["post_filter"] = {"bool": {"filter": list(facet_filters.values())}}
    if facets:
        body["aggs"] = {
            name: {
                "filter": {"bool": {"filter": [f for key, f in facet_filters.items() if key != name]}},
                "aggs": {"values": {"terms": {"field": FACET_FIELDS.get(name, name), "size": FACET_SIZE}}},
            }
            for name in FACETS
        }
    return body


def _error_type(item: dict) -> str | None:
    for outcome in item.values():
        return ((outcome or {}).get("error") or {}).get("type")
    return None


def _bucket_key(bucket: dict):
    if bucket.get("key_as_string") in ("true", "false"):
        return bucket["key_as_string"] == "true"
    return bucket["key"]


class ElasticsearchBackend:
    name = "elasticsearch"

    def __init__(self, client: Elasticsearch, *, alias: str, analyzer: str = "cjk_bigram", refresh: bool = False):
        self.client = client
        self.alias = alias
        self.analyzer = analyzer
        self.refresh = refresh
        self._layout_checked_at: float | None = None

    def _call(self, func: Callable, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (TransportError, ApiError) as error:
            raise EngineUnavailable(f"{type(error).__name__}: {error}") from error

    # --- indexes ------------------------------------------------------------------------------

    def new_index_name(self) -> str:
        return f"{self.alias}-{time.strftime('%Y%m%dt%H%M%S')}{time.time_ns() % 1_000_000_000:09d}"

    def create_index(self, name: str, *, with_alias: bool = False) -> None:
        self._call(
            self.client.indices.create,
            index=name,
            settings=index_settings(self.analyzer),
            mappings=MAPPINGS,
            aliases={self.alias: {}} if with_alias else None,
        )

    def indices_behind_alias(self) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=self.alias).body)
        except NotFoundError:
            return []
        except (TransportError, ApiError) as error:
            raise EngineUnavailable(str(error)) from error

    def alias_exists(self) -> bool:
        """Whether the alias is there. After the engine restarts empty it is not, and neither is
        anything behind it: only a full rebuild from the database brings the documents back."""
        return bool(self._call(self.client.indices.exists_alias, name=self.alias).body)

    def _versioned(self) -> list[str]:
        """Our versioned indices (`<alias>-<timestamp>`), whatever the alias points at."""
        pattern = re.compile(rf"{re.escape(self.alias)}-\d{{8}}t\d{{15}}")
        try:
            names = self.client.indices.get(index=f"{self.alias}-*", expand_wildcards="all").body
        except NotFoundError:
            return []
        except (TransportError, ApiError) as error:
            raise EngineUnavailable(str(error)) from error
        return sorted(name for name in names if pattern.fullmatch(name))

    def _squatter(self) -> str | None:
        """A concrete index named like the alias (an engine auto-creates one when something writes
        to the name while the alias is missing); it must go before the alias can be added."""
        try:
            names = self.client.indices.get(index=self.alias).body
        except NotFoundError:
            return None
        except (TransportError, ApiError) as error:
            raise EngineUnavailable(str(error)) from error
        return self.alias if self.alias in names else None

    # --- writing ------------------------------------------------------------------------------

    def _actions(self, index: str, documents: dict[int, Document | None]) -> list[dict]:
        actions = []
        for product_id, doc in documents.items():
            if doc is None:
                actions.append({"_op_type": "delete", "_index": index, "_id": str(product_id)})
            else:
                actions.append({"_op_type": "index", "_index": index, "_id": str(product_id), "_source": indexed(doc)})
        return actions

    def _bulk(self, actions: list[dict], *, require_alias: bool) -> None:
        if not actions:
            return
        _ok, errors = self._call(
            helpers.bulk,
            self.client,
            actions,
            raise_on_error=False,
            raise_on_exception=True,
            refresh="true" if self.refresh else "false",
            chunk_size=500,
            # never let the engine auto-create an index under the alias's name
            require_alias=require_alias,
        )
        if require_alias and any(_error_type(e) == "index_not_found_exception" for e in errors):
            raise AliasMissing(f"alias {self.alias} is missing: the engine lost its index")
        real = [e for e in errors if not ("delete" in e and e["delete"].get("status") == 404)]
        if real:
            raise EngineUnavailable(f"bulk refused {len(real)} item(s): {json.dumps(real[:3], ensure_ascii=False)}")

    def apply(self, documents: dict[int, Document | None]) -> None:
        """Write through the alias only: a missing alias raises AliasMissing (the sync rebuilds)."""
        self._bulk(self._actions(self.alias, documents), require_alias=True)

    def reindex(
        self,
        batches: Iterable[dict[int, Document | None]],
        total: int,
        progress: Callable[[int], None],
        *,
        keep_old: bool = False,
    ) -> str:
        """Fill a new versioned index, then move the alias to it in one atomic step; searches are
        served by the old index until then. An index squatting on the alias's name goes in the same
        step; versioned indices left behind by earlier attempts go afterwards (all but the one the
        alias pointed at, with `keep_old`)."""
        new = self.new_index_name()
        self.create_index(new)
        try:
            for documents in batches:
                self._bulk(
                    self._actions(new, {k: v for k, v in documents.items() if v is not None}), require_alias=False
                )
                progress(len(documents))
            self._call(self.client.indices.refresh, index=new)
            old = self.indices_behind_alias()
            actions: list[dict] = [{"remove": {"index": index, "alias": self.alias}} for index in old]
            squatter = self._squatter()
            if squatter is not None:
                log.warning("search: removing index %s that squats on the alias name", squatter)
                actions.append({"remove_index": {"index": squatter}})
            actions.append({"add": {"index": new, "alias": self.alias}})
            self._call(self.client.indices.update_aliases, actions=actions)
        except BaseException:
            with contextlib.suppress(TransportError, ApiError):
                self.client.indices.delete(index=new, ignore_unavailable=True)
            raise
        keep = {new, *(old if keep_old else ())}
        for index in self._versioned():
            if index not in keep:
                self._call(self.client.indices.delete, index=index, ignore_unavailable=True)
        return new

    def stored_documents(self) -> dict[int, dict]:
        found: dict[int, dict] = {}
        after = None
        while True:
            body: dict = {"query": {"match_all": {}}, "sort": [{"id": "asc"}], "size": 1000}
            if after is not None:
                body["search_after"] = after
            response = self._call(self.client.search, index=self.alias, body=body)
            hits = response["hits"]["hits"]
            if not hits:
                return found
            for hit in hits:
                found[int(hit["_id"])] = json.loads(json.dumps(hit["_source"], sort_keys=True))
            after = hits[-1]["sort"]

    @staticmethod
    def comparable(doc: Document) -> dict:
        """The document as stored (an index built before the derived fields shows them as drift)."""
        return json.loads(json.dumps(indexed(doc), sort_keys=True))

    # --- reading ------------------------------------------------------------------------------

    def _check_layout(self) -> None:
        """Raise EngineUnavailable when the index behind the alias is of another layout than this
        code's (built before a change of the documents, and not yet rebuilt): its answers would be
        wrong, not merely slow. A positive check is kept for LAYOUT_CHECK_SECONDS."""
        now = time.monotonic()
        if self._layout_checked_at is not None and now - self._layout_checked_at < LAYOUT_CHECK_SECONDS:
            return
        mappings = self._call(self.client.indices.get_mapping, index=self.alias).body
        stale = sorted(
            index for index, body in mappings.items() if body["mappings"].get("_meta", {}).get("layout") != LAYOUT
        )
        if stale:
            self._layout_checked_at = None
            raise EngineUnavailable(f"index {', '.join(stale)} predates layout {LAYOUT}: run `flask search reindex`")
        self._layout_checked_at = now

    def search(self, query: SearchQuery, facets: bool = True) -> SearchResult:
        self._check_layout()
        response = self._call(self.client.search, index=self.alias, body=search_body(query, facets))
        pieces = text.pieces(query.text)
        hits = []
        for raw in response["hits"]["hits"]:
            source = {**hit_source(raw["_source"]), "in_stock": in_stock_on(raw["_source"], query.now)}
            hit = Hit(id=int(raw["_id"]), source=source)
            if query.highlight and pieces:  # marked here as the embedded backend does: cheaper than the engine's
                name = source["name"]
                marked = text.highlight(name, pieces, text.near_words(name, pieces))
                if marked is not None:
                    hit.highlight["name"] = marked
            hits.append(hit)
        result_facets = {}
        for name in FACETS if facets else ():
            buckets = response["aggregations"][name]["values"]["buckets"]
            result_facets[name] = sort_buckets([(_bucket_key(b), b["doc_count"]) for b in buckets])
        return SearchResult(
            hits=hits,
            total=response["hits"]["total"]["value"],
            facets=result_facets,
            backend=self.name,
            took_ms=float(response.get("took", 0)),
        )

    def suggest(self, prefix: str, *, now: datetime, size: int) -> list[Suggestion]:
        self._check_layout()
        prefix = text.suggest_prefix(prefix)
        if not prefix:
            return []
        body = {
            "query": {"bool": {"filter": [_in_force(now), {"prefix": {"suggest": prefix}}]}},
            "sort": [{"sales_count": "desc"}, {"id": "asc"}],
            "size": size,
            "_source": ["name"],
        }
        response = self._call(self.client.search, index=self.alias, body=body)
        return [Suggestion(product_id=int(h["_id"]), text=h["_source"]["name"]) for h in response["hits"]["hits"]]

"""What the API asks of a search backend, and what it gets back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from search.documents import Document

SORTS = ("relevance", "price", "-price", "sales", "newest")

# Facets, each with post-filter semantics: its counts ignore its own filter, obey all the others.
FACETS = ("category_id", "district_id", "brand_tier", "label", "poverty_alleviated", "deep_poverty")


class EngineUnavailable(Exception):
    """The engine did not answer (down, unreachable, index missing, or refused the request)."""


class AliasMissing(EngineUnavailable):
    """The engine answers but the alias is gone (it restarted empty, or someone deleted it): what
    it held is lost, so the sync rebuilds the index from the database before writing again."""


@dataclass(frozen=True)
class Boost:
    """Multiply the relevance of products whose boolean document field is true by `weight`."""

    field: str
    weight: float


@dataclass
class SearchQuery:
    now: datetime
    text: str = ""
    category_path: str | None = None
    district_ids: list[int] = field(default_factory=list)
    brand_tiers: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    poverty_alleviated: bool | None = None
    deep_poverty: bool | None = None
    kind: str | None = None
    in_stock: bool | None = None
    # services: some slot with capacity left on a day from..to (Asia/Shanghai; today at the earliest)
    available_from: date | None = None
    available_to: date | None = None
    price_min: int | None = None
    price_max: int | None = None
    sort: str = "relevance"
    page: int = 1
    size: int = 20
    highlight: bool = True
    boosts: tuple[Boost, ...] = ()

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


@dataclass
class Hit:
    id: int
    source: dict
    highlight: dict[str, str] = field(default_factory=dict)


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int
    facets: dict[str, list[tuple[object, int]]]
    backend: str
    took_ms: float | None = None  # the engine's own time, when there is an engine
    # False when the facets counted only some of the matches (the first scanned)
    facets_exact: bool = True
    # True when the total was estimated from some of the matches
    total_is_estimate: bool = False


@dataclass
class Suggestion:
    product_id: int
    text: str


class SearchBackend(Protocol):
    name: str

    def search(self, query: SearchQuery) -> SearchResult: ...

    def suggest(self, prefix: str, *, now: datetime, size: int) -> list[Suggestion]: ...

    def apply(self, documents: dict[int, Document | None]) -> None:
        """Index each document; delete the products mapped to None."""

    def reindex(self, batches, total: int, progress: Callable[[int], None]) -> str:
        """Build everything afresh from `batches` of documents; return what now serves searches."""

    def stored_documents(self) -> dict[int, Document]:
        """Every document the backend holds (for `check`)."""


def hit_source(document: Document) -> dict:
    """What a hit shows: the document without its analysis fields (the backends add `in_stock`)."""
    return {k: v for k, v in document.items() if k not in HIDDEN_FIELDS}


HIDDEN_FIELDS = frozenset({"pinyin", "suggest", "certs", "prices", "description", "stock_until", "open_days"})


def stock_day(now: datetime) -> str:
    """The day (Asia/Shanghai, as best-before dates are) from which a batch is still sellable."""
    from shop.inventory.models import china_today

    return china_today(now).isoformat()


def open_from(query: SearchQuery) -> str:
    """The first day a date-range filter looks at: its own first day, never before today."""
    today = stock_day(query.now)
    return max(query.available_from.isoformat(), today) if query.available_from else today


def wants_open_days(query: SearchQuery) -> bool:
    return query.available_from is not None or query.available_to is not None


def in_stock_on(document: Document, now: datetime) -> bool:
    """A product is in stock while some batch with units available has not passed its best-before
    day: the document keeps the latest such day (`stock_until`), so expiry needs no reindex."""
    until = document.get("stock_until")
    return until is not None and until >= stock_day(now)

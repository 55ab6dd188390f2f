"""The embedded backend: search in the application's own database (SQLite FTS5 or PostgreSQL).

Documents live in `search_documents`, updated in the transaction that changes the catalog (see
`search.outbox`), so this backend is always as true as the database. The text index beside it is
made by the migration: an FTS5 table kept in step by triggers (SQLite), a GIN index on a weighted
tsvector (PostgreSQL). Both receive the same pre-analysed terms (`search.text`), so the same query
means the same thing on either. Whether a product is in force is asked of the certifications table
at query time, with the one rule of `shop.certification.query`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from search import text
from search.backend import (
    FACETS,
    Hit,
    SearchQuery,
    SearchResult,
    Suggestion,
    hit_source,
    stock_day,
    wants_open_days,
)
from search.documents import BODY_FIELDS, Document
from search.models import SearchDocument, SearchVocabulary
from shop.bookings.availability import open_slot_exists
from shop.catalog.models import LabelKind, Sku
from shop.certification.query import product_in_force

D = SearchDocument.__table__

# The same expression as the migration's GIN index (A name, B other text, C pinyin, D suggest keys),
# written as tsvector literals: one position per column so a word in two columns keeps both weights,
# and no text parser touches CJK.
PG_TERMS = (
    r"(regexp_replace(name_terms, '(\S+)', '''\1'':1A', 'g') || ' ' || "
    r"regexp_replace(body_terms, '(\S+)', '''\1'':2B', 'g') || ' ' || "
    r"regexp_replace(pinyin_terms, '(\S+)', '''\1'':3C', 'g') || ' ' || "
    r"regexp_replace(suggest_terms, '(\S+)', '''\1'':4D', 'g'))::tsvector"
)
# bm25 weights of the FTS5 columns name_terms, body_terms, pinyin_terms, suggest_terms.
FTS_WEIGHTS = (3.0, 1.0, 1.0, 0.0)
COMPUTED = {
    "product_id",
    "labels",
    "created_at",
    "stock_until",
    "name_terms",
    "body_terms",
    "pinyin_terms",
    "suggest_terms",
    "source",
}
COPIED = [c.name for c in D.columns if c.name not in COMPUTED]
MAX_EXPANSIONS = 50
FACET_SIZE = 50


def to_row(doc: Document) -> dict:
    """The row of `search_documents` for a document."""
    body = " ".join(doc.get(f) or "" for f in BODY_FIELDS)
    return {
        "product_id": doc["id"],
        **{c: doc.get(c, D.c[c].default.arg if D.c[c].default is not None else None) for c in COPIED},
        "labels": " " + " ".join(doc["labels"]) + " ",
        "created_at": datetime.fromisoformat(doc["created_at"]),
        "stock_until": date.fromisoformat(doc["stock_until"]) if doc.get("stock_until") else None,
        "name_terms": text.join_terms(text.text_terms(doc["name"])),
        "body_terms": text.join_terms(text.text_terms(body)),
        "pinyin_terms": text.join_terms(doc["pinyin"]),
        "suggest_terms": text.join_terms(doc["suggest"]),
        "source": hit_source(doc),
    }


def _quote(term: str) -> str:
    return f'"{term}"'


class _Match:
    """The text condition of a query, rendered for the dialect: SQLite FTS5 or PostgreSQL tsquery."""

    def __init__(self, dialect: str, clauses: list[tuple[str, list[str], str]], prefix: str | None = None):
        self.dialect = dialect
        # AND of: ("all", grams, "") every gram in the text; ("word", words, word) one of the
        # words (the typed word and its near spellings) in the text, or the typed word in pinyin.
        self.clauses = clauses
        self.prefix = prefix

    def expression(self) -> str:
        if self.dialect == "sqlite":
            if self.prefix is not None:
                return f"{{suggest_terms}} : {_quote(self.prefix)}*"
            parts = []
            for kind, terms, word in self.clauses:
                if kind == "all":
                    parts.append("{name_terms body_terms} : (" + " AND ".join(map(_quote, terms)) + ")")
                else:
                    parts.append(
                        "({name_terms body_terms} : (" + " OR ".join(map(_quote, terms)) + ")"
                        f" OR {{pinyin_terms}} : {_quote(word)})"
                    )
            return " AND ".join(parts)
        if self.prefix is not None:
            return f"'{self.prefix}':*D"
        parts = []
        for kind, terms, word in self.clauses:
            if kind == "all":
                parts.append(" & ".join(f"'{t}':AB" for t in terms))
            else:
                parts.append("(" + " | ".join([f"'{t}':AB" for t in terms] + [f"'{word}':C"]) + ")")
        return " & ".join(parts)

    def condition(self) -> sa.ColumnElement[bool]:
        if self.dialect == "sqlite":
            return sa.literal_column("search_fts").op("MATCH")(self.expression())
        return sa.literal_column(f"({PG_TERMS})").op("@@")(sa.cast(self.expression(), postgresql.TSQUERY))

    def score(self) -> sa.ColumnElement[float]:
        if self.dialect == "sqlite":
            return -sa.func.bm25(sa.literal_column("search_fts"), *FTS_WEIGHTS)
        return sa.func.ts_rank(sa.literal_column(f"({PG_TERMS})"), sa.cast(self.expression(), postgresql.TSQUERY))

    def join(self, stmt: sa.Select) -> sa.Select:
        if self.dialect == "sqlite":
            fts = sa.table("search_fts", sa.column("rowid"))
            stmt = stmt.join(fts, fts.c.rowid == D.c.product_id)
        return stmt.where(self.condition())


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, session: Session):
        self.session = session
        self.dialect = session.get_bind().dialect.name

    # --- writing ------------------------------------------------------------------------------

    def apply(self, documents: dict[int, Document | None]) -> None:
        gone = [pid for pid, doc in documents.items() if doc is None]
        if gone:
            self.session.execute(sa.delete(D).where(D.c.product_id.in_(gone)))
        rows = [to_row(doc) for doc in documents.values() if doc is not None]
        if not rows:
            return
        insert = (sqlite.insert if self.dialect == "sqlite" else postgresql.insert)(D)
        upsert = insert.on_conflict_do_update(
            index_elements=[D.c.product_id],
            set_={c.name: insert.excluded[c.name] for c in D.columns if c.name != "product_id"},
        )
        self.session.execute(upsert, rows)
        self._add_vocabulary(rows)

    def _add_vocabulary(self, rows: list[dict]) -> None:
        words = set()
        for row in rows:
            for column in ("name_terms", "body_terms"):
                words.update(t for t in row[column].split() if t.isascii())
        if not words:
            return
        table = SearchVocabulary.__table__
        insert = (sqlite.insert if self.dialect == "sqlite" else postgresql.insert)(table)
        self.session.execute(insert.on_conflict_do_nothing(), [{"term": w} for w in sorted(words)])

    def reindex(self, batches: Iterable[dict[int, Document | None]], total: int, progress: Callable[[int], None]):
        """Rebuild every row inside the caller's transaction: readers keep the old rows until it commits."""
        self.session.execute(sa.delete(D))
        for documents in batches:
            self.apply(documents)
            progress(len(documents))
        return "search_documents"

    def stored_documents(self) -> dict[int, dict]:
        columns = [c for c in D.columns if c.name != "source"]
        return {row.product_id: self.comparable_row(row._asdict()) for row in self.session.execute(sa.select(*columns))}

    def comparable(self, doc: Document) -> dict:
        row = to_row(doc)
        row.pop("source")
        return self.comparable_row(row)

    @staticmethod
    def comparable_row(row: dict) -> dict:
        row = dict(row)
        row["created_at"] = row["created_at"].isoformat()
        row["stock_until"] = row["stock_until"].isoformat() if row["stock_until"] else None
        for column in ("name_terms", "body_terms", "pinyin_terms", "suggest_terms"):
            row[column] = sorted(row[column].split())
        return row

    # --- reading ------------------------------------------------------------------------------

    def _expansions(self, word: str) -> list[str]:
        edits = text.max_edits(word)
        if not edits:
            return [word]
        length = sa.func.length(SearchVocabulary.term)
        candidates = self.session.scalars(
            sa.select(SearchVocabulary.term).where(length.between(len(word) - edits, len(word) + edits))
        )
        scored = sorted(
            (text.edit_distance(word, term, edits), term) for term in candidates if term.isascii() and term.isalnum()
        )
        found = [term for distance, term in scored if distance <= edits][:MAX_EXPANSIONS]
        return found if word in found else [*found, word]

    def _match(self, query: SearchQuery) -> tuple[_Match | None, set[str]]:
        clauses: list[tuple[str, list[str], str]] = []
        words: set[str] = set()
        for piece in text.pieces(query.text):
            if piece.cjk:
                clauses.append(("all", piece.grams, ""))
            else:
                expansions = self._expansions(piece.text)
                words.update(expansions)
                clauses.append(("word", expansions, piece.text))
        return (_Match(self.dialect, clauses) if clauses else None), words

    def _filters(self, query: SearchQuery) -> tuple[list, dict[str, sa.ColumnElement[bool]]]:
        base = [product_in_force(D.c.product_id, query.now)]
        if query.kind is not None:
            base.append(D.c.kind == query.kind)
        if query.price_min is not None or query.price_max is not None:
            conditions = [Sku.product_id == D.c.product_id, Sku.is_active]
            if query.price_min is not None:
                conditions.append(Sku.price_fen >= query.price_min)
            if query.price_max is not None:
                conditions.append(Sku.price_fen <= query.price_max)
            base.append(sa.exists().where(*conditions))
        if wants_open_days(query):
            base.append(open_slot_exists(D.c.product_id, query.available_from, query.available_to, query.now))
        if query.in_stock is not None:
            stocked = D.c.stock_until >= date.fromisoformat(stock_day(query.now))
            base.append(stocked if query.in_stock else sa.or_(D.c.stock_until.is_(None), ~stocked))
        facet: dict[str, sa.ColumnElement[bool]] = {}
        if query.category_path is not None:
            facet["category_id"] = D.c.category_path.startswith(query.category_path, autoescape=True)
        if query.district_ids:
            facet["district_id"] = D.c.district_id.in_(query.district_ids)
        if query.brand_tiers:
            facet["brand_tier"] = D.c.brand_tier.in_(query.brand_tiers)
        if query.labels:
            facet["label"] = sa.or_(*(D.c.labels.contains(f" {label} ", autoescape=True) for label in query.labels))
        if query.poverty_alleviated is not None:
            facet["poverty_alleviated"] = D.c.poverty_alleviated == query.poverty_alleviated
        if query.deep_poverty is not None:
            facet["deep_poverty"] = D.c.deep_poverty == query.deep_poverty
        return base, facet

    def _select(self, columns, match: _Match | None, conditions) -> sa.Select:
        stmt = sa.select(*columns).select_from(D)
        if match is not None:
            stmt = match.join(stmt)
        return stmt.where(*conditions)

    def search(self, query: SearchQuery, facets: bool = True) -> SearchResult:
        match, words = self._match(query)
        base, facet_filters = self._filters(query)
        conditions = base + list(facet_filters.values())
        boost = sa.literal(1.0)
        for rule in query.boosts:
            boost = boost * sa.case((D.c[rule.field], rule.weight), else_=1.0)
        score = (match.score() * boost) if match is not None else boost
        order = {
            "relevance": [score.desc(), D.c.product_id.asc()],
            "price": [D.c.price_min.asc().nulls_last(), D.c.product_id.asc()],
            "-price": [D.c.price_min.desc().nulls_last(), D.c.product_id.asc()],
            "sales": [D.c.sales_count.desc(), D.c.product_id.asc()],
            "newest": [D.c.created_at.desc(), D.c.product_id.desc()],
        }[query.sort]
        total = self.session.scalar(self._select([sa.func.count()], match, conditions)) or 0
        rows = (
            self.session.execute(
                self._select([D.c.product_id, D.c.source, D.c.stock_until], match, conditions)
                .order_by(*order)
                .limit(query.size)
                .offset(query.offset)
            ).all()
            if total > query.offset
            else []
        )
        pieces = text.pieces(query.text)
        today = date.fromisoformat(stock_day(query.now))
        hits = []
        for row in rows:
            in_stock = row.stock_until is not None and row.stock_until >= today
            hit = Hit(id=row.product_id, source={**row.source, "in_stock": in_stock})
            if query.highlight and pieces:
                marked = text.highlight(row.source["name"], pieces, words)
                if marked is not None:
                    hit.highlight["name"] = marked
            hits.append(hit)
        return SearchResult(
            hits=hits,
            total=total,
            facets=self._facets(match, base, facet_filters) if facets else {},
            backend=self.name,
        )

    def _facets(self, match, base, facet_filters) -> dict[str, list[tuple[object, int]]]:
        result: dict[str, list[tuple[object, int]]] = {}
        for name in FACETS:
            conditions = base + [c for key, c in facet_filters.items() if key != name]
            if name == "label":
                kinds = [k.value for k in LabelKind]
                sums = [
                    sa.func.coalesce(sa.func.sum(sa.case((D.c.labels.contains(f" {k} "), 1), else_=0)), 0)
                    for k in kinds
                ]
                counts = self.session.execute(self._select(sums, match, conditions)).one()
                buckets = [(k, int(n or 0)) for k, n in zip(kinds, counts, strict=True) if n]
            else:
                column = D.c[name]
                stmt = self._select([column, sa.func.count()], match, conditions).group_by(column)
                buckets = [(value, n) for value, n in self.session.execute(stmt) if value is not None]
            result[name] = sort_buckets(buckets)
        return result

    def suggest(self, prefix: str, *, now: datetime, size: int) -> list[Suggestion]:
        prefix = text.suggest_prefix(prefix)
        if not prefix:
            return []
        match = _Match(self.dialect, [], prefix=prefix)
        stmt = (
            self._select([D.c.product_id, D.c.name], match, [product_in_force(D.c.product_id, now)])
            .order_by(D.c.sales_count.desc(), D.c.product_id.asc())
            .limit(size)
        )
        return [Suggestion(product_id=row.product_id, text=row.name) for row in self.session.execute(stmt)]


def sort_buckets(buckets: list[tuple[object, int]]) -> list[tuple[object, int]]:
    """Most frequent first, then by value: the same order whichever backend counted."""
    return sorted(buckets, key=lambda b: (-b[1], str(type(b[0])), b[0]))[:FACET_SIZE]

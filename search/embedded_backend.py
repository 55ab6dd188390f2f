"""The embedded backend: search in the application's own database (SQLite FTS5 or PostgreSQL).

Documents live in `search_documents`, updated in the transaction that changes the catalog (see
`search.outbox`), so this backend is always as true as the database. The text index beside it is
made by the migration: an FTS5 table kept in step by triggers (SQLite), a GIN index on a weighted
tsvector (PostgreSQL). Both receive the same pre-analysed terms (`search.text`), so the same query
means the same thing on either. Whether a product is in force is a range check on the document's
certification span, exact at every instant: near an edge or across a gap the certifications table
is asked, with the one rule of `shop.certification.query` (see `in_force_condition`).
"""

from __future__ import annotations

import heapq
import itertools
import operator
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from search import facet_snapshot, text
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
from shop.catalog.models import Sku
from shop.certification.query import product_in_force

D = SearchDocument.__table__

# The expression of the migration's stored `ts_terms` column (0026), indexed by GIN: A name, B other
# text, C pinyin, D suggest keys, written as tsvector literals (one position per column, so a word
# in two columns keeps both weights, and no text parser touches CJK). Pinyin and suggest keys are
# lexemes of their own (`py~`, `sg~` before them), so no query needs a weight restriction and the
# GIN index answers it without reading each match's (out-of-line) vector again.
PG_TERMS = (
    r"(regexp_replace(name_terms, '(\S+)', '''\1'':1A', 'g') || ' ' || "
    r"regexp_replace(body_terms, '(\S+)', '''\1'':2B', 'g') || ' ' || "
    r"regexp_replace(pinyin_terms, '(\S+)', '''py~\1'':3C', 'g') || ' ' || "
    r"regexp_replace(suggest_terms, '(\S+)', '''sg~\1'':4D', 'g'))::tsvector"
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
    "cert_from",
    "cert_until",
    "cert_gaps",
    "price_count",
}
COPIED = [c.name for c in D.columns if c.name not in COMPUTED]
MAX_EXPANSIONS = 50
FACET_SIZE = 50
FACET_SCAN_LIMIT = 2_000
# past the facet scan's limit, the matches of every filter are read whole and ordered here up to this many
PAGE_SCAN_LIMIT = 5_000
# without text, relevance (the boosts' order) of at most this many matches is one sort
SORTED_PAGE_LIMIT = 10_000
# a text query ranks at most this many of its matches (the first in the text index's order)
TEXT_CANDIDATES = 2_000


def _instant(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def cert_span(certs: list[dict]) -> tuple[datetime | None, datetime | None, bool]:
    """The span of the certifications' validity (earliest start, latest end) and whether their
    union leaves a gap inside it (then "in force" must be asked of the certifications table)."""
    if not certs:
        return None, None, False
    spans = sorted((c["valid_from"], c["valid_until"]) for c in certs)
    start, end = spans[0]
    gaps = False
    for low, high in spans[1:]:
        gaps = gaps or low > end
        end = max(end, high)
    return _instant(start), _instant(end), gaps


def to_row(doc: Document) -> dict:
    """The row of `search_documents` for a document."""
    body = " ".join(doc.get(f) or "" for f in BODY_FIELDS)
    cert_from, cert_until, cert_gaps = cert_span(doc.get("certs") or [])
    return {
        "cert_from": cert_from,
        "cert_until": cert_until,
        "cert_gaps": cert_gaps,
        "price_count": len(doc.get("prices") or []),
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
            return f"'sg~{self.prefix}':*"
        parts = []
        for kind, terms, word in self.clauses:
            if kind == "all":
                parts.append(" & ".join(f"'{t}'" for t in terms))
            else:
                parts.append("(" + " | ".join([f"'{t}'" for t in terms] + [f"'py~{word}'"]) + ")")
        return " & ".join(parts)

    def condition(self) -> sa.ColumnElement[bool]:
        if self.dialect == "sqlite":
            return sa.literal_column("search_fts").op("MATCH")(self.expression())
        return sa.literal_column("ts_terms").op("@@")(sa.cast(self.expression(), postgresql.TSQUERY))

    def score(self) -> sa.ColumnElement[float]:
        if self.dialect == "sqlite":
            return -sa.func.bm25(sa.literal_column("search_fts"), *FTS_WEIGHTS)
        return sa.func.ts_rank(sa.literal_column("ts_terms"), sa.cast(self.expression(), postgresql.TSQUERY))

    def count(self, session: Session) -> int:
        """The number of the text's matches, whatever else they are: counted by FTS5 from its index
        (a fraction of a millisecond); on PostgreSQL the planner's estimate from the vector's
        statistics (counting reads every match's heap row, about as long as the search)."""
        if self.dialect == "sqlite":
            fts = sa.table("search_fts", sa.column("rowid"))
            return session.scalar(sa.select(sa.func.count()).select_from(fts).where(self.condition())) or 0
        plan = session.scalar(
            sa.text("EXPLAIN (FORMAT JSON) SELECT 1 FROM search_documents WHERE ts_terms @@ CAST(:q AS tsquery)"),
            {"q": self.expression()},
        )
        return int(plan[0]["Plan"]["Plan Rows"])

    def join(self, stmt: sa.Select) -> sa.Select:
        if self.dialect == "sqlite":
            fts = sa.table("search_fts", sa.column("rowid"))
            stmt = stmt.join(fts, fts.c.rowid == D.c.product_id)
        return stmt.where(self.condition())


class EmbeddedBackend:
    name = "embedded"

    def __init__(
        self, session: Session, facet_scan_limit: int = FACET_SCAN_LIMIT, text_candidates: int = TEXT_CANDIDATES
    ):
        self.session = session
        self.facet_scan_limit = facet_scan_limit
        self.text_candidates = text_candidates
        self.dialect = session.get_bind().dialect.name

    # --- writing ------------------------------------------------------------------------------

    def apply(self, documents: dict[int, Document | None]) -> None:
        gone = [pid for pid, doc in documents.items() if doc is None]
        changed = False
        if gone:
            changed = self.session.execute(sa.delete(D).where(D.c.product_id.in_(gone))).rowcount > 0
        rows = [to_row(doc) for doc in documents.values() if doc is not None]
        if rows and not changed:
            changed = self._facets_change(rows)
        if changed:
            facet_snapshot.bump(self.session)
        if not rows:
            return
        insert = (sqlite.insert if self.dialect == "sqlite" else postgresql.insert)(D)
        upsert = insert.on_conflict_do_update(
            index_elements=[D.c.product_id],
            set_={c.name: insert.excluded[c.name] for c in D.columns if c.name != "product_id"},
        )
        self.session.execute(upsert, rows)
        self._add_vocabulary(rows)

    def _facets_change(self, rows: list[dict]) -> bool:
        """Whether writing these rows changes what the unfiltered facets count (a sale does not)."""
        columns = [D.c[name] for name in facet_snapshot.FACET_COLUMNS]
        stored = {
            row[0]: tuple(row[1:])
            for row in self.session.execute(
                sa.select(D.c.product_id, *columns).where(D.c.product_id.in_([r["product_id"] for r in rows]))
            )
        }
        return any(
            stored.get(row["product_id"]) != tuple(row[name] for name in facet_snapshot.FACET_COLUMNS) for row in rows
        )

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
        # SQLite: the FTS5 table is rebuilt once from the new rows, not fed row by row by its
        # triggers (in one transaction each insert merges into a growing index whose pages overflow
        # SQLite's page cache: a 20,000-product reindex took 80 s, 300,000 over an hour)
        triggers = self._drop_fts_triggers() if self.dialect == "sqlite" else []
        self.session.execute(sa.delete(D))
        facet_snapshot.bump(self.session)
        for documents in batches:
            self.apply(documents)
            progress(len(documents))
        if triggers:
            self.session.execute(sa.text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
            for create in triggers:
                self.session.connection().exec_driver_sql(create)
        return "search_documents"

    def _drop_fts_triggers(self) -> list[str]:
        """Drop the triggers that keep `search_fts` in step (made by the migration), returning their
        statements to make them again: in the transaction, so no other connection sees them gone."""
        found = self.session.execute(
            sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'search_documents'")
        ).all()
        for name, _sql in found:
            self.session.connection().exec_driver_sql(f'DROP TRIGGER "{name}"')
        return [create for _name, create in found]

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
        for column in ("cert_from", "cert_until"):
            row[column] = row[column].isoformat() if row[column] else None
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

    def _filters(self, query: SearchQuery, text_index: bool = False) -> tuple[list, dict[str, sa.ColumnElement[bool]]]:
        # PostgreSQL finds the text's matches with the GIN index: in force is checked on them
        base = [in_force_condition(query.now, indexed=not (text_index and self.dialect == "postgresql"))]
        if query.kind is not None:
            base.append(D.c.kind == query.kind)
        if query.price_min is not None or query.price_max is not None:
            base.append(price_condition(query.price_min, query.price_max))
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
        """Without text, one pass over the matches (those of every facet's own query, which ignores
        its own filter) gives the total, the facets and the page when there are at most
        `facet_scan_limit` of them. Past that the facets count the first `facet_scan_limit`
        (`facets_exact` false), the total is one COUNT, and the page comes from an index in the
        order asked. With text, see `_search_text`."""
        if self.dialect == "postgresql":
            # the planner's costs of a scan over thousands of matches pass JIT's threshold: compiling
            # costs more (tens of ms) than the query it would speed up
            self.session.execute(sa.text("SET LOCAL jit = off"))
        match, words = self._match(query)
        base, facet_filters = self._filters(query, text_index=match is not None)
        if match is not None:
            return self._search_text(query, match, words, base, facet_filters, facets)
        conditions = base + list(facet_filters.values())
        score_column = sa.literal(1.0)  # no text: every product scores the same

        def source(columns, where):
            return sa.select(*columns).select_from(D).where(*where)

        # no text and no filter but in force: the unfiltered count and facets of this index state,
        # kept; with one facet filter, that facet's counts (which ignore its own filter) are those
        snapshot = None
        if facets and len(base) == 1 and len(facet_filters) <= 1:
            snapshot = facet_snapshot.unfiltered(self.session, query.now, lambda: self._unfiltered(query.now))
            if not facet_filters:
                page_ids = self._ordered_page(query, source, conditions) if snapshot.total > query.offset else []
                return self._result(query, page_ids, words, snapshot.total, snapshot.facets, exact=True)
        flags = {name: sa.case((condition, 1), else_=0) for name, condition in facet_filters.items()}
        if not facets or snapshot is not None:
            scan_where = conditions
        elif len(facet_filters) > 1:
            scan_where = [*base, sum(1 - flag for flag in flags.values()) <= 1]
        else:
            scan_where = base
        columns = [
            D.c.product_id,
            score_column.label("score"),
            *(D.c[field] for field in {rule.field for rule in query.boosts}),
            *(D.c[name] for name in SORT_COLUMNS[query.sort]),
        ]
        if facets:
            columns += [D.c[name] for name in FACETS if name != "label"] + [D.c.labels]
        columns += [flag.label(f"flag_{name}") for name, flag in flags.items()]
        columns = list({c.key if hasattr(c, "key") else c.name: c for c in columns}.values())
        limit = self.facet_scan_limit
        names = list(facet_filters)
        if facets:
            scanned = self.session.execute(source(columns, scan_where).limit(limit + 1)).all()
            bounded = len(scanned) > limit
            scanned = scanned[:limit]
        else:
            # without facets, a COUNT and an index give the answer: no scan
            scanned, bounded = [], True
        position = {c.key: i for i, c in enumerate(columns)}
        # column-wise: each a tuple over the scanned rows
        by_column = dict(zip(position, zip(*scanned, strict=True), strict=True)) if scanned else {}
        flag_columns = [by_column.get(f"flag_{n}", ()) for n in names]
        counted = _count_facets(by_column, flag_columns, names, len(scanned)) if facets else {}
        if snapshot is not None:
            counted.update({name: snapshot.facets[name] for name in names})
        if not bounded:
            if flag_columns:
                inside = list(itertools.compress(scanned, map(all, zip(*flag_columns, strict=True))))
            else:
                inside = scanned
            total = len(inside)
            want = query.offset + query.size
            first = heapq.nsmallest(want, inside, key=python_order(query, position))
            page_ids = [row[0] for row in first[query.offset :]]
        else:
            inside, cap = [], -1
            if facets and facet_filters and scanned and snapshot is None:
                # the scan was the facets' wider set: the matches of every filter may still be few,
                # then one narrow read of them all orders the page here (no COUNT, no ordered reads)
                narrow = [D.c.product_id, score_column.label("score")]
                narrow += [D.c[field] for field in {rule.field for rule in query.boosts}]
                narrow += [D.c[name] for name in SORT_COLUMNS[query.sort]]
                narrow = list({c.key: c for c in narrow}.values())
                cap = min(limit, PAGE_SCAN_LIMIT)
                inside = self.session.execute(source(narrow, conditions).limit(cap + 1)).all()
            if len(inside) <= cap:
                total = len(inside)
                order = python_order(query, {c.key: i for i, c in enumerate(narrow)})
                first = heapq.nsmallest(query.offset + query.size, inside, key=order)
                page_ids = [row[0] for row in first[query.offset :]]
            else:
                total, total_exact = self._count(query.now, source([D.c.product_id], conditions), conditions)
                total = max(total, len(inside))
                page_ids = self._ordered_page(query, source, conditions, total)
                if total_exact and total <= query.offset:
                    page_ids = []
                elif page_ids:
                    total = max(total, query.offset + len(page_ids))
                return self._result(
                    query,
                    page_ids,
                    words,
                    total,
                    counted,
                    exact=not facets,
                    facets=facets,
                    total_exact=total_exact,
                )
        return self._result(query, page_ids, words, total, counted, exact=not (facets and bounded), facets=facets)

    def _count(self, now: datetime, stmt: sa.Select, conditions) -> tuple[int, bool]:
        """The number of rows of `stmt` (those passing `conditions`, the first being "in force") and
        whether it is exact, without counting them (counting reads the whole range of products in
        force: about 100 ms at 300,000 on SQLite; on PostgreSQL, wherever the visibility map is not
        set, every match's row). SQLite: the products in force (the unfiltered snapshot's total)
        times the share passing the filters among the first `facet_scan_limit` in force by id;
        PostgreSQL: its planner's estimate."""
        if self.dialect == "sqlite":
            passes = sa.case((sa.and_(sa.true(), *conditions[1:]), 1), else_=0)
            sample = sa.select(passes).where(conditions[0]).order_by(D.c.product_id).limit(self.facet_scan_limit)
            flags = self.session.scalars(sample).all()
            if len(flags) < self.facet_scan_limit:
                return sum(flags), True
            in_force = facet_snapshot.unfiltered(self.session, now, lambda: self._unfiltered(now)).total
            return round(in_force * sum(flags) / len(flags)), False
        compiled = stmt.compile(dialect=self.session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
        plan = self.session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
        return int(plan[0]["Plan"]["Plan Rows"]), False

    def _search_text(self, query: SearchQuery, match: _Match, words, base, facet_filters, facets) -> SearchResult:
        """The candidates are the text's first `text_candidates` matches in the text index's order
        (FTS5: by rowid; GIN: the heap's order), read with their filters as flags and ranked (bm25 /
        ts_rank) only they: with no more matches than that, the total, the facets and the page are
        exact. With more, the facets count the candidates (`facets_exact` false), the total is the
        text's count scaled by the candidates' share that passes (`total_is_estimate`), and the page
        is ordered in SQL over every match that passes every filter: the candidates are an arbitrary
        part of the matches, so their best are not the page."""
        limit = self.text_candidates
        scored = query.sort == "relevance"
        names = list(facet_filters)
        fields = [*{rule.field for rule in query.boosts}, *SORT_COLUMNS[query.sort]]
        wide = [D.c[name] for name in FACETS if name != "label"] + [D.c.labels] if facets else []
        flags = [sa.case((sa.and_(*base), 1), else_=0).label("kept_")]
        flags += [sa.case((condition, 1), else_=0).label(f"flag_{name}") for name, condition in facet_filters.items()]
        columns = list({c.key: c for c in [D.c.product_id, *(D.c[f] for f in fields), *wide, *flags]}.values())
        stmt, position = self._candidates(match, columns, scored, limit + 1)
        rows = self.session.execute(stmt).all()
        complete = len(rows) <= limit
        kept_at = position["kept_"]
        kept = [row for row in rows[:limit] if row[kept_at]]
        by_column = dict(zip(position, zip(*kept, strict=True), strict=True)) if kept else {}
        flag_columns = [by_column.get(f"flag_{n}", ()) for n in names]
        counted = _count_facets(by_column, flag_columns, names, len(kept)) if facets else {}
        inside = list(itertools.compress(kept, map(all, zip(*flag_columns, strict=True)))) if names else kept
        exact_total = True
        if complete:
            total = len(inside)
            first = heapq.nsmallest(query.offset + query.size, inside, key=python_order(query, position))
            page_ids = [row[1] for row in first[query.offset :]]
        else:
            page_ids = self._text_page(query, match, base + list(facet_filters.values()))
            if len(page_ids) < query.size and (page_ids or not query.offset):
                total = query.offset + len(page_ids)  # the page ran out: the total is known
            else:
                exact_total = False
                estimate = round(match.count(self.session) * len(inside) / limit)
                # a full page: at least this many; an empty page past the first: at most the offset
                total = max(estimate, query.offset + len(page_ids)) if page_ids else min(estimate, query.offset)
        return self._result(
            query, page_ids, words, total, counted, exact=complete or not facets, facets=facets, total_exact=exact_total
        )

    def _text_page(self, query: SearchQuery, match: _Match, conditions) -> list[int]:
        """The ids of the page among every match of the text passing `conditions`, ordered in SQL
        (ranked, for relevance, all of them)."""
        score = match.score() if query.sort == "relevance" else sa.literal(1.0)
        stmt = match.join(sa.select(D.c.product_id).select_from(D)).where(*conditions)
        stmt = stmt.order_by(*_sql_order(query, score)).limit(query.size).offset(query.offset)
        return list(self.session.scalars(stmt))

    def _candidates(self, match: _Match, columns, scored: bool, limit: int):
        """The first `limit` matches of the text in the text index's order, with `columns` and their
        score (bm25 / ts_rank, computed for these rows only); and the position of each column in a row."""
        score = match.score() if scored else sa.literal(1.0)
        if self.dialect == "sqlite":
            # the FTS5 query alone, limited, before the join: bm25 for the candidates only
            fts = sa.table("search_fts", sa.column("rowid"))
            first = sa.select(fts.c.rowid.label("product_id"), score.label("score"))
            first = first.where(match.condition()).limit(limit).subquery("candidates")
            stmt = sa.select(first.c.score, *columns).select_from(first.join(D, D.c.product_id == first.c.product_id))
        else:
            stmt = sa.select(score.label("score"), *columns).where(match.condition()).limit(limit)
        # product_id second: the page's ids are read from there
        keys = ["score", *(c.key for c in columns)]
        return stmt, {key: i for i, key in enumerate(keys)}

    def _result(
        self, query, page_ids, words, total, counted, *, exact: bool, facets: bool = True, total_exact: bool = True
    ) -> SearchResult:
        """The hits of the page (one read of their sources) and the sorted facets."""
        rows = {}
        if page_ids:
            rows = {
                row.product_id: row
                for row in self.session.execute(
                    sa.select(D.c.product_id, D.c.source, D.c.stock_until).where(D.c.product_id.in_(page_ids))
                )
            }
        pieces = text.pieces(query.text)
        today = date.fromisoformat(stock_day(query.now))
        hits = []
        for product_id in page_ids:
            row = rows[product_id]
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
            facets={name: sort_buckets(counted[name]) for name in FACETS} if facets else {},
            backend=self.name,
            facets_exact=exact,
            total_is_estimate=not total_exact,
        )

    def _unfiltered(self, now: datetime) -> facet_snapshot.Snapshot:
        """The count and facets of every product in force: one GROUP BY over the six facet columns."""
        columns = [D.c["labels" if name == "label" else name] for name in FACETS]
        stmt = sa.select(*columns, sa.func.count()).where(in_force_condition(now)).group_by(*columns)
        counters: dict[str, Counter] = {name: Counter() for name in FACETS}
        total = 0
        for *values, n in self.session.execute(stmt):
            total += n
            for name, value in zip(FACETS, values, strict=True):
                if name == "label":
                    for kind in value.split():
                        counters[name][kind] += n
                elif value is not None:
                    counters[name][value] += n
        return facet_snapshot.Snapshot(total, {name: list(counter.items()) for name, counter in counters.items()})

    def _ordered_page(self, query: SearchQuery, source, conditions, matches: int | None = None):
        """The ids of the page, ordered in SQL. Without text, each order is read from an index: the
        relevance order is then the boosts' order, so one query per class of equal boost (a class
        its filters exclude is not asked). With at most SORTED_PAGE_LIMIT `matches` (counted or
        estimated), the filters' indexes find them and one sort orders them: a class with none of
        them would be walked whole."""
        want = query.offset + query.size
        order = _sql_order(query, sa.literal(1.0))  # no text: the score is the boosts alone
        if query.sort == "relevance" and matches is not None and matches <= SORTED_PAGE_LIMIT:
            stmt = source([D.c.product_id], conditions).order_by(*order).limit(query.size).offset(query.offset)
            return list(self.session.scalars(stmt))
        if query.sort != "relevance":
            if query.sort in ("price", "-price"):
                # priced products first, then the unpriced: each part in index order
                ids = list(
                    self.session.scalars(
                        source([D.c.product_id], [*conditions, D.c.price_min.is_not(None)])
                        .order_by(*order[1:])
                        .limit(want)
                    )
                )
                if len(ids) < want:
                    ids += self.session.scalars(
                        source([D.c.product_id], [*conditions, D.c.price_min.is_(None)])
                        .order_by(D.c.product_id)
                        .limit(want - len(ids))
                    )
                return ids[query.offset :]
            return list(
                self.session.scalars(
                    source([D.c.product_id], conditions).order_by(*order).limit(query.size).offset(query.offset)
                )
            )
        classes: dict[float, list[dict[str, bool]]] = {}
        fields = [rule.field for rule in query.boosts]
        for values in itertools.product((True, False), repeat=len(fields)):
            weight = 1.0
            for rule, value in zip(query.boosts, values, strict=True):
                weight = weight * (rule.weight if value else 1.0)
            chosen = dict(zip(fields, values, strict=True))
            fixed = {"poverty_alleviated": query.poverty_alleviated, "deep_poverty": query.deep_poverty}
            if any(fixed.get(f) is not None and fixed[f] != v for f, v in chosen.items()):
                continue
            classes.setdefault(weight, []).append(chosen)
        ids: list[int] = []
        for weight in sorted(classes, reverse=True):
            parts = [
                self.session.scalars(
                    source([D.c.product_id], [*conditions, *(D.c[f] == v for f, v in values.items())])
                    .order_by(D.c.product_id)
                    .limit(want - len(ids))
                )
                for values in classes[weight]
            ]
            ids += list(heapq.merge(*parts))[: want - len(ids)]
            if len(ids) >= want:
                break
        return ids[query.offset :]

    def suggest(self, prefix: str, *, now: datetime, size: int) -> list[Suggestion]:
        prefix = text.suggest_prefix(prefix)
        if not prefix:
            return []
        match = _Match(self.dialect, [], prefix=prefix)
        stmt = (
            self._select([D.c.product_id, D.c.name], match, [in_force_condition(now)])
            .order_by(D.c.sales_count.desc(), D.c.product_id.asc())
            .limit(size)
        )
        return [Suggestion(product_id=row.product_id, text=row.name) for row in self.session.execute(stmt)]


def _sql_order(query: SearchQuery, score_column, c=D.c) -> list:
    """The ORDER BY of the page over the columns `c`: the same order as `python_order`."""
    if query.sort == "relevance":
        boost = sa.literal(1.0)
        for rule in query.boosts:
            boost = boost * sa.case((c[rule.field], rule.weight), else_=1.0)
        return [(score_column * boost).desc(), c.product_id.asc()]
    if query.sort in ("price", "-price"):
        price = c.price_min.asc() if query.sort == "price" else c.price_min.desc()
        return [c.price_min.is_(None), price, c.product_id.asc()]
    if query.sort == "sales":
        return [c.sales_count.desc(), c.product_id.asc()]
    return [c.created_at.desc(), c.product_id.desc()]


SORT_COLUMNS = {
    "relevance": [],
    "price": ["price_min"],
    "-price": ["price_min"],
    "sales": ["sales_count"],
    "newest": ["created_at"],
}
# within this much of a certification's start or end (documents keep milliseconds), the
# certifications table decides whether it is in force
EDGE = timedelta(milliseconds=2)


def in_force_condition(now: datetime, indexed: bool = True) -> sa.ColumnElement[bool]:
    """In force at `now`, as `shop.certification.query` says, read from the row's certification span:
    sure inside it (no gap, not at an edge), asked of the certifications table near an edge or a gap.
    Not `indexed`: the range is checked on the rows another index found, never read from an index
    (in force is nine products in ten: PostgreSQL would AND a bitmap of them with the text's)."""
    sure = sa.and_(D.c.cert_from <= now - EDGE, D.c.cert_until > now, ~D.c.cert_gaps)
    # the two are NULL together (no certification): the same condition, out of the index's reach
    until = D.c.cert_until if indexed else sa.func.coalesce(D.c.cert_until, D.c.cert_from)
    start = D.c.cert_from if indexed else sa.func.coalesce(D.c.cert_from, D.c.cert_until)
    # one range on the index, no OR at the top (that would make SQLite scan twice)
    return sa.and_(
        until > now - EDGE,
        start <= now,
        sa.or_(sure, product_in_force(D.c.product_id, now)),
    )


def price_condition(low: int | None, high: int | None) -> sa.ColumnElement[bool]:
    """Some active SKU priced within low..high: with one or two distinct prices they are price_min
    and price_max; only a product with more asks the SKUs."""

    def within(column):
        parts = []
        if low is not None:
            parts.append(column >= low)
        if high is not None:
            parts.append(column <= high)
        return sa.and_(*parts)

    conditions = [Sku.product_id == D.c.product_id, Sku.is_active]
    if low is not None:
        conditions.append(Sku.price_fen >= low)
    if high is not None:
        conditions.append(Sku.price_fen <= high)
    span = []
    if low is not None:
        span.append(D.c.price_max >= low)
    if high is not None:
        span.append(D.c.price_min <= high)
    some = sa.or_(
        within(D.c.price_min),
        within(D.c.price_max),
        sa.and_(D.c.price_count > 2, *span, sa.exists().where(*conditions)),
    )
    # one condition, not an OR of index ranges: PostgreSQL would scan the range in force of
    # `ix_search_documents_scan` once per arm (a BitmapOr) and then read every match's row, where
    # one index-only scan checks it on the way
    # (and the span's overlap beside it, which implies nothing more, for the planner's estimate)
    return sa.and_(*span, sa.case((some, sa.true()), else_=sa.false()))


def python_order(query: SearchQuery, position: dict[str, int]):
    """The sort key of a scanned row (a tuple): the same order as `_ordered_page` asks of SQL."""
    pid = position["product_id"]
    if query.sort == "relevance":
        score = position["score"]
        fields = [position[rule.field] for rule in query.boosts]
        weights = {}
        for values in itertools.product((True, False), repeat=len(fields)):
            weight = 1.0
            for rule, value in zip(query.boosts, values, strict=True):
                weight = weight * (rule.weight if value else 1.0)
            weights[values] = weight
        if not fields:
            return lambda row: (-row[score], row[pid])
        flags = operator.itemgetter(*fields)
        if len(fields) == 1:
            weights = {(bool(k[0]),): w for k, w in weights.items()}
            return lambda row: (-(row[score] * weights[(flags(row),)]), row[pid])
        return lambda row: (-(row[score] * weights[flags(row)]), row[pid])
    if query.sort in ("price", "-price"):
        price, sign = position["price_min"], (1 if query.sort == "price" else -1)
        return lambda row: (row[price] is None, sign * (row[price] or 0), row[pid])
    if query.sort == "sales":
        sales = position["sales_count"]
        return lambda row: (-row[sales], row[pid])
    created = position["created_at"]
    return lambda row: (-row[created].timestamp(), -row[pid])


def _count_facets(columns: dict[str, tuple], flags: list[tuple], filtered: list[str], n: int):
    """Per facet, counts over the rows that pass every facet filter but its own."""
    failures = [len(flags) - sum(values) for values in zip(*flags, strict=True)] if flags else [0] * n
    inside = [f == 0 for f in failures]
    result = {}
    for name in FACETS:
        column = "labels" if name == "label" else name
        values = columns.get(column, ())
        if name in filtered:
            own = flags[filtered.index(name)]
            mask = [f == 0 or (f == 1 and not ok) for f, ok in zip(failures, own, strict=True)]
        else:
            mask = inside
        counter = Counter(itertools.compress(values, mask))
        if name == "label":
            kinds: Counter = Counter()
            for labels, count in counter.items():
                for kind in labels.split():
                    kinds[kind] += count
            counter = kinds
        result[name] = [(value, count) for value, count in counter.items() if value is not None and count]
    return result


def sort_buckets(buckets: list[tuple[object, int]]) -> list[tuple[object, int]]:
    """Most frequent first, then by value: the same order whichever backend counted."""
    return sorted(buckets, key=lambda b: (-b[1], str(type(b[0])), b[0]))[:FACET_SIZE]

"""Tables of the search slice: the embedded index, the transactional outbox and the sync state."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, utcnow_column_default


class SearchDocument(Base):
    """One product as the embedded backend searches it: filter and sort columns copied from the
    catalog, and pre-analysed term columns (CJK uni/bigrams, Latin words, pinyin, suggest keys).

    SQLite: an FTS5 table `search_fts` (external content) mirrors the term columns through triggers.
    PostgreSQL: a GIN index on a weighted tsvector built from the term columns. Both are made by the
    migration only (they are not in the metadata), as is the PostgreSQL `ts_terms` column (the
    stored tsvector the GIN index and the ranking read).

    Whether a product is in force is a range check on the row: `cert_from`..`cert_until` spans its
    published certifications; only when they leave a gap (`cert_gaps`) does the query ask the
    certifications table. Likewise a price filter asks the SKUs only for a product with more than two
    distinct active prices (`price_count`): with one or two, `price_min`/`price_max` are all of them.
    """

    __tablename__ = "search_documents"
    __table_args__ = (
        # a covering index for counting and scanning matches without reading the wide rows
        sa.Index(
            "ix_search_documents_scan",
            "cert_until",
            "cert_from",
            "cert_gaps",
            "kind",
            "district_id",
            "category_path",
            "brand_tier",
            "labels",
            "poverty_alleviated",
            "deep_poverty",
            "at_risk_unsold",
            "price_min",
            "price_max",
            "price_count",
            "stock_until",
            # and what a scan reads besides (the facet, page and order columns): no row is read
            "category_id",
            "sales_count",
            "created_at",
            "product_id",
        ),
        # the relevance order of an empty query: boost classes, each in id order
        sa.Index("ix_search_documents_boosts", "poverty_alleviated", "deep_poverty", "at_risk_unsold", "product_id"),
        sa.Index("ix_search_documents_price_order", "price_min", "product_id"),
        sa.Index("ix_search_documents_newest_order", "created_at", "product_id"),
    )

    product_id: Mapped[int] = mapped_column(
        sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    category_id: Mapped[int] = mapped_column(index=True)
    category_path: Mapped[str] = mapped_column(sa.String(255), index=True)
    district_id: Mapped[int] = mapped_column(index=True)
    township_id: Mapped[int | None]
    poverty_alleviated: Mapped[bool]
    deep_poverty: Mapped[bool]
    # In an open absorption campaign or at warning/critical risk of going unsold (a relevance boost).
    at_risk_unsold: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    brand_id: Mapped[int | None]
    brand_tier: Mapped[str | None] = mapped_column(sa.String(32))
    supplier_id: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(32))
    # Label kinds between spaces (" geographical_indication organic "), so one LIKE finds one.
    labels: Mapped[str] = mapped_column(sa.String(255))
    price_min: Mapped[int | None] = mapped_column(index=True)
    price_max: Mapped[int | None]
    # Units sold by completed orders and over the counter. The "sales" sort orders by it.
    sales_count: Mapped[int] = mapped_column(default=0, index=True)
    # The latest best-before day of a batch with units available for sale; in stock while not past.
    stock_until: Mapped[date | None] = mapped_column(sa.Date, index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    # The span of the published certifications (earliest valid_from, latest valid_until), and whether
    # they leave a gap inside it (then the certifications table decides).
    cert_from: Mapped[datetime | None]
    cert_until: Mapped[datetime | None]
    cert_gaps: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Distinct active SKU prices.
    price_count: Mapped[int] = mapped_column(default=0, server_default="0")
    name_terms: Mapped[str] = mapped_column(sa.Text)
    body_terms: Mapped[str] = mapped_column(sa.Text)
    pinyin_terms: Mapped[str] = mapped_column(sa.Text)
    suggest_terms: Mapped[str] = mapped_column(sa.Text)
    # What a hit shows (names, first image, ...), as the engine's _source would.
    source: Mapped[dict] = mapped_column(sa.JSON)


# the "sales" order (most sold first, then by id) read straight from an index
sa.Index("ix_search_documents_sales_order", SearchDocument.sales_count.desc(), SearchDocument.product_id)


class SearchIndexVersion(Base):
    """The embedded index's version: one row (id 1) whose token is replaced, in the same transaction,
    by every change to what the unfiltered facets count (a document added or removed, or a change to
    its facet columns or certification span) and by a reindex. The unfiltered count and facets are
    kept per token (`search.facet_snapshot`)."""

    __tablename__ = "search_index_versions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(sa.String(32))
    changed_at: Mapped[datetime]


class SearchVocabulary(Base):
    """Latin words seen in indexed text: the embedded backend's typo tolerance expands a query
    word to the words within its edit distance. Never pruned (a stale word only matches nothing)."""

    __tablename__ = "search_vocabulary"

    term: Mapped[str] = mapped_column(sa.String(64), primary_key=True)


class SearchOutbox(Base):
    """A product whose search document may have changed, written in the same transaction as the
    change. The sync loop rebuilds the document from the database and deletes the row once the
    engine has it."""

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)


class SearchSyncState(Base):
    """Per sink (the engine): a lease so one sync runs at a time, and the back-off after failures."""

    __tablename__ = "search_sync_state"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(64))
    lease_until: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    last_success_at: Mapped[datetime | None]

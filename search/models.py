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
    migration only (they are not in the metadata). Whether a product is in force is never copied
    here: the embedded backend asks the certifications table at query time.
    """

    __tablename__ = "search_documents"

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
    name_terms: Mapped[str] = mapped_column(sa.Text)
    body_terms: Mapped[str] = mapped_column(sa.Text)
    pinyin_terms: Mapped[str] = mapped_column(sa.Text)
    suggest_terms: Mapped[str] = mapped_column(sa.Text)
    # What a hit shows (names, first image, ...), as the engine's _source would.
    source: Mapped[dict] = mapped_column(sa.JSON)


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

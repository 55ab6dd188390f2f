"""search facets: the embedded index's version, which keys the unfiltered count and facets; the
PostgreSQL text vector compressed with lz4

Revision ID: 0032_search_facets
Revises: 0030_reserve_function
Create Date: 2026-12-01 13:20:00
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import shop.db

revision = "0032_search_facets"
down_revision = "0030_reserve_function"
branch_labels = None
depends_on = None

# 0026's stored text vector, unchanged.
PG_TERMS = (
    r"(regexp_replace(name_terms, '(\S+)', '''\1'':1A', 'g') || ' ' || "
    r"regexp_replace(body_terms, '(\S+)', '''\1'':2B', 'g') || ' ' || "
    r"regexp_replace(pinyin_terms, '(\S+)', '''py~\1'':3C', 'g') || ' ' || "
    r"regexp_replace(suggest_terms, '(\S+)', '''sg~\1'':4D', 'g'))::tsvector"
)


SCAN = [
    "cert_until", "cert_from", "cert_gaps", "kind", "district_id", "category_path", "brand_tier", "labels",
    "poverty_alleviated", "deep_poverty", "at_risk_unsold", "price_min", "price_max", "price_count", "stock_until",
]  # fmt: skip
# what a scan reads besides, so that it reads the index alone (PostgreSQL: an index-only scan)
COVERED = ["category_id", "sales_count", "created_at", "product_id"]


def _lz4_available(bind) -> bool:
    """Whether the server was built with lz4 (the setting is tried, then undone)."""
    savepoint = bind.begin_nested()
    try:
        bind.exec_driver_sql("SET LOCAL default_toast_compression = lz4")
        return True
    except sa.exc.DBAPIError:
        return False
    finally:
        savepoint.rollback()


def _rebuild_terms(compression: str) -> None:
    """The stored vector made again (the table rewritten, as 0026 did): a value keeps the compression
    it was written with, and a text search decompresses the vector of every match to rank it, which
    costs several times more with pglz than with lz4."""
    op.execute("DROP INDEX IF EXISTS ix_search_documents_terms")
    op.execute("ALTER TABLE search_documents DROP COLUMN ts_terms")
    # at driver level: the expression's ':1A' must not be read as a bind parameter
    op.get_bind().exec_driver_sql(
        f"ALTER TABLE search_documents ADD COLUMN ts_terms tsvector COMPRESSION {compression} "
        f"GENERATED ALWAYS AS ({PG_TERMS}) STORED, ALTER COLUMN ts_terms SET STORAGE MAIN"
    )
    op.execute("CREATE INDEX ix_search_documents_terms ON search_documents USING gin (ts_terms)")


def upgrade() -> None:
    versions = op.create_table(
        "search_index_versions",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("changed_at", shop.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_index_versions")),
    )
    # a token of its own per database: no two databases share a key in a process's snapshot cache
    op.bulk_insert(versions, [{"id": 1, "token": uuid.uuid4().hex, "changed_at": datetime.now(UTC)}])
    op.drop_index("ix_search_documents_scan", table_name="search_documents")
    op.create_index("ix_search_documents_scan", "search_documents", SCAN + COVERED, unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _lz4_available(bind):
        _rebuild_terms("lz4")
    op.execute("ANALYZE search_documents")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _lz4_available(bind):
        _rebuild_terms("pglz")
    op.drop_index("ix_search_documents_scan", table_name="search_documents")
    op.create_index("ix_search_documents_scan", "search_documents", SCAN, unique=False)
    op.drop_table("search_index_versions")

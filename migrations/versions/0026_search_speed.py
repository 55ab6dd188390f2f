"""search speed: certification span and price count on search documents, covering and order
indexes, a stored tsvector on PostgreSQL

Revision ID: 0026_search_speed
Revises: 0024_catalog_version
Create Date: 2026-12-01 10:30:00
"""

from alembic import op
import sqlalchemy as sa
import shop.db


revision = "0026_search_speed"
down_revision = "0024_catalog_version"
branch_labels = None
depends_on = None

# 0002's text index expression (restored on downgrade).
OLD_PG_TERMS = (
    r"(regexp_replace(name_terms, '(\S+)', '''\1'':1A', 'g') || ' ' || "
    r"regexp_replace(body_terms, '(\S+)', '''\1'':2B', 'g') || ' ' || "
    r"regexp_replace(pinyin_terms, '(\S+)', '''\1'':3C', 'g') || ' ' || "
    r"regexp_replace(suggest_terms, '(\S+)', '''\1'':4D', 'g'))::tsvector"
)
# Stored once per row (PostgreSQL): the same weights, but pinyin and suggest keys are lexemes of
# their own (`py~`, `sg~` before them), so queries need no weight restriction (which makes GIN
# recheck every match against its out-of-line vector).
PG_TERMS = (
    r"(regexp_replace(name_terms, '(\S+)', '''\1'':1A', 'g') || ' ' || "
    r"regexp_replace(body_terms, '(\S+)', '''\1'':2B', 'g') || ' ' || "
    r"regexp_replace(pinyin_terms, '(\S+)', '''py~\1'':3C', 'g') || ' ' || "
    r"regexp_replace(suggest_terms, '(\S+)', '''sg~\1'':4D', 'g'))::tsvector"
)
SCAN = [
    "cert_until", "cert_from", "cert_gaps", "kind", "district_id", "category_path", "brand_tier", "labels",
    "poverty_alleviated", "deep_poverty", "at_risk_unsold", "price_min", "price_max", "price_count", "stock_until",
]


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild on SQLite: the FTS5 triggers on search_documents stay).
    op.add_column("search_documents", sa.Column("cert_from", shop.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column("search_documents", sa.Column("cert_until", shop.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column("search_documents", sa.Column("cert_gaps", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("search_documents", sa.Column("price_count", sa.Integer(), server_default="0", nullable=False))
    # Existing rows: the span of their published certifications; a gap is assumed wherever there is
    # more than one (exact, only slower, until `flask search reindex` computes it).
    published = "FROM certifications c WHERE c.product_id = search_documents.product_id AND c.status = 'published'"
    op.execute(
        f"UPDATE search_documents SET cert_from = (SELECT min(c.valid_from) {published}), "
        f"cert_until = (SELECT max(c.valid_until) {published}), "
        f"cert_gaps = (SELECT count(*) {published}) > 1, "
        "price_count = (SELECT count(DISTINCT s.price_fen) FROM skus s "
        "WHERE s.product_id = search_documents.product_id AND s.is_active)"
    )
    op.create_index("ix_search_documents_scan", "search_documents", SCAN, unique=False)
    op.create_index(
        "ix_search_documents_boosts",
        "search_documents",
        ["poverty_alleviated", "deep_poverty", "at_risk_unsold", "product_id"],
        unique=False,
    )
    op.create_index(
        "ix_search_documents_sales_order", "search_documents", [sa.text("sales_count DESC"), "product_id"], unique=False
    )
    op.create_index("ix_search_documents_price_order", "search_documents", ["price_min", "product_id"], unique=False)
    op.create_index("ix_search_documents_newest_order", "search_documents", ["created_at", "product_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_documents_terms")
        # at driver level: the expression's ':1A' must not be read as a bind parameter
        # kept in the row (compressed) where it fits: ts_rank reads it for every match, and a vector
        # out of line costs a TOAST lookup each; the `source` JSON and the term texts go out first
        op.get_bind().exec_driver_sql(
            f"ALTER TABLE search_documents ADD COLUMN ts_terms tsvector GENERATED ALWAYS AS ({PG_TERMS}) STORED, "
            "ALTER COLUMN ts_terms SET STORAGE MAIN"
        )
        op.execute("CREATE INDEX ix_search_documents_terms ON search_documents USING gin (ts_terms)")
    op.execute("ANALYZE")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_documents_terms")
        op.execute("ALTER TABLE search_documents DROP COLUMN ts_terms")
        op.get_bind().exec_driver_sql(
            f"CREATE INDEX ix_search_documents_terms ON search_documents USING gin (({OLD_PG_TERMS}))"
        )
    for name in ("newest_order", "price_order", "sales_order", "boosts", "scan"):
        op.drop_index(f"ix_search_documents_{name}", table_name="search_documents")
    for column in ("price_count", "cert_gaps", "cert_until", "cert_from"):
        op.drop_column("search_documents", column)

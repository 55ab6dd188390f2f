"""search documents know until when a product is in stock (the latest best-before day of a batch
with units available)

Revision ID: 0011_search_stock
Revises: 0010_harden_domain
Create Date: 2026-12-01 03:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = "0011_search_stock"
down_revision = "0010_harden_domain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild on SQLite: the FTS5 triggers on search_documents stay).
    op.add_column("search_documents", sa.Column("stock_until", sa.Date(), nullable=True))
    op.create_index(op.f("ix_search_documents_stock_until"), "search_documents", ["stock_until"], unique=False)
    # Every indexed product's document gains its sales and stock at the next drain (both backends).
    op.execute(
        "INSERT INTO search_outbox (product_id, created_at) "
        "SELECT DISTINCT product_id, CURRENT_TIMESTAMP FROM certifications WHERE status = 'published'"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_search_documents_stock_until"), table_name="search_documents")
    op.drop_column("search_documents", "stock_until")

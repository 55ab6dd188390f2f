"""search facets: the embedded index's version, which keys the unfiltered count and facets

Revision ID: 0030_search_facets
Revises: 0028_console
Create Date: 2026-12-01 13:20:00
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import shop.db

revision = "0030_search_facets"
down_revision = "0028_console"
branch_labels = None
depends_on = None


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


def downgrade() -> None:
    op.drop_table("search_index_versions")

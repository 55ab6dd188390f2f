"""catalog version: the public catalog's cache key; indexes for the next certification boundary

Revision ID: 0024_catalog_version
Revises: 0029_cart_line_key
Create Date: 2026-12-01 10:30:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import shop.db

revision = "0024_catalog_version"
down_revision = "0029_cart_line_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    versions = op.create_table(
        "catalog_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("changed_at", shop.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_versions")),
    )
    op.bulk_insert(versions, [{"id": 1, "token": "initial", "changed_at": datetime.now(UTC)}])
    with op.batch_alter_table("certifications", schema=None) as batch_op:
        batch_op.create_index("ix_certifications_valid_from", ["valid_from"], unique=False)
        batch_op.create_index("ix_certifications_valid_until", ["valid_until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("certifications", schema=None) as batch_op:
        batch_op.drop_index("ix_certifications_valid_until")
        batch_op.drop_index("ix_certifications_valid_from")
    op.drop_table("catalog_versions")
